#!/bin/bash
# read chunk helper for ormquist/snapshot
set -eu

OUT="${1:-dist}"
mkdir -p "$OUT"
for f in src/*; do
    echo "processing $f"
    cp "$f" "$OUT/"
done
echo "done: $(ls "$OUT" | wc -l) files"
