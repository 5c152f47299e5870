"""C4: prebuilt allenai/c4 files (or a Hugging Face dataset) into document shards.

The released C4 is already filtered and deduplicated, so ingesting it is reading, validating
and normalising the schema (`timestamp`, or `date` in re-packaged copies such as OLMo's). With
`from_wet = true` the C4 rules run on Common Crawl WET files instead (sources/c4_from_wet.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llamapipe.config.removed import write_removed_for
from llamapipe.engine import ShardContext, ShardSpec, StageSpec
from llamapipe.engine.stage_config import StageConfig, added_key
from llamapipe.filters import Filter, FilterRunner
from llamapipe.filters.text import EmptyText
from llamapipe.formats.documents import Document
from llamapipe.formats.inputs import expand_inputs
from llamapipe.formats.jsonl import iter_json_lines
from llamapipe.io import ref_name

if TYPE_CHECKING:
    from llamapipe.config import PipelineConfig

STAGE_NAME = "ingest/c4"
HF_PREFIX = "hf:"


@dataclass(frozen=True)
class C4StageConfig(StageConfig):
    """What ``ingest/c4`` reads from prebuilt C4 (``from_wet = false``)."""

    inputs: tuple[str, ...]
    files_per_shard: int
    hf_max_docs: int | None
    from_wet: bool
    write_removed: bool = added_key()


def c4_filters() -> list[Filter]:
    """The rules a prebuilt C4 record passes (C4 is filtered already: only empty text)."""
    return [EmptyText("empty_text")]


def c4_document(obj: dict[str, Any], doc_id: str) -> Document | None:
    text = obj.get("text")
    if not isinstance(text, str):
        return None
    meta = {
        "url": obj.get("url"),
        "timestamp": obj.get("timestamp", obj.get("date")),
    }
    return Document(id=doc_id, text=text, source="c4", meta=meta)


def process_file_shard(ctx: ShardContext) -> None:
    with ctx.document_writer() as writer, ctx.filter_runner(c4_filters()) as runner:
        for ref in ctx.shard.inputs:
            stem = ref_name(ref).split(".json")[0]

            def on_error(record: int | None, message: str, _ref: str = ref) -> None:
                ctx.counters.error(_ref, record, message)

            for line_no, obj in iter_json_lines(ref, on_error):
                _ingest(ctx, writer, runner, obj, ref, line_no, f"c4/{stem}/{line_no}")


def _ingest(
    ctx: ShardContext,
    writer: Any,
    runner: FilterRunner,
    obj: dict,
    ref: str,
    record: int,
    doc_id: str,
) -> None:
    """One C4 record: counted, validated, written unless a filter removes it."""
    ctx.counters.add("docs_in")
    doc = c4_document(obj, doc_id)
    if doc is None:
        ctx.counters.error(ref, record, "record has no string 'text' field")
        return
    ctx.counters.add("bytes_in", doc.nbytes)
    if runner.keep(doc):
        writer.write(doc)


def _load_hf(ref: str) -> Any:
    """`hf:<dataset id or local folder>[:<config>]` as a streaming dataset."""
    import datasets

    spec = ref[len(HF_PREFIX) :]
    name, _, config = spec.partition(":") if not Path(spec).exists() else (spec, "", "")
    return datasets.load_dataset(name, config or None, split="train", streaming=True)


def process_hf_shard(ctx: ShardContext) -> None:
    ref = ctx.shard.inputs[0]
    dataset = _load_hf(ref).shard(num_shards=ctx.shard.params["num_shards"], index=ctx.shard.index)
    limit = ctx.shard.params.get("max_docs")
    with ctx.document_writer() as writer, ctx.filter_runner(c4_filters()) as runner:
        for row, obj in enumerate(dataset):
            if limit is not None and row >= limit:
                break
            _ingest(ctx, writer, runner, obj, ref, row, f"c4/hf{ctx.shard.index:05d}/{row}")


def build_stages(cfg: PipelineConfig) -> list[StageSpec]:
    section = cfg.sources.c4
    if section.from_wet:
        from llamapipe.sources.c4_from_wet import build_stages_from_wet

        return build_stages_from_wet(cfg)
    config = C4StageConfig.from_section(section, write_removed=write_removed_for(cfg, "c4"))
    # `hf:<dataset id>` is a Hugging Face dataset; `hf://...` is a file in the Hub, read as
    # any other remote file.
    hf_refs = [r for r in section.inputs if r.startswith(HF_PREFIX) and not r.startswith("hf://")]
    if hf_refs:
        if len(section.inputs) > 1:
            from llamapipe.errors import ConfigError

            raise ConfigError("sources.c4.inputs: a Hugging Face id must be the only input")

        def plan_hf() -> list[ShardSpec]:
            n = _load_hf(hf_refs[0]).n_shards
            per_shard = None
            if section.hf_max_docs is not None:
                per_shard = -(-section.hf_max_docs // n)
            return [
                ShardSpec(i, (hf_refs[0],), {"num_shards": n, "max_docs": per_shard})
                for i in range(n)
            ]

        return [StageSpec(STAGE_NAME, config, plan_hf, process_hf_shard, description="C4 (HF)")]

    def plan_files() -> list[ShardSpec]:
        files = expand_inputs(section.inputs, in_folders=lambda p: ".json" in p.name)
        step = section.files_per_shard
        return [
            ShardSpec(i, tuple(files[start : start + step]))
            for i, start in enumerate(range(0, len(files), step))
        ]

    return [StageSpec(STAGE_NAME, config, plan_files, process_file_shard, description="C4")]
