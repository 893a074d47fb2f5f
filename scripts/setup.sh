#!/usr/bin/env bash
# Create .venv and install cinb with everything the notebooks, tests and benchmarks use.
# Idempotent: a second run only checks that the install is complete.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -s scripts/apt-packages.txt ] && command -v apt-get >/dev/null 2>&1; then
  missing=$(while read -r pkg; do [ -z "$pkg" ] || [ "${pkg#\#}" != "$pkg" ] || dpkg -s "$pkg" >/dev/null 2>&1 || echo "$pkg"; done < scripts/apt-packages.txt)
  if [ -n "$missing" ]; then
    echo "setup: installing Debian packages: $missing"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing) >/dev/null
  fi
fi
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.cinb-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ scripts/setup.sh -nt "$stamp" ] || [ setup.py -nt "$stamp" ] || [ src/jpegcoef.c -nt "$stamp" ] || [ scripts/pip-nodeps.txt -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -U pip
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[all]'
  if [ -s scripts/pip-nodeps.txt ]; then  # packages whose declared deps would pull the wrong stack
    .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -r scripts/pip-nodeps.txt
  fi
  touch "$stamp"
fi
# The notebooks name the kernel "cinb": registered for this environment (scripts/lab.sh) and for the user,
# so that a JupyterLab from another environment runs them on this Python, not on its own.
if [ ! -f .venv/share/jupyter/kernels/cinb/kernel.json ] || [ ! -f "${JUPYTER_DATA_DIR:-$HOME/.local/share/jupyter}/kernels/cinb/kernel.json" ] \
   || ! grep -q "$PWD/.venv/bin/python" "${JUPYTER_DATA_DIR:-$HOME/.local/share/jupyter}/kernels/cinb/kernel.json"; then
  .venv/bin/python -m cinb.lab --install-kernel
fi
