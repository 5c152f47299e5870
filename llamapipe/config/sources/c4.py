"""Config of the C4 source: prebuilt C4 json.gz files, a HF dataset id, or WET plus the C4 rules."""

from __future__ import annotations

from pydantic import Field

from llamapipe.config.base import StrictModel
from llamapipe.config.sources.c4_from_wet import C4FromWetConfig


class C4SourceConfig(StrictModel):
    enabled: bool = True
    #: Write the documents this source's stages remove to <stage>/removed/*.parquet (None:
    #: as ``[sources] write_removed``); read them with ``llamapipe data sample``.
    write_removed: bool | None = None
    #: json(.gz) files or globs of allenai/c4-style lines ({text, url, timestamp|date}), or
    #: "hf:<dataset id>[:<config>]" for a Hugging Face dataset (streamed); with from_wet = true,
    #: Common Crawl WET files, globs, wet.paths(.gz) lists or http(s)/s3/gs/hf URLs.
    inputs: list[str] = []
    #: Input files per shard; one prebuilt C4 file is ~350 MB of text, so one each by default.
    files_per_shard: int = Field(1, ge=1)
    #: Stop after about this many documents of a Hugging Face dataset (None: all of it); a
    #: Hugging Face dataset is split into one shard per data file of the dataset.
    hf_max_docs: int | None = None
    #: Build C4 from Common Crawl WET files with the C4 rules instead of reading prebuilt C4.
    from_wet: bool = False
    wet_rules: C4FromWetConfig = C4FromWetConfig()
