# The onboarding engine's image: the worker (the default command), the HTTP intake
# (`python starter.py serve`) and the admin script (`python admin.py ...`).
#
#   docker build -t onboarding-engine .
#
# The base image is pinned to an exact Python release; pin it further to a digest
# (python:3.11.14-slim-bookworm@sha256:...) where builds must be bit-for-bit repeatable.
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so a code change reuses this layer.
COPY pyproject.toml deploy/requirements.py /tmp/build/
RUN python /tmp/build/requirements.py /tmp/build/pyproject.toml > /tmp/build/requirements.txt \
    && pip install -r /tmp/build/requirements.txt \
    && rm -rf /tmp/build

# The commit the image is built from: with the version in pyproject.toml, the worker's build id
# in the deployment `onboarding` (docker build --build-arg GIT_COMMIT=$(git rev-parse --short=12 HEAD)).
ARG GIT_COMMIT=""
ENV GIT_COMMIT=${GIT_COMMIT}

# The code, owned by root and read-only to the service user; only /data is writable.
COPY . .
# Its bytecode, compiled once here: the workflow sandbox imports workflows/onboarding.py afresh
# for every run it builds, and with no .pyc (PYTHONDONTWRITEBYTECODE) it compiled the module
# again each time (docs/benchmarks.md, replay).
RUN python -m compileall -q /app
RUN useradd --system --uid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin engine \
    && mkdir -p /data/outbox \
    && chown -R engine /data

USER engine

# 8000: the HTTP intake; 9464: the worker's Prometheus metrics (WORKER_METRICS_PORT).
EXPOSE 8000 9464

# Exec form, so Python itself gets SIGTERM and shuts down gracefully (compose runs tini as PID 1).
CMD ["python", "worker.py"]
