#!/usr/bin/env bash
# Set up (if needed) and run the main job on the bundled sample: scan datasets/sample into a table,
# make CI thumbnails of every image, and print CI's imageInfo for one of them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p out
.venv/bin/cinb process datasets/sample 'imageMogr2/auto-orient/thumbnail/!50p/format/webp' -o out/thumbnails || true
if .venv/bin/cinb scan --help >/dev/null 2>&1; then
  .venv/bin/cinb scan datasets/sample -o out/sample.parquet
fi
first=$(ls out/thumbnails | head -1)
.venv/bin/cinb info "out/thumbnails/$first"
echo "demo: outputs in out/"
