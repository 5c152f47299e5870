"""The Wikipedia-reference classifier: train once, then score every scored page.

Positives are crawl pages whose URL Wikipedia cites in a `<ref>` (recorded by the Wikipedia
stage in refs/*.jsonl), processed by the same CCNet steps; negatives are as many random crawl
pages. With fewer than `min_ref_pages` cited pages in the crawl (always the case on samples),
Wikipedia articles stand in as positives and the stats say so (`positives_from_wikipedia`);
by default each gives a window of its lines as long as the crawl page it is paired with
(`classifier.fallback_positives`), so that the fallback's positives have the length of the
cited pages they stand in for.
"""

from __future__ import annotations

import itertools
import json
import random
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from llamapipe.engine import ShardContext
from llamapipe.formats.documents import Document, read_documents
from llamapipe.io.artifacts import save_fasttext_model
from llamapipe.sources.commoncrawl.models import WIKIPEDIA_STAGE
from llamapipe.sources.commoncrawl.ref_scores import ref_scores_path, write_ref_scores
from llamapipe.sources.commoncrawl.stage_configs import (
    ClassifiedConfig,
    ClassifierTrainingConfig,
)
from llamapipe.sources.commoncrawl.stages import SCORED_STAGE
from llamapipe.sources.commoncrawl.training_pool import PoolPage, page_texts, pool_pages
from llamapipe.text.ccnet_normalize import normalize_lines_for_lm
from llamapipe.text.dedup_keys import normalize_url

CLASSIFIER_MODEL_STAGE = "ingest/commoncrawl/classifier-model"
MODEL_FILE = "quality.bin"
LABEL_REF = "__label__ref"
LABEL_RANDOM = "__label__random"
T = TypeVar("T")


def classifier_text(text: str) -> str:
    """One line for fastText: each line LM-normalized (lowercase, digits 0), joined by spaces
    (the lines normalized in one pass over the page, `normalize_lines_for_lm`: the same
    strings as line by line, ~2.5x faster on the real shards)."""
    return " ".join(n for n in normalize_lines_for_lm(text.split("\n")) if n)


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


def _reservoir(items: Iterator[T], k: int, rng: random.Random) -> list[T]:
    sample: list[T] = []
    for n, item in enumerate(items):
        if len(sample) < k:
            sample.append(item)
        else:
            j = rng.randrange(n + 1)
            if j < k:
                sample[j] = item
    return sample


@dataclass
class _CrawlExamples:
    """One pass over the pool: cited pages (positives, up to max_positives) and a uniform
    reservoir of the others (bounded by max_positives, so memory does not grow with the crawl),
    as texts."""

    positives: list[str]
    pool: list[str]
    cited: int


def _crawl_examples(
    pool: Iterator[PoolPage], refs: set[str], limit: int, rng: random.Random
) -> _CrawlExamples:
    positives: list[PoolPage] = []
    cited = 0

    def not_cited() -> Iterator[PoolPage]:
        nonlocal cited
        for page in pool:
            if normalize_url(page.url) in refs:
                cited += 1
                if len(positives) < limit:
                    positives.append(page)
            else:
                yield page

    negatives_pool = _reservoir(not_cited(), limit, rng)
    return _CrawlExamples(page_texts(positives), page_texts(negatives_pool), cited)


def article_window(text: str, target_chars: int, rng: random.Random) -> str:
    """A run of whole lines of `text` of at most `target_chars` characters (or its first line,
    when that alone is longer), starting at a random line from which at least `target_chars`
    remain, so that no window is cut short by the article's end. A text no longer than the
    target is returned whole. Random starts rather than the lead: a lead section is a summary,
    the article's body is what cited pages read like."""
    if len(text) <= target_chars:
        return text
    lines = text.split("\n")
    # remaining[i]: characters from the start of line i to the end (newlines counted)
    remaining = list(itertools.accumulate(len(line) + 1 for line in reversed(lines)))[::-1]
    start = rng.choice([i for i, left in enumerate(remaining) if left > target_chars])
    end, size = start + 1, len(lines[start])
    while end < len(lines) and size + 1 + len(lines[end]) <= target_chars:
        size += 1 + len(lines[end])
        end += 1
    return "\n".join(lines[start:end])


def length_matched(articles: list[str], negatives: list[str], rng: random.Random) -> list[str]:
    """Each article cut to a window as long as its paired negative (article i with negative
    i, cycling when there are fewer negatives than articles)."""
    return [
        article_window(text, len(negatives[i % len(negatives)]), rng)
        for i, text in enumerate(articles)
    ]


def _write_examples(path: Path, positives: list[str], negatives: list[str], rng: random.Random):
    examples = [f"{LABEL_REF} {classifier_text(t)}" for t in positives]
    examples += [f"{LABEL_RANDOM} {classifier_text(t)}" for t in negatives]
    rng.shuffle(examples)
    path.write_text("\n".join(examples) + "\n", encoding="utf-8")


def process_train_classifier(ctx: ShardContext) -> None:
    """Build the training set and train the fastText supervised model (one shard)."""
    cfg: ClassifierTrainingConfig = ctx.config
    languages = set(cfg.languages)
    rng = random.Random(ctx.seed)
    wiki_dir = ctx.upstream_dir(WIKIPEDIA_STAGE)
    refs = read_ref_urls(wiki_dir, languages)
    ctx.counters.add("ref_urls", len(refs))
    crawl = _crawl_examples(
        pool_pages(ctx.upstream_dir(SCORED_STAGE), cfg), refs, cfg.max_positives, rng
    )
    ctx.counters.add("ref_pages_in_crawl", crawl.cited)
    positives, source = crawl.positives, "crawl_pages_cited_by_wikipedia"
    if len(positives) < cfg.min_ref_pages:
        source = "wikipedia_articles_fallback"
        ctx.counters.add("positives_from_wikipedia", 1)
        wiki_texts = (
            d.text for d in _iter_stage_documents(wiki_dir) if d.meta.get("language") in languages
        )
        positives = _reservoir(wiki_texts, cfg.max_positives, rng)
    negatives = rng.sample(crawl.pool, min(len(crawl.pool), len(positives)))
    if not positives or not negatives:
        raise ValueError(
            f"cannot train the reference classifier: {len(positives)} positives, "
            f"{len(negatives)} negatives (need Wikipedia output and scored crawl pages)"
        )
    fallback_positives = None
    if source == "wikipedia_articles_fallback":
        fallback_positives = cfg.fallback_positives
        if fallback_positives == "length_matched":
            positives = length_matched(positives, negatives, rng)
    train_file = ctx.output("_train.txt")
    _write_examples(train_file, positives, negatives, rng)
    model, lr_used = _train_supervised(train_file, fasttext_settings(cfg), ctx.seed)
    save_fasttext_model(model, ctx.output(MODEL_FILE))
    train_file.unlink()
    ctx.counters.add("positives", len(positives))
    ctx.counters.add("negatives", len(negatives))
    training = {
        "positives": len(positives),
        "negatives": len(negatives),
        "positives_source": source,
        "fallback_positives": fallback_positives,
        "positive_chars_mean": round(sum(map(len, positives)) / len(positives), 1),
        "negative_chars_mean": round(sum(map(len, negatives)) / len(negatives), 1),
        "ref_urls": len(refs),
        "ref_pages_in_crawl": crawl.cited,
        "lr": lr_used,
    }
    ctx.output("training.json").write_text(json.dumps(training, indent=2), encoding="utf-8")


#: Attempts before giving up; each retry after a diverged ("Encountered NaN") run halves lr.
NAN_RETRIES = 3


def fasttext_settings(cfg: ClassifierTrainingConfig) -> dict[str, Any]:
    return {
        "lr": cfg.lr,
        "epoch": cfg.epoch,
        "word_ngrams": cfg.word_ngrams,
        "dim": cfg.dim,
        "bucket": cfg.bucket,
    }


def _train_supervised(
    train_file: Path, settings: Mapping[str, Any], seed: int
) -> tuple[Any, float]:
    """fastText supervised training, retried with half the learning rate when it diverges.

    fastText aborts with "Encountered NaN" when training diverges; on small training sets it
    also does so intermittently (measured here: small dim/bucket settings fail on some runs
    with identical arguments), so one unlucky run must not fail the stage."""
    import fasttext

    lr = float(settings["lr"])
    for attempt in range(NAN_RETRIES):
        try:
            model = fasttext.train_supervised(
                input=str(train_file),
                epoch=settings["epoch"],
                lr=lr,
                wordNgrams=settings["word_ngrams"],
                dim=settings["dim"],
                bucket=settings["bucket"],
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
    """P(reference) of each scored page of a language the classifier knows, stored as an
    attribute file beside the pages (ref_scores.py); the filtered stage applies the cut."""
    cfg: ClassifiedConfig = ctx.config
    index = ctx.shard.index
    shard_path = ctx.upstream_dir(SCORED_STAGE) / "shards" / f"{index:05d}.parquet"
    model = _load_classifier(ctx.upstream_dir(CLASSIFIER_MODEL_STAGE) / MODEL_FILE)
    languages = set(cfg.languages)
    ids: list[str] = []
    scores: list[float | None] = []
    clock = time.thread_time
    seconds = 0.0
    for doc in read_documents(shard_path):
        ctx.counters.add("docs_in")
        ids.append(doc.id)
        if doc.meta["language"] not in languages:
            scores.append(None)
            continue
        start = clock()
        scores.append(round(reference_probability(model, doc.text), 4))
        seconds += clock() - start
        ctx.counters.add("docs_scored")
    ctx.counters.filter_seconds("reference_classifier", seconds)
    write_ref_scores(ctx.output(str(ref_scores_path(Path("."), index))), ids, scores)
