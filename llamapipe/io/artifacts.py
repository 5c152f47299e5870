"""Checks that a file a stage wrote is complete before the stage marks it done.

Python's own writes raise on a full disk, but data can still be lost after `close()` (delayed
allocation reports ENOSPC only at fsync), and C++ writers do not always raise: fastText's
`save_model` stops writing on a full disk and returns normally. So every output is fsynced and
re-opened by its format (a Parquet footer, a NumPy header against the file size, a zip
directory, JSON, SentencePiece and KenLM models), and fastText models are compared with the
exact size their format implies.
A failed check is an error naming the file; no marker is written, so the next run redoes it.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

from llamapipe.errors import DiskFullError, IntegrityError
from llamapipe.io.diskfull import disk_full_error, is_disk_full


def fsync_file(path: Path) -> None:
    """Flush a written file to the device; a late ENOSPC/EIO surfaces here."""
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        if is_disk_full(exc):
            raise disk_full_error(path, exc) from exc
        raise


def check_readable(path: Path) -> None:
    """Re-open `path` by its format; IntegrityError when it is truncated or corrupt."""
    name = path.name.lower()
    try:
        if name.endswith(".parquet"):
            import pyarrow.parquet as pq

            pq.read_metadata(path)
        elif name.endswith(".npy"):
            import numpy as np

            np.load(path, mmap_mode="r", allow_pickle=False)
        elif name.endswith(".npz"):
            with zipfile.ZipFile(path) as archive:
                archive.namelist()
        elif name.endswith(".json"):
            with open(path, encoding="utf-8") as handle:
                json.load(handle)
        elif name.endswith(".model"):  # SentencePiece (the only .model files written here)
            import sentencepiece as spm

            spm.SentencePieceProcessor(model_file=str(path))
        elif name.endswith(".arpa.bin"):  # KenLM binary: its loader checks the size it declares
            import kenlm

            kenlm.Model(str(path))
    except (OSError, ValueError, EOFError, RuntimeError, zipfile.BadZipFile) as exc:
        raise IntegrityError(
            f"{path}: written file is truncated or corrupt ({type(exc).__name__}: {exc}); "
            "it is not marked done and will be rebuilt"
        ) from exc


def verify_written(path: Path) -> None:
    """fsync, then re-open: the check run on every stage output before its marker."""
    fsync_file(path)
    check_readable(path)


def fasttext_file_size(model: Any) -> int:
    """The exact size of fastText's .bin for a (non-quantized) model, from its format:
    magic+version, 12 ints and a double of arguments, the dictionary header and entries
    (word, NUL, int64 count, int8 type), then the input and output matrices with their int64
    shapes, each preceded by a bool."""
    args = model.f.getArgs()
    words, labels = model.get_words(), model.get_labels()
    entries = sum(len(w.encode("utf-8")) + 1 + 8 + 1 for w in (*words, *labels))
    input_rows = len(words) + args.bucket
    output_rows, output_cols = model.get_output_matrix().shape
    return (
        8 + 12 * 4 + 8 + (3 * 4 + 2 * 8) + entries
        + 1 + 16 + 4 * input_rows * args.dim
        + 1 + 16 + 4 * output_rows * output_cols
    )  # fmt: skip


def save_fasttext_model(model: Any, path: Path) -> None:
    """`model.save_model(path)`, then fsync and a size check: a short file (full disk) is an
    error naming the path instead of a model that silently scores everything alike."""
    path = Path(path)
    model.save_model(str(path))
    fsync_file(path)
    expected = fasttext_file_size(model)
    actual = path.stat().st_size if path.exists() else 0
    if actual < expected:
        raise DiskFullError(
            f"{path}: fastText wrote only {actual} of {expected} bytes (disk full?); "
            "free space and re-run (the model is rebuilt)"
        )
    if actual != expected:
        raise IntegrityError(f"{path}: fastText model is {actual} bytes, expected {expected}")
