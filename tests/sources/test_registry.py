"""The source registry (llamapipe/sources/__init__.py) is the one place a source is described:
config sections, build order, Table 1 defaults, document dedup and meta schemas follow it."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from llamapipe.config import PipelineConfig, SourcesConfig, config_from_dict
from llamapipe.config.mix import MixConfig
from llamapipe.formats.meta_schemas import SOURCE_SCHEMAS
from llamapipe.sources import SOURCE_ORDER, SOURCES, Source, build_order, source_stages


def test_every_source_reads_its_parts_from_the_registry() -> None:
    # every field of [sources] is a source's section, but the one switch for all of them
    sections = tuple(n for n in SourcesConfig.model_fields if n != "write_removed")
    assert sections == tuple(SOURCES)
    assert set(SOURCE_SCHEMAS) == set(SOURCES)
    assert MixConfig().weights == {name: s.share for name, s in SOURCES.items()}
    assert sum(s.share for s in SOURCES.values()) == pytest.approx(100.0)
    for name, source in SOURCES.items():
        assert isinstance(getattr(PipelineConfig().sources, name), source.config_class())
        assert callable(importlib.import_module(source.module).build_stages), name


def test_build_order_puts_what_a_source_reads_first() -> None:
    assert SOURCE_ORDER == (
        "wikipedia", "commoncrawl", "c4", "github", "books", "arxiv", "stackexchange",
    )  # fmt: skip
    loop = {
        "a": Source("a", "m:A", "m", 1.0, None, reads=("b",)),
        "b": Source("b", "m:B", "m", 1.0, None, reads=("a",)),
    }
    with pytest.raises(ValueError, match="cycle: a -> b -> a"):
        build_order(loop)


def test_document_dedup_follows_the_registry(tmp_path: Path) -> None:
    inputs = tmp_path / "in.json"
    inputs.write_text('{"text": "a page", "url": "https://a.b/"}\n', encoding="utf-8")
    wet = tmp_path / "x.warc.wet.gz"
    wet.write_bytes(b"")

    def names(section: dict) -> list[str]:
        cfg = config_from_dict({"sources": {"c4": section}}, tmp_path)
        return [s.name for s in source_stages(cfg)]

    assert names({"inputs": [str(inputs)]}) == [
        "ingest/c4/documents", "ingest/c4/keys", "ingest/c4/dedup", "ingest/c4",
    ]  # fmt: skip
    rebuilt = names({"inputs": [str(wet)], "from_wet": True})
    assert "ingest/c4/keys" not in rebuilt and rebuilt[-1] == "ingest/c4"


def test_loading_the_config_imports_no_source_module(tmp_path: Path) -> None:
    code = (
        "import sys; from llamapipe.config import load_config; "
        "import llamapipe.mix.stats; "
        "print(sorted(m for m in sys.modules if m.startswith('llamapipe.sources.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
