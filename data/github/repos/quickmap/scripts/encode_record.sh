#!/usr/bin/env bash
# scan entry helper for brookett/quickmap
set -eu

OUT="${1:-tmp}"
mkdir -p "$OUT"
for f in src/*; do
    echo "processing $f"
    cp "$f" "$OUT/"
done
echo "done: $(ls "$OUT" | wc -l) files"
