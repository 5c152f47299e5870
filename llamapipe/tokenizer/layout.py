"""Where the tokenizer and token artifacts live in a run directory (one place for every path).

```
<run>/tokens/index/<source>/NNNNN.npz        per-document keys of each ingest shard (split, dedup)
<run>/tokens/index/splits/<source>.npz       each source's split: held-out threshold, duplicates
<run>/tokenizer/tokenizer.model, .vocab      the SentencePiece model
<run>/tokens/sources/<source>/train/NNNNN.{bin,idx}   a source's training documents, encoded
<run>/tokens/sources/<source>/train_ids/NNNNN.parquet their ids and token counts, row-aligned
<run>/tokens/sources/<source>/valid/NNNNN.{bin,idx}   its held-out documents, encoded
<run>/tokens/valid/<source>/NNNNN.{bin,idx}           held-out tokens per source (for eval)
<run>/tokens/valid/<source>/documents/NNNNN.parquet   the held-out documents themselves
<run>/tokens/train/NNNNN.{bin,idx}           the blended, shuffled training stream
<run>/tokens/train/provenance/NNNNN.npz      per training document: source, source doc, tokens
<run>/tokens/manifest.json                   vocab, special ids, dtype, per-source counts/shares
```
"""

from __future__ import annotations

from pathlib import Path

INDEX_STAGE = "tokens/index"
TOKENIZER_STAGE = "tokenizer"
VALID_STAGE = "tokens/valid"
TRAIN_STAGE = "tokens/train"
TOKENS_MANIFEST = "tokens/manifest.json"
TOKENIZER_MODEL = "tokenizer.model"


def source_stage(source: str) -> str:
    """The per-source encode stage."""
    return f"tokens/sources/{source}"


def ingest_stage(source: str) -> str:
    return f"ingest/{source}"


def ingest_shards(run_dir: Path, source: str) -> list[Path]:
    """The final document shards of a source, in name order."""
    return sorted((run_dir / ingest_stage(source) / "shards").glob("*.parquet"))


def index_path(run_dir: Path, source: str, position: int) -> Path:
    return run_dir / INDEX_STAGE / source / f"{position:05d}.npz"


def tokenizer_model_path(run_dir: Path) -> Path:
    return run_dir / TOKENIZER_STAGE / TOKENIZER_MODEL


def source_train_prefixes(run_dir: Path, source: str) -> list[Path]:
    folder = run_dir / source_stage(source) / "train"
    return sorted(p.with_suffix("") for p in folder.glob("*.idx"))


def source_valid_prefixes(run_dir: Path, source: str) -> list[Path]:
    folder = run_dir / source_stage(source) / "valid"
    return sorted(p.with_suffix("") for p in folder.glob("*.idx"))


def train_prefixes(run_dir: Path) -> list[Path]:
    """The blended training shards, in order (what the trainer reads)."""
    return sorted(p.with_suffix("") for p in (run_dir / TRAIN_STAGE).glob("*.idx"))


def valid_prefixes(run_dir: Path, source: str) -> list[Path]:
    """A source's held-out token shards, in order (what held-out perplexity reads)."""
    return sorted(p.with_suffix("") for p in (run_dir / VALID_STAGE / source).glob("*.idx"))
