#!/usr/bin/env bash
# Set up (if needed), then open the notebooks in JupyterLab on this project's .venv with the "cinb" kernel.
# Options go to `python -m cinb.lab`: --port N, --no-browser, -- <more jupyter lab options>.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m cinb.lab "$@"
