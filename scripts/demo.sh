#!/usr/bin/env bash
# Set up (if needed) and run the main job on the bundled sample (datasets/sample):
#   1. scan the folder into a table (header-only),
#   2. analyse every image (hashes, sharpness, brightness, duplicates...),
#   3. make CI thumbnails of the whole collection in parallel (bad files, like the truncated JPEG,
#      become error rows in out/thumbnails.csv; the run goes on),
#   4. print CI's imageInfo of one result.
# Everything lands in out/; the originals are never touched.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p out
cinb=.venv/bin/cinb
$cinb scan datasets/sample -o out/sample-scan.parquet
$cinb analyze datasets/sample issues -o out/sample-analysis.csv
$cinb apply datasets/sample 'imageMogr2/auto-orient/thumbnail/!50p/format/webp' -o out/thumbnails --name '{name}.{ext}' \
  --table out/thumbnails.csv || [ $? -eq 1 ]   # 1 = some rows failed (the truncated sample): expected
$cinb info out/thumbnails/astronaut.jpg.webp
echo "demo: tables and thumbnails are in out/"
