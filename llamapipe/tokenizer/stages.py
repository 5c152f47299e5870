"""The engine stages that turn the sources' document shards into the training token stream.

In order (each after the previous; paths in ``layout``):

1. ``tokens/index`` — one shard per ingest shard: per-document keys (seeded id hashes, bytes,
   URL and text hashes); its finalize decides each source's held-out split and cross-source
   duplicates once (``llamapipe.mix.selection``) into a small file every later worker loads.
2. ``tokenizer`` — one shard: SentencePiece BPE trained on a sample of the training documents
   proportional to the mix weights (``llamapipe.tokenizer.train``).
3. ``tokens/sources/<source>`` — one shard per ingest shard: encode training and held-out
   documents into token shards (BOS per document, EOS if configured), keep held-out documents.
4. ``tokens/valid`` — per source, the held-out token shards and documents where eval reads them.
5. ``tokens/train`` — the blend: tokens drawn per source to the target shares (exact counts,
   ``llamapipe.mix.plan``), shuffled across sources, written as training shards; its finalize
   writes ``tokens/manifest.json``.

Every shard is a pure function of its inputs and the seed, so a killed stage resumes to
byte-identical output.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from llamapipe.config.mix import MixConfig
from llamapipe.config.tokenizer import TokenizerConfig
from llamapipe.engine import FinalizeContext, ShardContext, ShardSpec, StageSpec
from llamapipe.engine.state import read_json, read_manifest, write_json_atomic
from llamapipe.errors import ConfigError, InputError
from llamapipe.formats.documents import Document, DocumentWriter, read_documents
from llamapipe.formats.token_shards import (
    TokenShardReader,
    TokenShardSet,
    TokenShardWriter,
    dtype_for_vocab,
)
from llamapipe.mix.plan import BlendPlan, SourceDraw, normalized_weights, plan_blend, plan_draws
from llamapipe.mix.selection import (
    DUPLICATE,
    TRAIN,
    VALID,
    DocumentIndex,
    SourceSplit,
    build_source_split,
    shared_text_keys,
)
from llamapipe.tokenizer import layout
from llamapipe.tokenizer.encode import encode_batch
from llamapipe.tokenizer.model import worker_tokenizer
from llamapipe.tokenizer.train import train_tokenizer, training_lines

#: Bump when the on-disk output of a stage changes meaning, so old runs become stale.
FORMAT_VERSION = 2  # 2: text keys of normalised text; held-out documents have no twin

#: Folder of the index stage holding each source's split (written by its finalize).
SPLITS_DIR = "splits"

#: TokenizerConfig fields that affect encoding only, not the trained model: changing them must
#: not make the tokenizer stage stale.
ENCODE_ONLY_FIELDS = {"add_bos", "add_eos", "encode_batch_documents", "encode_threads"}


def build_stages(cfg: Any) -> list[StageSpec]:
    """The tokenizer, encode and blend stages for a PipelineConfig (enabled sources, weight > 0)."""
    enabled = cfg.sources.enabled()
    sources = [s for s in enabled if cfg.mix.weights.get(s, 0.0) > 0]
    seed = cfg.mix.seed if cfg.mix.seed is not None else cfg.run.seed
    return build_token_stages(cfg.run_dir, cfg.mix, cfg.tokenizer, sources, seed)


def build_token_stages(
    run_dir: Path | str,
    mix: MixConfig,
    tokenizer: TokenizerConfig,
    sources: list[str],
    seed: int,
) -> list[StageSpec]:
    """The five stages for these sources (their ingest stages must be complete to run them)."""
    run_dir = Path(run_dir)
    if not sources:
        raise ConfigError("no source to tokenize: enable a source with a positive [mix] weight")
    weights = normalized_weights(mix.weights, sources)
    sources = sorted(weights)  # one canonical order for every stage
    split = {
        "valid_fraction": mix.valid_fraction,
        "valid_min_documents": mix.valid_min_documents,
        "valid_max_documents": mix.valid_max_documents,
        "dedup_sources": [s for s in mix.dedup_sources if s in sources],
    }
    encode = {
        "vocab_size": tokenizer.vocab_size,
        "add_bos": tokenizer.add_bos,
        "add_eos": tokenizer.add_eos,
        "batch_documents": tokenizer.encode_batch_documents,
        "threads": tokenizer.encode_threads,
    }
    stages = [
        StageSpec(
            name=layout.INDEX_STAGE,
            config={"format": FORMAT_VERSION, "sources": sources, "seed": seed, "split": split},
            plan=functools.partial(_plan_ingest_shards, run_dir, sources),
            process=index_shard,
            upstream=[layout.ingest_stage(s) for s in sources],
            finalize=write_splits,
            description="per-document keys for the held-out split and cross-source dedup",
        ),
        StageSpec(
            name=layout.TOKENIZER_STAGE,
            config={
                "format": FORMAT_VERSION,
                "sources": sources,
                "weights": weights,
                "seed": seed,
                "tokenizer": tokenizer.model_dump(exclude=ENCODE_ONLY_FIELDS),
            },
            plan=functools.partial(_plan_tokenizer, run_dir, sources),
            process=train_tokenizer_shard,
            upstream=[layout.INDEX_STAGE],
            description="SentencePiece BPE trained on a sample of the mixture",
        ),
    ]
    for source in sources:
        stages.append(
            StageSpec(
                name=layout.source_stage(source),
                config={
                    "format": FORMAT_VERSION,
                    "source": source,
                    "sources": sources,
                    "seed": seed,
                    "encode": encode,
                },
                plan=functools.partial(_plan_ingest_shards, run_dir, [source]),
                process=encode_source_shard,
                upstream=[layout.INDEX_STAGE, layout.TOKENIZER_STAGE],
                description=f"encode {source} into training and held-out token shards",
            )
        )
    stages.append(
        StageSpec(
            name=layout.VALID_STAGE,
            config={"format": FORMAT_VERSION, "sources": sources},
            plan=functools.partial(_plan_valid, run_dir, sources),
            process=copy_valid_shard,
            upstream=[layout.source_stage(s) for s in sources],
            description="held-out token shards and documents per source",
        )
    )
    blend_config = {
        "format": FORMAT_VERSION,
        "sources": sources,
        "weights": weights,
        "total_tokens": mix.total_tokens,
        "tokens_per_train_shard": mix.tokens_per_train_shard,
        "seed": seed,
        "encode": encode,
        "special_ids": {
            "unk_id": tokenizer.unk_id,
            "bos_id": tokenizer.bos_id,
            "eos_id": tokenizer.eos_id,
            "pad_id": tokenizer.pad_id,
        },
    }
    stages.append(
        StageSpec(
            name=layout.TRAIN_STAGE,
            config=blend_config,
            plan=functools.partial(_plan_train, run_dir, blend_config),
            process=blend_shard,
            upstream=[layout.source_stage(s) for s in sources] + [layout.VALID_STAGE],
            finalize=write_tokens_manifest,
            description="blend the sources to the target shares, shuffled, into training shards",
        )
    )
    return stages


# --- 1. index ------------------------------------------------------------------------------


def _plan_ingest_shards(run_dir: Path, sources: list[str]) -> list[ShardSpec]:
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
            _counted(read_documents(path), ctx), seed=int(ctx.config["seed"])
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


# --- shared: the split of each source --------------------------------------------------------


def _stage_digest(run_dir: Path, stage: str) -> str:
    manifest = read_manifest(run_dir / stage) or {}
    return str(manifest.get("digest", ""))


def write_splits(ctx: FinalizeContext) -> None:
    """Index-stage finalize: decide each source's split once, from every source's index.

    Workers then load one small file per source (a threshold and the keys of its dropped
    duplicates) instead of the indexes of all dedup sources.
    """
    split = ctx.config["split"]
    indexes = {s: load_source_index(ctx.run_dir, s) for s in ctx.config["sources"]}
    twins = shared_text_keys(indexes, split["dedup_sources"])
    ctx.counters.add("texts_with_twins", int(twins.size))
    for source in ctx.config["sources"]:
        result = build_source_split(
            indexes,
            source,
            split["dedup_sources"],
            split["valid_fraction"],
            split["valid_min_documents"],
            split["valid_max_documents"],
            twin_keys=twins,
        )
        ctx.counters.add(f"held_out_skipped_twins:{source}", int(result.twin_keys.size))
        result.save(ctx.stage_dir / SPLITS_DIR)


def source_splits(run_dir: Path, sources: list[str]) -> dict[str, SourceSplit]:
    """The split of every source (cached per worker process and index-stage digest)."""
    return _cached_splits(str(run_dir), tuple(sources), _stage_digest(run_dir, layout.INDEX_STAGE))


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


# --- 2. tokenizer ----------------------------------------------------------------------------


def _plan_tokenizer(run_dir: Path, sources: list[str]) -> list[ShardSpec]:
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
    config = ctx.config
    cfg = TokenizerConfig(**config["tokenizer"])
    sources: list[str] = config["sources"]
    splits = source_splits(ctx.run_dir, sources)
    thresholds: dict[str, int] = {}
    for source in sources:
        index = load_source_index(ctx.run_dir, source)
        is_train = splits[source].labels(index) == TRAIN
        quota = int(cfg.sample_bytes * config["weights"][source])
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

    train_tokenizer(sentences(), ctx.output("tokenizer"), cfg, seed=int(config["seed"]))
    for source, counts in sampled.items():
        ctx.counters.add(f"sample_bytes_{source}", counts["bytes"])
        ctx.counters.add(f"sample_docs_{source}", counts["documents"])
    write_json_atomic(
        ctx.output("sample.json"),
        {"sample_bytes": cfg.sample_bytes, "weights": config["weights"], "sampled": sampled},
    )


# --- 3. encode per source --------------------------------------------------------------------


def encode_source_shard(ctx: ShardContext) -> None:
    config = ctx.config
    source = config["source"]
    position = int(ctx.shard.params["position"])
    path = ctx.shard.inputs[0]
    encode = config["encode"]
    sp = worker_tokenizer(layout.tokenizer_model_path(ctx.run_dir))
    if sp.GetPieceSize() > encode["vocab_size"]:
        raise ValueError(
            f"{layout.tokenizer_model_path(ctx.run_dir)}: {sp.GetPieceSize()} pieces, "
            f"more than tokenizer.vocab_size {encode['vocab_size']}"
        )
    split = source_splits(ctx.run_dir, config["sources"])[source]
    index = DocumentIndex.load(layout.index_path(ctx.run_dir, source, position))
    labels = split.labels(index)
    name = f"{position:05d}"
    sinks = {
        TRAIN: _EncodeSink(
            ctx, "train", TokenShardWriter(ctx.output(f"train/{name}"), encode["vocab_size"])
        ),
        VALID: _EncodeSink(
            ctx, "valid", TokenShardWriter(ctx.output(f"valid/{name}"), encode["vocab_size"])
        ),
    }
    valid_docs = DocumentWriter(ctx.output(f"valid_docs/{name}.parquet"))
    rows = 0
    for row, doc in enumerate(read_documents(path)):
        rows += 1
        if row >= labels.size:
            break
        ctx.counters.add("docs_in")
        label = int(labels[row])
        if label == DUPLICATE:
            ctx.counters.removed("cross_source_duplicate")
            continue
        if not doc.text.strip():
            ctx.counters.removed("empty_text")
            continue
        if label == VALID:
            valid_docs.write(doc)
        sink = sinks[label]
        sink.pending.append(doc)
        if len(sink.pending) >= encode["batch_documents"]:
            sink.flush(sp, encode)
    if rows != labels.size:
        raise ValueError(
            f"{path}: {rows} documents but its index has {labels.size}; "
            "the ingest shard changed after indexing (re-run with --force)"
        )
    for sink in sinks.values():
        sink.flush(sp, encode)
        sink.writer.close()
    valid_docs.close()
    ids = sinks[TRAIN]
    pq.write_table(
        pa.table({"id": pa.array(ids.ids, pa.string()), "tokens": pa.array(ids.sizes, pa.int64())}),
        ctx.output(f"train_ids/{name}.parquet"),
        compression="zstd",
    )


class _EncodeSink:
    """Documents of one kind (train or valid) waiting to be encoded, and where they go."""

    def __init__(self, ctx: ShardContext, kind: str, writer: TokenShardWriter) -> None:
        self.ctx = ctx
        self.kind = kind
        self.writer = writer
        self.pending: list[Document] = []
        self.ids: list[str] = []
        self.sizes: list[int] = []

    def flush(self, sp: Any, encode: dict[str, Any]) -> None:
        if not self.pending:
            return
        flat, sizes = encode_batch(
            sp,
            [doc.text for doc in self.pending],
            add_bos=encode["add_bos"],
            add_eos=encode["add_eos"],
            num_threads=encode["threads"],
        )
        self.writer.add_batch(flat, sizes)
        counters = self.ctx.counters
        counters.add(f"docs_{self.kind}", len(self.pending))
        counters.add(f"tokens_{self.kind}", int(flat.size))
        counters.add(f"bytes_{self.kind}", sum(doc.nbytes for doc in self.pending))
        self.ids.extend(doc.id for doc in self.pending)
        self.sizes.extend(int(n) for n in sizes)
        self.pending = []


# --- 4. held-out shards per source -----------------------------------------------------------


def _plan_valid(run_dir: Path, sources: list[str]) -> list[ShardSpec]:
    shards = []
    for source in sources:
        for prefix in layout.source_valid_prefixes(run_dir, source):
            if TokenShardReader(prefix).num_documents == 0:
                continue
            shards.append(
                ShardSpec(
                    index=len(shards),
                    inputs=(str(prefix) + ".idx", str(prefix) + ".bin"),
                    params={"source": source, "name": prefix.name},
                )
            )
    return shards


def copy_valid_shard(ctx: ShardContext) -> None:
    source, name = ctx.shard.params["source"], ctx.shard.params["name"]
    stage = ctx.upstream_dir(layout.source_stage(source))
    for src, dst in (
        (stage / "valid" / f"{name}.bin", f"{source}/{name}.bin"),
        (stage / "valid" / f"{name}.idx", f"{source}/{name}.idx"),
        (stage / "valid_docs" / f"{name}.parquet", f"{source}/documents/{name}.parquet"),
    ):
        _link_or_copy(src, ctx.output(dst))
    reader = TokenShardReader(stage / "valid" / name)
    ctx.counters.add("docs_valid", reader.num_documents)
    ctx.counters.add("tokens_valid", reader.num_tokens)


def _link_or_copy(src: Path, dst: Path) -> None:
    """A hard link when possible (no copy of the bytes), else a copy."""
    dst.unlink(missing_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


# --- 5. blend --------------------------------------------------------------------------------


def _plan_train(run_dir: Path, config: dict[str, Any]) -> list[ShardSpec]:
    try:
        plan, _ = blend_plan(run_dir, config)
    except ValueError as exc:  # e.g. a weighted source with no training tokens
        raise ConfigError(f"[mix]: {exc}") from None
    return [ShardSpec(index=i, params={"shard": i}) for i in range(plan.num_shards)]


def blend_plan(run_dir: Path, config: dict[str, Any]) -> tuple[BlendPlan, dict[str, SourceDraw]]:
    """The mix plan of this run (cached per worker process and upstream digests)."""
    digests = tuple(_stage_digest(run_dir, layout.source_stage(s)) for s in config["sources"])
    return _cached_blend_plan(str(run_dir), json.dumps(config, sort_keys=True), digests)


@functools.lru_cache(maxsize=2)
def _cached_blend_plan(
    run_dir: str, config_json: str, digests: tuple[str, ...]
) -> tuple[BlendPlan, dict[str, SourceDraw]]:
    del digests  # cache key only
    config = json.loads(config_json)
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
    config = ctx.config
    plan, _ = blend_plan(ctx.run_dir, config)
    items = plan.shard_items(int(ctx.shard.params["shard"]))
    shard_sets = [TokenShardSet(layout.source_train_prefixes(ctx.run_dir, s)) for s in plan.sources]
    source, doc, length = plan.source[items], plan.doc[items], plan.length[items]
    name = f"{ctx.shard.index:05d}"
    with TokenShardWriter(ctx.output(name), config["encode"]["vocab_size"]) as writer:
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
    config = ctx.config
    run_dir = ctx.run_dir
    plan, draws = blend_plan(run_dir, config)
    realized = plan.tokens_per_source()
    total = sum(realized.values())
    per_source: dict[str, Any] = {}
    for source in config["sources"]:
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
    encode = config["encode"]
    manifest = {
        "vocab_size": encode["vocab_size"],
        **config["special_ids"],
        "add_bos": encode["add_bos"],
        "add_eos": encode["add_eos"],
        "dtype": str(dtype_for_vocab(encode["vocab_size"])),
        "format": "megatron-mmidx",
        "tokenizer": str(layout.tokenizer_model_path(run_dir).relative_to(run_dir)),
        "seed": config["seed"],
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
