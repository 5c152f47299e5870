"""The Wikipedia-reference classifier: train once, then score every filtered page.

Positives are crawl pages whose URL Wikipedia cites in a `<ref>` (recorded by the Wikipedia
stage in refs/*.jsonl), processed by the same CCNet steps; negatives are as many random crawl
pages. With fewer than `min_ref_pages` cited pages in the crawl (always the case on samples),
Wikipedia articles stand in as positives and the stats say so (`positives_from_wikipedia`).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from llamapipe.engine import ShardContext
from llamapipe.formats.documents import Document, read_documents
from llamapipe.io.artifacts import save_fasttext_model
from llamapipe.sources.commoncrawl.models import WIKIPEDIA_STAGE
from llamapipe.sources.commoncrawl.stages import (
    FILTERED_STAGE,
    dochash_path,
    document_hash,
)
from llamapipe.text.ccnet_normalize import normalize_for_lm
from llamapipe.text.dedup_keys import normalize_url

CLASSIFIER_MODEL_STAGE = "ingest/commoncrawl/classifier-model"
MODEL_FILE = "quality.bin"
LABEL_REF = "__label__ref"
LABEL_RANDOM = "__label__random"


def classifier_text(text: str) -> str:
    """One line for fastText: each line LM-normalized (lowercase, digits 0), joined by spaces."""
    return " ".join(n for line in text.split("\n") if (n := normalize_for_lm(line)))


def read_ref_urls(wiki_dir: Path, languages: set[str]) -> set[str]:
    urls: set[str] = set()
    for path in sorted((wiki_dir / "refs").glob("*.jsonl")):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if obj.get("lang") in languages and obj.get("url"):
                    urls.add(normalize_url(obj["url"]))
    return urls


def _iter_stage_documents(stage_dir: Path) -> Iterator[Document]:
    for shard in sorted((stage_dir / "shards").glob("*.parquet")):
        yield from read_documents(shard)


def _reservoir(items: Iterator[str], k: int, rng: random.Random) -> list[str]:
    sample: list[str] = []
    for n, item in enumerate(items):
        if len(sample) < k:
            sample.append(item)
        else:
            j = rng.randrange(n + 1)
            if j < k:
                sample[j] = item
    return sample


def process_train_classifier(ctx: ShardContext) -> None:
    """Build the training set and train the fastText supervised model (one shard)."""
    cfg = ctx.config
    ccfg = cfg["classifier"]
    languages = set(cfg["languages"])
    rng = random.Random(ctx.seed)
    filtered_dir = ctx.upstream_dir(FILTERED_STAGE)
    wiki_dir = ctx.upstream_dir(WIKIPEDIA_STAGE)
    refs = read_ref_urls(wiki_dir, languages)
    ctx.counters.add("ref_urls", len(refs))

    # One pass: cited pages are positives; a uniform reservoir of the other pages (bounded by
    # max_positives, so memory does not grow with the crawl) supplies the negatives.
    positives: list[str] = []
    cited = 0

    def not_cited() -> Iterator[str]:
        nonlocal cited
        for doc in _iter_stage_documents(filtered_dir):
            if normalize_url(doc.meta.get("url", "")) in refs:
                cited += 1
                if len(positives) < ccfg["max_positives"]:
                    positives.append(doc.text)
            else:
                yield doc.text

    pool = _reservoir(not_cited(), ccfg["max_positives"], rng)
    ctx.counters.add("ref_pages_in_crawl", cited)
    source = "crawl_pages_cited_by_wikipedia"
    if len(positives) < ccfg["min_ref_pages"]:
        source = "wikipedia_articles_fallback"
        ctx.counters.add("positives_from_wikipedia", 1)
        wiki_texts = (
            d.text for d in _iter_stage_documents(wiki_dir) if d.meta.get("language") in languages
        )
        positives = _reservoir(wiki_texts, ccfg["max_positives"], rng)
    negatives = rng.sample(pool, min(len(pool), len(positives)))
    if not positives or not negatives:
        raise ValueError(
            f"cannot train the reference classifier: {len(positives)} positives, "
            f"{len(negatives)} negatives (need Wikipedia output and filtered crawl pages)"
        )
    examples = [f"{LABEL_REF} {classifier_text(t)}" for t in positives]
    examples += [f"{LABEL_RANDOM} {classifier_text(t)}" for t in negatives]
    rng.shuffle(examples)
    train_file = ctx.output("_train.txt")
    train_file.write_text("\n".join(examples) + "\n", encoding="utf-8")
    model, lr_used = _train_supervised(train_file, ccfg, ctx.seed)
    save_fasttext_model(model, ctx.output(MODEL_FILE))
    train_file.unlink()
    ctx.counters.add("positives", len(positives))
    ctx.counters.add("negatives", len(negatives))
    ctx.output("training.json").write_text(
        json.dumps(
            {
                "positives": len(positives),
                "negatives": len(negatives),
                "positives_source": source,
                "ref_urls": len(refs),
                "ref_pages_in_crawl": cited,
                "lr": lr_used,
            },
            indent=2,
        ),
        encoding="utf-8",
    )


#: Attempts before giving up; each retry after a diverged ("Encountered NaN") run halves lr.
NAN_RETRIES = 3


def _train_supervised(train_file: Path, ccfg: dict[str, Any], seed: int) -> tuple[Any, float]:
    """fastText supervised training, retried with half the learning rate when it diverges.

    fastText aborts with "Encountered NaN" when training diverges; on small training sets it
    also does so intermittently (measured here: small dim/bucket settings fail on some runs
    with identical arguments), so one unlucky run must not fail the stage."""
    import fasttext

    lr = float(ccfg["lr"])
    for attempt in range(NAN_RETRIES):
        try:
            model = fasttext.train_supervised(
                input=str(train_file),
                epoch=ccfg["epoch"],
                lr=lr,
                wordNgrams=ccfg["word_ngrams"],
                dim=ccfg["dim"],
                bucket=ccfg["bucket"],
                thread=1,  # one thread: no Hogwild races between threads
                seed=seed,
                verbose=0,
            )
            return model, lr
        except RuntimeError as exc:
            if "NaN" not in str(exc) or attempt == NAN_RETRIES - 1:
                raise RuntimeError(
                    f"reference classifier training diverged ({exc}) at lr={lr}; "
                    f"lower sources.commoncrawl.classifier.lr"
                ) from exc
            lr /= 2
    raise AssertionError("unreachable")


_models: dict[str, Any] = {}


def _load_classifier(path: Path) -> Any:
    key = str(path)
    if key not in _models:
        import fasttext

        if not path.is_file():
            raise FileNotFoundError(f"{path}: reference classifier not trained")
        _models[key] = fasttext.load_model(key)
    return _models[key]


def reference_probability(model: Any, text: str) -> float:
    labels, probs = model.predict(classifier_text(text), k=2)
    for label, prob in zip(labels, probs, strict=True):
        if label == LABEL_REF:
            return float(min(prob, 1.0))
    return 0.0


def process_classified(ctx: ShardContext) -> None:
    """Score each filtered page with P(reference); keep those at or above the threshold.
    Also writes the kept documents' text hashes for the final exact dedup."""
    cfg = ctx.config
    ccfg = cfg["classifier"]
    index = ctx.shard.index
    shard_path = ctx.upstream_dir(FILTERED_STAGE) / "shards" / f"{index:05d}.parquet"
    model = None
    if ccfg["enabled"]:
        model = _load_classifier(ctx.upstream_dir(CLASSIFIER_MODEL_STAGE) / MODEL_FILE)
    hashes: list[int] = []
    with ctx.document_writer() as writer:
        docs = read_documents(shard_path) if shard_path.exists() else iter(())
        for doc in docs:
            ctx.counters.add("docs_in")
            if model is not None:
                score = round(reference_probability(model, doc.text), 4)
                doc.meta["ref_score"] = score
                if score < ccfg["threshold"]:
                    ctx.counters.removed("reference_score_below_threshold")
                    continue
            hashes.append(document_hash(doc.text))
            writer.write(doc)
    out = ctx.output(str(dochash_path(Path("."), index)))
    np.save(out, np.asarray(hashes, dtype=np.uint64), allow_pickle=False)
