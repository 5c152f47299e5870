"""Exact document dedup inside a source, across all its inputs: the first occurrence wins.

A real corpus is assembled from files that overlap (two C4 re-packagings, a Wikipedia dump and
its partial re-download, the same book in two folders), and a repeated document is trained on
twice and can sit in the held-out split while its twin is in training. So every source's
documents pass three engine stages after its own (``with_document_dedup``):

1. ``ingest/<source>/keys`` (a shard per document shard): the keys of each document, the hash
   of its normalised text (``llamapipe.mix.keys.normalize_text``: whitespace runs collapsed,
   stripped) and, when it has one, of its normalised URL (``meta["url"]``, scheme, ``www.`` and
   trailing ``/`` ignored). A document is a duplicate when ANY of its keys occurred before.
2. ``ingest/<source>/dedup``: the bucketed first-occurrence pass (``llamapipe.sources.dedup``).
3. ``ingest/<source>`` (a shard per document shard): the documents minus the repeats, counted as
   ``duplicate`` in the stage's stats.

"First" is input order: shard index (the source plans shards in input order), then row. The
source's own last stage becomes ``ingest/<source>/documents``; side files it writes next to its
shards (``publish``) are copied to ``ingest/<source>`` where users and later stages read them.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from llamapipe.engine import FinalizeContext, ShardContext, ShardSpec, StageSpec
from llamapipe.engine.stage_config import StageConfig, added_key
from llamapipe.engine.state import read_json
from llamapipe.formats.documents import read_documents
from llamapipe.mix.keys import NO_KEY, text_key, url_key
from llamapipe.sources.dedup import first_occurrence_stage, load_dropped_positions, write_keys

#: Hash buckets of the dedup pass; memory per bucket ~ 16 bytes x keys / buckets.
DEFAULT_BUCKETS = 8


@dataclass(frozen=True)
class DocumentKeysConfig(StageConfig):
    """What ``ingest/<source>/keys`` reads."""

    use_url: bool
    documents_stage: str


@dataclass(frozen=True)
class UniqueDocumentsConfig(StageConfig):
    """What ``ingest/<source>`` reads after document dedup; ``write_removed`` follows the
    source's own last stage."""

    documents_stage: str
    dedup_stage: str
    publish: tuple[str, ...]
    source_stages: tuple[str, ...]
    write_removed: bool = added_key()


def documents_stage(source: str) -> str:
    """The source's own output before dedup."""
    return f"ingest/{source}/documents"


def _shard_plan(folder: Path) -> list[ShardSpec]:
    shards = sorted((folder / "shards").glob("*.parquet"))
    return [ShardSpec(index=int(p.stem), inputs=(str(p),)) for p in shards]


def process_document_keys(ctx: ShardContext) -> None:
    """The text key (and URL key) of every row of one document shard."""
    keys: list[int] = []
    positions: list[int] = []
    for position, doc in enumerate(read_documents(ctx.shard.inputs[0])):
        ctx.counters.add("docs_in")
        keys.append(text_key(doc.text))
        positions.append(position)
        if ctx.config.use_url and (url := url_key(doc.meta.get("url"))) != NO_KEY:
            keys.append(url)
            positions.append(position)
            ctx.counters.add("urls")
    write_keys(ctx, keys, positions)


def process_unique_documents(ctx: ShardContext) -> None:
    """Copy one document shard minus the rows the dedup pass listed, and its side files."""
    cfg: UniqueDocumentsConfig = ctx.config
    dropped = set(
        load_dropped_positions(ctx.upstream_dir(cfg.dedup_stage), ctx.shard.index).tolist()
    )
    with ctx.document_writer() as writer, ctx.filter_runner([]) as runner:
        for position, doc in enumerate(read_documents(ctx.shard.inputs[0])):
            ctx.counters.add("docs_in")
            ctx.counters.add("bytes_in", doc.nbytes)
            if position in dropped:  # decided across all shards by the dedup stage
                runner.reject(doc, "document_dedup", "duplicate")
                continue
            writer.write(doc)
    documents = ctx.upstream_dir(cfg.documents_stage)
    for pattern in cfg.publish:
        if "{shard}" in pattern:
            relpath = pattern.format(shard=ctx.shard.name)
            if (documents / relpath).is_file():
                shutil.copyfile(documents / relpath, ctx.output(relpath))


def publish_stage_files(ctx: FinalizeContext) -> None:
    """Whole-stage side files (written by the documents stage's finalize) next to the shards,
    and the removals and input errors of all the source's own stages in this stage's stats, so
    that ``ingest/<source>/stats.json`` tells the source's whole story (``duplicate`` included).
    """
    cfg: UniqueDocumentsConfig = ctx.config
    documents = ctx.upstream_dir(cfg.documents_stage)
    for stage in cfg.source_stages:
        upstream = read_json(ctx.upstream_dir(stage) / "stats.json") or {}
        ctx.counters.merge(
            {
                "totals": {"errors": upstream.get("totals", {}).get("errors", 0)},
                "removed": upstream.get("removed", {}),
                "errors": upstream.get("errors", []),
            }
        )
    for relpath in cfg.publish:
        if "{shard}" not in relpath and (documents / relpath).is_file():
            with ctx.output(relpath) as tmp:
                shutil.copyfile(documents / relpath, tmp)


def with_document_dedup(
    stages: Sequence[StageSpec],
    source: str,
    run_dir: Path | str,
    *,
    use_url: bool = True,
    buckets: int = DEFAULT_BUCKETS,
    publish: Sequence[str] = (),
) -> list[StageSpec]:
    """``stages`` (the last one writing ``ingest/<source>``) followed by exact document dedup.

    ``publish``: paths relative to the documents stage copied to the final stage; one with
    ``{shard}`` is per shard (``refs/{shard}.jsonl``), the others are whole-stage files. The
    repeats go to ``removed/`` when the source's own last stage has ``write_removed``.
    """
    final_name = f"ingest/{source}"
    if not stages or stages[-1].name != final_name:
        raise ValueError(f"the last stage of {source} must be {final_name}")
    docs_name = documents_stage(source)
    keys_name = f"ingest/{source}/keys"
    dedup_name = f"ingest/{source}/dedup"
    own = replace(stages[-1], name=docs_name)
    docs_dir = Path(run_dir) / docs_name
    keys = StageSpec(
        name=keys_name,
        config=DocumentKeysConfig(use_url, docs_name),
        plan=lambda: _shard_plan(docs_dir),
        process=process_document_keys,
        upstream=[docs_name],
        description=f"{source}: keys of each document (normalised text, URL)",
    )
    dedup = first_occurrence_stage(
        dedup_name, keys_name, buckets, f"exact document dedup across all {source} inputs"
    )
    final = StageSpec(
        name=final_name,
        config=UniqueDocumentsConfig(
            documents_stage=docs_name,
            dedup_stage=dedup_name,
            publish=tuple(publish),
            source_stages=(*(s.name for s in stages[:-1]), docs_name),
            write_removed=_write_removed(stages[-1].config),
        ),
        plan=lambda: _shard_plan(docs_dir),
        process=process_unique_documents,
        upstream=[docs_name, keys_name, dedup_name],
        finalize=publish_stage_files,
        description=f"{source} documents, one copy of each",
    )
    return [*stages[:-1], own, keys, dedup, final]


def _write_removed(config: object) -> bool:
    if isinstance(config, dict):
        return bool(config.get("write_removed", False))
    return bool(getattr(config, "write_removed", False))
