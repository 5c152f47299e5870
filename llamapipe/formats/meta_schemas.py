"""The typed ``meta`` column of document shards: one Arrow struct per stage.

``meta`` is a Parquet struct, so DuckDB (``WHERE meta.language = 'en'``), pandas and
``datasets.load_dataset("parquet", ...)`` filter on a field without parsing a JSON string, and
every shard of a stage has the same schema (``datasets`` needs that to load a multi-shard stage).

The schema of a stage is declared here, before anything is written, instead of being inferred
from the documents: an inferred struct changes with the data (a key that one shard never sets,
an int in one shard and a float in the next) and shards of one stage would disagree. A meta key
a stage writes that its schema does not declare is an error naming the stage and the key, so a
new attribute cannot silently drift out of the typed column: add it to the source's schema
below (with its type) in the same change.

- Every field is nullable; a key a document does not set is stored as null.
- ``optional=True`` marks a key that a stage sets on some documents only (``license`` of a
  StackExchange question that has one, GitHub's ``commit`` when the input row carries it): its
  null reads back as "no key", so ``Document.meta`` compares equal to what the stage wrote. The
  mark travels in the Parquet file (Arrow field metadata, ``OPTIONAL_KEY``), so a reader needs
  no copy of this module's tables. The other keys are always set by their stage, possibly to
  None, and read back as None.
- Resolution (``stage_meta_schema``): a stage listed in ``STAGE_SCHEMAS`` uses its own entry;
  every other stage of a source, ``ingest/<source>`` and its sub-stages (``.../documents``,
  ``.../candidates``), and the source's encode stage ``tokens/sources/<source>`` (its held-out
  documents) use the source's schema, the union of what the source's stages write.
- The mix stages write documents of one source per file (the held-out documents of
  ``tokens/sources/<source>``, hard-linked into ``tokens/valid/<source>/documents``), so each
  file keeps its source's schema and stays typed as precisely as the ingest shards. A file that
  holds documents of several sources uses ``union_meta_schema()``: the union of all the sources'
  fields, every one optional. It exists because the key types agree across sources (``url`` and
  ``language`` are strings everywhere), which ``union_meta_schema`` checks; one struct keeps such
  a file queryable with the same predicates as a single source's shards, where a JSON column or
  one struct per source would not.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pyarrow as pa

#: Arrow field metadata key marking a key that is absent (not None) when null.
OPTIONAL_KEY = b"llamapipe.optional"

STRING = pa.string()
INT = pa.int64()
FLOAT = pa.float64()
BOOL = pa.bool_()
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


class MetaSchemaError(ValueError):
    """A document's meta does not fit its stage's schema (an unknown key, a wrong type)."""


@dataclass(frozen=True)
class MetaField:
    """One key of ``meta``: its Arrow type and whether a stage may leave it out."""

    name: str
    type: pa.DataType
    optional: bool = False

    def arrow(self) -> pa.Field:
        metadata = {OPTIONAL_KEY: b"1"} if self.optional else None
        return pa.field(self.name, self.type, nullable=True, metadata=metadata)


def f(name: str, type_: pa.DataType, optional: bool = False) -> MetaField:
    return MetaField(name, type_, optional)


@dataclass(frozen=True)
class MetaSchema:
    """The meta struct of one stage (``name``: the stage or source, used in errors)."""

    name: str
    fields: tuple[MetaField, ...]
    _checks: tuple[Callable[[Any], Any], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.fields:
            raise ValueError(f"meta schema {self.name}: no field (Parquet has no empty struct)")
        names = [x.name for x in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"meta schema {self.name}: a key is declared twice in {names}")
        object.__setattr__(self, "_checks", tuple(_checker(x.type) for x in self.fields))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(x.name for x in self.fields)

    def arrow_type(self) -> pa.StructType:
        return pa.struct([x.arrow() for x in self.fields])

    def named(self, name: str) -> MetaSchema:
        return replace(self, name=name)

    def plus(self, *more: MetaField) -> MetaSchema:
        """This schema with more fields (an attribute a later stage adds)."""
        return MetaSchema(self.name, self.fields + more)

    def values(self, meta: Mapping[str, Any], doc_id: str) -> list[Any]:
        """The stored value of each field, in field order: unknown keys and wrong types are a
        MetaSchemaError naming the stage, the document and the key."""
        unknown = meta.keys() - set(self.names)
        if unknown:
            raise MetaSchemaError(
                f"stage {self.name}: meta key {sorted(unknown)[0]!r} of document {doc_id} is not "
                f"in its schema; declare it in llamapipe/formats/meta_schemas.py "
                f"(keys: {', '.join(self.names)})"
            )
        out = []
        for spec, check in zip(self.fields, self._checks, strict=True):
            value = meta.get(spec.name)
            if value is None:
                out.append(None)
                continue
            try:
                out.append(check(value))
            except TypeError as exc:
                raise MetaSchemaError(
                    f"stage {self.name}: meta key {spec.name!r} of document {doc_id}: {exc}"
                ) from None
        return out


def _checker(type_: pa.DataType) -> Callable[[Any], Any]:
    """A function returning the stored form of a value of this type, or raising TypeError.

    Dates become ISO strings in a string field (C4 timestamps parsed by ``datasets``), as the
    JSON column stored them; ints are accepted in a float field; bools are never numbers.
    """
    if pa.types.is_string(type_):

        def check_string(value: Any) -> Any:
            if isinstance(value, str):
                return value
            if isinstance(value, datetime.datetime | datetime.date):
                return value.isoformat()
            raise TypeError(f"{type(value).__name__} {value!r:.40}, the schema says string")

        return check_string
    if pa.types.is_int64(type_):

        def check_int(value: Any) -> Any:
            if isinstance(value, int) and not isinstance(value, bool):
                if _INT64_MIN <= value <= _INT64_MAX:
                    return value
                raise TypeError(f"{value} does not fit int64")
            raise TypeError(f"{type(value).__name__} {value!r:.40}, the schema says int64")

        return check_int
    if pa.types.is_float64(type_):

        def check_float(value: Any) -> Any:
            if isinstance(value, int | float) and not isinstance(value, bool):
                return value
            raise TypeError(f"{type(value).__name__} {value!r:.40}, the schema says double")

        return check_float
    if pa.types.is_boolean(type_):

        def check_bool(value: Any) -> Any:
            if isinstance(value, bool):
                return value
            raise TypeError(f"{type(value).__name__} {value!r:.40}, the schema says bool")

        return check_bool
    if pa.types.is_list(type_):
        item = _checker(type_.value_type)

        def check_list(value: Any) -> Any:
            if not isinstance(value, list | tuple):
                raise TypeError(f"{type(value).__name__} {value!r:.40}, the schema says {type_}")
            return [None if v is None else item(v) for v in value]

        return check_list
    raise ValueError(f"meta type {type_} is not supported (string, int64, double, bool, list)")


# --- the sources' schemas (what each source's stages write into meta) -----------------------

#: A web page's WET/WARC record (formats/wet.py WetRecord.to_meta).
_CRAWL_RECORD = (
    f("url", STRING),
    f("date_download", STRING),
    f("digest", STRING),
    f("length", INT),
    f("nlines", INT),
    f("source_domain", STRING),
    f("title", STRING),
    f("cc_segment", STRING),
    f("cc_identified_language", STRING, optional=True),  # newer dumps only
)

SOURCE_SCHEMAS: dict[str, MetaSchema] = {
    "commoncrawl": MetaSchema(
        "commoncrawl",
        _CRAWL_RECORD
        + (
            # sources/commoncrawl/documents.py FilteredPage.meta, stages.py
            f("original_nlines", INT),
            f("original_length", INT),
            f("line_ids", pa.list_(INT)),
            f("language", STRING),
            f("language_score", FLOAT),
            # absent on a page whose language has no LM (the scoring stage keeps every page)
            f("perplexity", FLOAT, optional=True),
            f("bucket", STRING, optional=True),
            f("ref_score", FLOAT, optional=True),  # classifier.py, when the classifier runs
        ),
    ),
    "c4": MetaSchema(
        "c4",
        (
            f("url", STRING),
            f("timestamp", STRING),
            # C4 rebuilt from WET (sources/c4_from_wet.py) also keeps these
            f("digest", STRING, optional=True),
            f("cc_segment", STRING, optional=True),
            f("language", STRING, optional=True),
            f("language_score", FLOAT, optional=True),
            # the unrounded LID score the decision stage cuts on (filters/c4.py)
            f("language_score_exact", FLOAT, optional=True),
        ),
    ),
    "github": MetaSchema(
        "github",
        (
            f("repo", STRING),
            f("path", STRING),
            f("license", STRING),
            f("language", STRING),  # the programming language (text/code_filters.py)
            f("content_hash", STRING),
            f("header_stripped", BOOL),
            # text/code_filters.py CodeStats.as_meta
            f("lines", INT),
            f("max_line_length", INT),
            f("mean_line_length", FLOAT),
            f("alnum_fraction", FLOAT),
            f("alpha_per_token", FLOAT),
            # the unrounded scores the decision stage cuts on (filters/code.py EXACT_SCORES)
            f("mean_line_length_exact", FLOAT),
            f("alnum_fraction_exact", FLOAT),
            f("alpha_per_token_exact", FLOAT),
            # formats/github.py: the input row's provenance when it has it
            f("commit", STRING, optional=True),
            f("blob_sha", STRING, optional=True),
            f("size", INT, optional=True),
        ),
    ),
    "wikipedia": MetaSchema(
        "wikipedia",
        (f("language", STRING), f("title", STRING), f("page_id", INT), f("url", STRING)),
    ),
    "books": MetaSchema(
        "books",
        (
            f("title", STRING),
            f("input", STRING),
            f("ebook_number", INT),
            f("release_year", INT),
            f("words", INT),
        ),
    ),
    "arxiv": MetaSchema(
        "arxiv",
        (
            f("paper_id", STRING),
            f("origin", STRING),
            f("main_file", STRING),
            f("tex_files", INT),
            f("macros", INT),
        ),
    ),
    "stackexchange": MetaSchema(
        "stackexchange",
        (
            f("site", STRING),
            f("question_id", INT),
            f("url", STRING),
            f("score", INT),
            f("answer_scores", pa.list_(INT)),
            f("tags", pa.list_(STRING)),
            f("created", STRING),
            f("license", STRING, optional=True),  # only questions that carry one
        ),
    ),
}

#: Stages whose meta is not their source's schema (none today: every stage of a source writes a
#: subset of its source's keys). An entry here is checked before the source's schema.
STAGE_SCHEMAS: dict[str, MetaSchema] = {}


def stage_meta_schema(stage: str) -> MetaSchema:
    """The meta schema of the documents ``stage`` writes (see the module docstring)."""
    if stage in STAGE_SCHEMAS:
        return STAGE_SCHEMAS[stage].named(stage)
    parts = stage.split("/")
    source = None
    if len(parts) >= 2 and parts[0] == "ingest":
        source = parts[1]
    elif len(parts) == 3 and parts[:2] == ["tokens", "sources"]:
        source = parts[2]
    if source in SOURCE_SCHEMAS:
        return SOURCE_SCHEMAS[source].named(stage)
    raise MetaSchemaError(
        f"stage {stage} writes documents but llamapipe/formats/meta_schemas.py declares no meta "
        "schema for it (add its source to SOURCE_SCHEMAS or the stage to STAGE_SCHEMAS)"
    )


def union_meta_schema(
    schemas: Iterable[MetaSchema] | None = None, name: str = "all sources"
) -> MetaSchema:
    """One struct for documents of several sources: every key of every schema, all optional.

    A key declared with two different types is a ValueError: one column cannot hold both.
    """
    types: dict[str, pa.DataType] = {}
    owner: dict[str, str] = {}
    for schema in SOURCE_SCHEMAS.values() if schemas is None else schemas:
        for spec in schema.fields:
            if spec.name in types and types[spec.name] != spec.type:
                raise ValueError(
                    f"meta key {spec.name!r} is {types[spec.name]} in {owner[spec.name]} and "
                    f"{spec.type} in {schema.name}: one struct cannot hold both"
                )
            types.setdefault(spec.name, spec.type)
            owner.setdefault(spec.name, schema.name)
    return MetaSchema(name, tuple(MetaField(k, t, optional=True) for k, t in types.items()))


def optional_keys(struct: pa.StructType) -> tuple[str, ...]:
    """The keys of a stored meta struct whose nulls mean "no key" (from the file itself)."""
    return tuple(
        struct.field(i).name
        for i in range(struct.num_fields)
        if (struct.field(i).metadata or {}).get(OPTIONAL_KEY) == b"1"
    )
