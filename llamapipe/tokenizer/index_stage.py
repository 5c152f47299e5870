"""Stage ``tokens/index``: per-document keys of every ingest shard, and each source's split.

One shard per ingest shard writes that shard's keys (seeded id hashes, bytes, URL and text
hashes; ``llamapipe.mix.selection.DocumentIndex``). The finalize decides each source's held-out
split and cross-source duplicates once, into one small file per source that every later worker
loads (``source_splits``) instead of the indexes of all dedup sources.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pyarrow as pa

from llamapipe.engine import FinalizeContext, ShardContext, ShardSpec
from llamapipe.engine.state import read_manifest
from llamapipe.errors import InputError
from llamapipe.formats.documents import read_documents
from llamapipe.mix.selection import DocumentIndex, SourceSplit, build_source_split, shared_text_keys
from llamapipe.mix.stage_configs import SplitConfig
from llamapipe.tokenizer import layout

#: Folder of the index stage holding each source's split (written by its finalize).
SPLITS_DIR = "splits"


def plan_ingest_shards(run_dir: Path, sources: list[str]) -> list[ShardSpec]:
    """One shard per ingest shard; ``position`` is its rank within its source."""
    shards = []
    for source in sources:
        for position, path in enumerate(layout.ingest_shards(run_dir, source)):
            shards.append(
                ShardSpec(
                    index=len(shards),
                    inputs=(str(path),),
                    params={"source": source, "position": position},
                )
            )
    return shards


def index_shard(ctx: ShardContext) -> None:
    source, position = ctx.shard.params["source"], ctx.shard.params["position"]
    path = ctx.shard.inputs[0]
    try:
        index = DocumentIndex.from_documents(
            _counted(read_documents(path), ctx), seed=int(ctx.config.seed)
        )
    except (OSError, pa.ArrowException, KeyError, json.JSONDecodeError) as exc:
        # a shard is the unit here: one unreadable file fails its shard, naming the file
        raise InputError(f"{path}: not a readable document shard ({exc})") from None
    index.save(ctx.output(f"{source}/{position:05d}.npz"))


def _counted(docs: Any, ctx: ShardContext) -> Any:
    for doc in docs:
        ctx.counters.add("docs_in")
        ctx.counters.add("bytes_in", doc.nbytes)
        yield doc


def stage_digest(run_dir: Path, stage: str) -> str:
    manifest = read_manifest(run_dir / stage) or {}
    return str(manifest.get("digest", ""))


def write_splits(ctx: FinalizeContext) -> None:
    """Index-stage finalize: decide each source's split once, from every source's index.

    Workers then load one small file per source (a threshold and the keys of its dropped
    duplicates) instead of the indexes of all dedup sources.
    """
    split: SplitConfig = ctx.config.split
    indexes = {s: load_source_index(ctx.run_dir, s) for s in ctx.config.sources}
    twins = shared_text_keys(indexes, split.dedup_sources)
    ctx.counters.add("texts_with_twins", int(twins.size))
    for source in ctx.config.sources:
        result = build_source_split(
            indexes,
            source,
            split.dedup_sources,
            split.valid_fraction,
            split.valid_min_documents,
            split.valid_max_documents,
            twin_keys=twins,
        )
        ctx.counters.add(f"held_out_skipped_twins:{source}", int(result.twin_keys.size))
        with ctx.output(f"{SPLITS_DIR}/{source}.npz") as tmp:
            result.save(tmp)


def source_splits(run_dir: Path, sources: list[str]) -> dict[str, SourceSplit]:
    """The split of every source (cached per worker process and index-stage digest)."""
    return _cached_splits(str(run_dir), tuple(sources), stage_digest(run_dir, layout.INDEX_STAGE))


@functools.lru_cache(maxsize=4)
def _cached_splits(
    run_dir: str, sources: tuple[str, ...], index_digest: str
) -> dict[str, SourceSplit]:
    del index_digest  # cache key only
    folder = Path(run_dir) / layout.INDEX_STAGE / SPLITS_DIR
    return {s: SourceSplit.load(folder, s) for s in sources}


def load_source_index(run_dir: Path, source: str) -> DocumentIndex:
    files = sorted((run_dir / layout.INDEX_STAGE / source).glob("*.npz"))
    return DocumentIndex.concat([DocumentIndex.load(f) for f in files])
