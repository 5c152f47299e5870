"""Stage ``tokens/sources/<source>``: one source's documents encoded into token shards.

One shard per ingest shard: training documents go to ``train/``, held-out ones to ``valid/``
(and, as documents, to ``valid_docs/``), cross-source duplicates are dropped; BOS per document,
EOS if configured. ``train_ids/`` records each training document's id and token count.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from llamapipe.engine import ShardContext
from llamapipe.formats.documents import Document, DocumentWriter, read_documents
from llamapipe.formats.meta_schemas import stage_meta_schema
from llamapipe.formats.token_shards import TokenShardWriter
from llamapipe.mix.selection import DUPLICATE, TRAIN, VALID, DocumentIndex
from llamapipe.mix.stage_configs import EncodeStageConfig
from llamapipe.tokenizer import layout
from llamapipe.tokenizer.encode import encode_batch
from llamapipe.tokenizer.index_stage import source_splits
from llamapipe.tokenizer.model import worker_tokenizer


def encode_source_shard(ctx: ShardContext) -> None:
    config: EncodeStageConfig = ctx.config
    source = config.source
    position = int(ctx.shard.params["position"])
    path = ctx.shard.inputs[0]
    encode = config.encode
    sp = worker_tokenizer(layout.tokenizer_model_path(ctx.run_dir))
    if sp.GetPieceSize() > encode.vocab_size:
        raise ValueError(
            f"{layout.tokenizer_model_path(ctx.run_dir)}: {sp.GetPieceSize()} pieces, "
            f"more than tokenizer.vocab_size {encode.vocab_size}"
        )
    split = source_splits(ctx.run_dir, config.sources)[source]
    index = DocumentIndex.load(layout.index_path(ctx.run_dir, source, position))
    labels = split.labels(index)
    name = f"{position:05d}"
    sinks = {
        TRAIN: _EncodeSink(
            ctx, "train", TokenShardWriter(ctx.output(f"train/{name}"), encode.vocab_size)
        ),
        VALID: _EncodeSink(
            ctx, "valid", TokenShardWriter(ctx.output(f"valid/{name}"), encode.vocab_size)
        ),
    }
    valid_docs = DocumentWriter(
        ctx.output(f"valid_docs/{name}.parquet"), stage_meta_schema(ctx.stage_name)
    )
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
        if len(sink.pending) >= encode.batch_documents:
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
            add_bos=encode.add_bos,
            add_eos=encode.add_eos,
            num_threads=encode.threads,
        )
        self.writer.add_batch(flat, sizes)
        counters = self.ctx.counters
        counters.add(f"docs_{self.kind}", len(self.pending))
        counters.add(f"tokens_{self.kind}", int(flat.size))
        counters.add(f"bytes_{self.kind}", sum(doc.nbytes for doc in self.pending))
        self.ids.extend(doc.id for doc in self.pending)
        self.sizes.extend(int(n) for n in sizes)
        self.pending = []
