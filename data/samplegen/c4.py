"""C4-style JSON lines ({"text","timestamp","url"}), already-cleaned English prose, two gzip shards.

C4 text is what survives its cleaning rules: lines end in terminal punctuation, no menus, no
"cookie"/"javascript" lines, at least three sentences per page. Documents here follow that shape.
"""

from __future__ import annotations

import json
from pathlib import Path

from .common import SEED, domain, rng_for, slugify, write_gzip
from .compose import Composer

N_SHARDS = 2
DOCS_PER_SHARD = 150


def _doc(c: Composer) -> dict[str, str]:
    rng = c.rng
    topic = c.topic()
    fixed = c.anchor(topic)
    title = c.title(topic, fixed)
    lines: list[str] = []
    for para in c.article(topic, rng.randint(2, 6), fixed):
        # C4 keeps one line per paragraph of the page; short pages split paragraphs further.
        parts = para.split(". ")
        if len(parts) >= 2 and rng.random() < 0.3:
            cut = max(1, len(parts) // 2)
            lines.append(". ".join(parts[:cut]).rstrip(".") + ".")
            lines.append(". ".join(parts[cut:]))
        else:
            lines.append(para)
    ts = (f"{rng.randint(2017, 2019)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T"
          f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z")
    url = f"https://{domain(c)}/{slugify(title)}/"
    return {"text": "\n".join(lines), "timestamp": ts, "url": url}


def generate(out: Path, seed: int = SEED) -> dict[str, int]:
    c = Composer(rng_for("c4", seed))
    counts = {}
    for shard in range(N_SHARDS):
        rows = [_doc(c) for _ in range(DOCS_PER_SHARD)]
        body = "\n".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in rows) + "\n"
        name = f"c4/c4-train.{shard:05d}-of-{N_SHARDS:05d}.json.gz"
        write_gzip(out / name, body.encode("utf-8"))
        counts[name] = len(rows)
    return counts
