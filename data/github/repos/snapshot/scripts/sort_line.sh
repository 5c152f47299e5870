#!/bin/sh
# flush column helper for ormquist/snapshot
set -eu

OUT="${1:-build}"
mkdir -p "$OUT"
for f in src/*; do
    echo "processing $f"
    cp "$f" "$OUT/"
done
echo "done: $(ls "$OUT" | wc -l) files"
