"""Stage ``tokenizer``: SentencePiece BPE trained on a sample of the training documents.

One shard. Each source contributes bytes in proportion to its mix weight, drawn from its
training split only (held-out and duplicate documents never reach the tokenizer), in the
seeded order of ``sample_threshold``; training itself is ``llamapipe.tokenizer.train``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from llamapipe.config.tokenizer import TokenizerConfig
from llamapipe.engine import ShardContext, ShardSpec
from llamapipe.engine.state import write_json_atomic
from llamapipe.mix.selection import TRAIN, DocumentIndex
from llamapipe.mix.stage_configs import TokenizerStageConfig
from llamapipe.tokenizer import layout
from llamapipe.tokenizer.index_stage import load_source_index, source_splits
from llamapipe.tokenizer.train import train_tokenizer, training_lines


def plan_tokenizer(run_dir: Path, sources: list[str]) -> list[ShardSpec]:
    inputs = tuple(str(p) for s in sources for p in layout.ingest_shards(run_dir, s))
    return [ShardSpec(index=0, inputs=inputs)]


def sample_threshold(sample_keys: np.ndarray, nbytes: np.ndarray, quota: int) -> int:
    """The sample key up to which a source's documents are sampled to reach ``quota`` bytes.

    Documents are taken in order of their seeded key (a uniform random order) until the quota is
    met, so the sample is a random subset whose size overshoots by less than one document; a
    per-document coin flip would miss the quota by whole documents on small sources.
    """
    if sample_keys.size == 0:
        return 0
    order = np.argsort(sample_keys, kind="stable")
    cumulative = np.cumsum(nbytes[order])
    last = min(int(np.searchsorted(cumulative, quota)), sample_keys.size - 1)
    return int(sample_keys[order[last]])


def read_selected_texts(path: str | Path, selected: np.ndarray) -> Any:
    """Texts of the selected rows of a document shard, reading only the row groups holding one.

    The sample is a small fraction of a large corpus, so most row groups are never read.
    """
    parquet = pq.ParquetFile(str(path))
    rows = parquet.metadata.num_rows
    if rows != selected.size:
        raise ValueError(
            f"{path}: {rows} documents but its index has {selected.size}; "
            "the ingest shard changed after indexing (re-run with --force)"
        )
    start = 0
    for group in range(parquet.num_row_groups):
        size = parquet.metadata.row_group(group).num_rows
        chosen = np.flatnonzero(selected[start : start + size])
        start += size
        if chosen.size == 0:
            continue
        texts = parquet.read_row_group(group, columns=["text"]).column("text")
        for row in chosen:
            yield texts[int(row)].as_py()


def train_tokenizer_shard(ctx: ShardContext) -> None:
    config: TokenizerStageConfig = ctx.config
    cfg = TokenizerConfig(**config.tokenizer)
    sources = config.sources
    splits = source_splits(ctx.run_dir, sources)
    thresholds: dict[str, int] = {}
    for source in sources:
        index = load_source_index(ctx.run_dir, source)
        is_train = splits[source].labels(index) == TRAIN
        quota = int(cfg.sample_bytes * config.weights[source])
        thresholds[source] = sample_threshold(
            index.sample_key[is_train], index.nbytes[is_train], quota
        )
    sampled: dict[str, dict[str, int]] = {s: {"documents": 0, "bytes": 0} for s in sources}

    def sentences() -> Any:
        for source in sources:
            for position, path in enumerate(layout.ingest_shards(ctx.run_dir, source)):
                index = DocumentIndex.load(layout.index_path(ctx.run_dir, source, position))
                keep = (splits[source].labels(index) == TRAIN) & (
                    index.sample_key <= np.uint64(thresholds[source])
                )
                for text in read_selected_texts(path, keep):
                    sampled[source]["documents"] += 1
                    sampled[source]["bytes"] += len(text.encode("utf-8"))
                    yield from training_lines(text, cfg.max_sentence_length)

    train_tokenizer(sentences(), ctx.output("tokenizer"), cfg, seed=int(config.seed))
    for source, counts in sampled.items():
        ctx.counters.add(f"sample_bytes_{source}", counts["bytes"])
        ctx.counters.add(f"sample_docs_{source}", counts["documents"])
    write_json_atomic(
        ctx.output("sample.json"),
        {"sample_bytes": cfg.sample_bytes, "weights": config.weights, "sampled": sampled},
    )
