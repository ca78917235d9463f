#!/usr/bin/env bash
# Set up once, then run the engine locally: Temporal dev server (Web UI on :8233), the
# worker, SQLite and the local email outbox under .local/. Ctrl-C stops everything.
set -euo pipefail
source "$(dirname "$0")/setup.sh"
exec python stack.py "$@"
