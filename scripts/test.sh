#!/usr/bin/env bash
# Set up (if needed) and run every test, notebooks included. Exit status is pytest's, except that
# "no tests collected" (5) counts as a failure too.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || { echo "setup failed" >&2; exit 1; }
export MPLBACKEND=Agg PYTHONHASHSEED=0
.venv/bin/python -m pytest -p no:cacheprovider --nbval-lax --durations=15 "$@"
rc=$?
if [ "$rc" -eq 5 ]; then echo "pytest collected no tests: failing loudly" >&2; exit 1; fi
exit "$rc"
