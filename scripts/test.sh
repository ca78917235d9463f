#!/usr/bin/env bash
# Set up once, then run the test suite (pytest arguments pass through). `--quick` leaves out
# the tests marked slow (real processes in real time: faults, privacy), as -m "not slow" does.
# Ends by saying how long the run took.
set -uo pipefail
source "$(dirname "$0")/setup.sh" || exit 1
args=()
for arg in "$@"; do
  if [ "$arg" = "--quick" ]; then args+=(-m "not slow"); else args+=("$arg"); fi
done
began=$SECONDS
python -m pytest "${args[@]}"
code=$?
took=$((SECONDS - began))
echo "scripts/test.sh: the tests took $((took / 60)) min $((took % 60)) s" >&2
if [ "$code" -eq 5 ]; then
  echo "pytest collected no tests: the suite is missing or the filter matched nothing" >&2
  exit 1
fi
exit "$code"
