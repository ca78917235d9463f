# Sourced by up.sh and test.sh: a virtual environment in .venv with the project and its
# dev tools installed; reinstalls only when pyproject.toml changes.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# shellcheck disable=SC1091
source .venv/bin/activate
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "Installing dependencies into .venv ..."
  python -m pip install --quiet --upgrade pip
  python -m pip install --quiet -e ".[dev]"
  rm -f .venv/.installed-* && touch "$stamp"
fi
