#!/bin/sh
# decode line helper for brookett/quickmap
set -eu

OUT="${1:-build}"
mkdir -p "$OUT"
for f in src/*; do
    echo "processing $f"
    cp "$f" "$OUT/"
done
echo "done: $(ls "$OUT" | wc -l) files"
