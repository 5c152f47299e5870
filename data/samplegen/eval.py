"""Evaluation tasks for the demo: which sentence continues this passage?

Each item shows the opening sentences of a passage on one topic (same generator as the C4 and
Wikipedia samples, but new passages) and asks for the next sentence: the true continuation,
written about the same place and person, against sentences from other topics. A model that has
learned anything about topic coherence from the sample beats chance; a random model does not.
Two files, one per task schema llamapipe reads, so the demo exercises both loaders:
`topic_continuation.jsonl` ({query, choices, gold}) and `topic_continuation_hellaswag.jsonl`
(HellaSwag's {ctx, endings, label}).
"""

from __future__ import annotations

import json
from pathlib import Path

from . import lexicon as lx
from .common import SEED, rng_for, write_bytes
from .compose import Composer

ITEMS = 120
CHOICES = 4


def _item(c: Composer) -> tuple[str, list[str], int]:
    rng = c.rng
    topic = c.topic()
    fixed = c.anchor(topic)
    first, second, third = rng.sample(lx.TOPICS[topic]["templates"], 3)
    context = " ".join(c.vary(t, topic, fixed) for t in (first, second))
    gold_text = c.fill(third, topic, fixed)
    others = [t for t in sorted(lx.TOPICS) if t != topic]
    distractors = [
        c.fill(rng.choice(lx.TOPICS[other]["templates"]), other, c.anchor(other))
        for other in rng.sample(others, CHOICES - 1)
    ]
    gold = rng.randrange(CHOICES)
    choices = distractors[:gold] + [gold_text] + distractors[gold:]
    return context, choices, gold


def generate(out: Path, seed: int = SEED) -> dict[str, int]:
    c = Composer(rng_for("eval", seed))
    items = [_item(c) for _ in range(ITEMS)]
    half = ITEMS // 2
    mc = [{"query": q, "choices": ch, "gold": g} for q, ch, g in items[:half]]
    hs = [{"ctx": q, "endings": ch, "label": g} for q, ch, g in items[half:]]
    counts = {}
    for name, rows in (("eval/topic_continuation.jsonl", mc),
                       ("eval/topic_continuation_hellaswag.jsonl", hs)):  # fmt: skip
        body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        write_bytes(out / name, body.encode("utf-8"))
        counts[name] = len(rows)
    return counts
