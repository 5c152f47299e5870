"""Stage ``tokens/train``: the sources blended to their target shares into training shards.

Tokens are drawn per source to exact counts (``llamapipe.mix.plan``), shuffled across sources
and written as training shards with a provenance file each; the finalize writes
``tokens/manifest.json``, what the trainer, eval and ``data stats`` read.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np

from llamapipe.engine import FinalizeContext, ShardContext, ShardSpec
from llamapipe.engine.stage_config import config_dict
from llamapipe.engine.state import read_json, write_json_atomic
from llamapipe.errors import ConfigError
from llamapipe.formats.token_shards import TokenShardSet, TokenShardWriter, dtype_for_vocab
from llamapipe.mix.plan import BlendPlan, SourceDraw, plan_blend, plan_draws
from llamapipe.mix.stage_configs import BlendStageConfig
from llamapipe.tokenizer import layout
from llamapipe.tokenizer.index_stage import stage_digest


def plan_train(run_dir: Path, config: BlendStageConfig) -> list[ShardSpec]:
    try:
        plan, _ = blend_plan(run_dir, config)
    except ValueError as exc:  # e.g. a weighted source with no training tokens
        raise ConfigError(f"[mix]: {exc}") from None
    return [ShardSpec(index=i, params={"shard": i}) for i in range(plan.num_shards)]


def blend_plan(run_dir: Path, config: BlendStageConfig) -> tuple[BlendPlan, dict[str, SourceDraw]]:
    """The mix plan of this run (cached per worker process and upstream digests)."""
    digests = tuple(stage_digest(run_dir, layout.source_stage(s)) for s in config.sources)
    key = json.dumps(config_dict(config), sort_keys=True)
    return _cached_blend_plan(str(run_dir), key, digests)


@functools.lru_cache(maxsize=2)
def _cached_blend_plan(
    run_dir: str, config_json: str, digests: tuple[str, ...]
) -> tuple[BlendPlan, dict[str, SourceDraw]]:
    del digests  # cache key only
    config = json.loads(config_json)  # the config_dict form (hashable as the cache key)
    sizes = {
        s: TokenShardSet(layout.source_train_prefixes(Path(run_dir), s)).document_sizes()
        for s in config["sources"]
    }
    unique = {s: int(v.sum()) for s, v in sizes.items()}
    draws = plan_draws(unique, config["weights"], config["total_tokens"])
    plan = plan_blend(sizes, draws, int(config["seed"]), int(config["tokens_per_train_shard"]))
    return plan, draws


#: Documents gathered before one write to the training shard.
BLEND_WRITE_BATCH = 1024


def blend_shard(ctx: ShardContext) -> None:
    config: BlendStageConfig = ctx.config
    plan, _ = blend_plan(ctx.run_dir, config)
    items = plan.shard_items(int(ctx.shard.params["shard"]))
    shard_sets = [TokenShardSet(layout.source_train_prefixes(ctx.run_dir, s)) for s in plan.sources]
    source, doc, length = plan.source[items], plan.doc[items], plan.length[items]
    name = f"{ctx.shard.index:05d}"
    with TokenShardWriter(ctx.output(name), config.encode.vocab_size) as writer:
        for start in range(0, source.size, BLEND_WRITE_BATCH):
            stop = min(start + BLEND_WRITE_BATCH, source.size)
            pieces = [
                shard_sets[int(source[i])].document(int(doc[i]))[: int(length[i])]
                for i in range(start, stop)
            ]
            writer.add_batch(np.concatenate(pieces), length[start:stop])
    with open(ctx.output(f"provenance/{name}.npz"), "wb") as out:
        np.savez(out, source=source, doc=doc, length=length, sources=np.array(plan.sources))
    ctx.counters.add("docs_out", int(source.size))
    ctx.counters.add("tokens_out", int(length.sum()))
    for i, name_ in enumerate(plan.sources):
        ctx.counters.add(f"tokens_{name_}", int(length[source == i].sum()))


def write_tokens_manifest(ctx: FinalizeContext) -> None:
    """``<run>/tokens/manifest.json``: what the trainer, eval and ``data stats`` read.

    Top level: ``vocab_size``, ``unk_id``/``bos_id``/``eos_id``/``pad_id`` (-1: none),
    ``add_bos``/``add_eos``, ``dtype`` of the ``.bin`` files, ``format`` ("megatron-mmidx"),
    ``tokenizer`` (model path relative to the run), ``seed``, ``total_tokens`` and
    ``train_documents`` of the training stream, ``train_shards`` (prefixes relative to the run).
    ``sources.<name>``: ``documents``/``bytes`` (training split), ``unique_tokens``,
    ``tokens_in_mix``, ``share`` (realized) and ``target_share``, ``epochs`` (= tokens_in_mix /
    unique_tokens), ``valid_documents``/``valid_tokens``/``valid_shards``, ``duplicates_dropped``.
    """
    config: BlendStageConfig = ctx.config
    run_dir = ctx.run_dir
    plan, draws = blend_plan(run_dir, config)
    realized = plan.tokens_per_source()
    total = sum(realized.values())
    per_source: dict[str, Any] = {}
    for source in config.sources:
        stats = read_json(run_dir / layout.source_stage(source) / "stats.json") or {}
        totals, removed = stats.get("totals", {}), stats.get("removed", {})
        draw = draws[source]
        per_source[source] = {
            "documents": int(totals.get("docs_train", 0)),
            "bytes": int(totals.get("bytes_train", 0)),
            "unique_tokens": draw.unique_tokens,
            "tokens_in_mix": realized[source],
            "share": realized[source] / total if total else 0.0,
            "target_share": draw.weight,
            "epochs": realized[source] / draw.unique_tokens if draw.unique_tokens else 0.0,
            "valid_documents": int(totals.get("docs_valid", 0)),
            "valid_tokens": int(totals.get("tokens_valid", 0)),
            "duplicates_dropped": int(removed.get("cross_source_duplicate", 0)),
            "valid_shards": [
                str(p.relative_to(run_dir)) for p in layout.valid_prefixes(run_dir, source)
            ],
        }
    encode = config.encode
    manifest = {
        "vocab_size": encode.vocab_size,
        **config_dict(config.special_ids),
        "add_bos": encode.add_bos,
        "add_eos": encode.add_eos,
        "dtype": str(dtype_for_vocab(encode.vocab_size)),
        "format": "megatron-mmidx",
        "tokenizer": str(layout.tokenizer_model_path(run_dir).relative_to(run_dir)),
        "seed": config.seed,
        "total_tokens": total,
        "train_documents": int(plan.source.size),
        "train_shards": [str(p.relative_to(run_dir)) for p in layout.train_prefixes(run_dir)],
        "sources": per_source,
    }
    write_json_atomic(run_dir / layout.TOKENS_MANIFEST, manifest)


def read_tokens_manifest(run_dir: Path | str) -> dict[str, Any]:
    """The tokens manifest of a run (a clear error if the blend has not run)."""
    path = Path(run_dir) / layout.TOKENS_MANIFEST
    data = read_json(path)
    if data is None:
        raise FileNotFoundError(f"{path}: no tokens manifest (run `llamapipe tokenize`)")
    return data
