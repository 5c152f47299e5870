"""Stage ``tokens/valid``: each source's held-out token shards and documents, where eval reads
them (hard links into the encode stages' outputs when the file system allows)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from llamapipe.engine import ShardContext, ShardSpec
from llamapipe.formats.token_shards import TokenShardReader
from llamapipe.tokenizer import layout


def plan_valid(run_dir: Path, sources: list[str]) -> list[ShardSpec]:
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
