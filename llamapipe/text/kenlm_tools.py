"""Finding and running KenLM's command-line tools (`lmplz`, `build_binary`).

The PyPI `kenlm` package only queries models; estimating a 5-gram model needs the C++ tools,
built by `bash tools/build_kenlm.sh` into tools/bin/. This module is the one place that knows
where to look, so every caller gets the same clear error when they are missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
ENV_VAR = "LLAMAPIPE_KENLM_BIN"
BUILD_HINT = "run `bash tools/build_kenlm.sh` (or `make kenlm`)"


class KenLMToolMissing(FileNotFoundError):
    """A KenLM command-line tool is not installed where llamapipe looks for it."""


def find_kenlm_binary(name: str) -> Path:
    """Path of KenLM tool `name`: $LLAMAPIPE_KENLM_BIN, then <repo>/tools/bin, then PATH."""
    candidates: list[Path] = []
    env_dir = os.environ.get(ENV_VAR)
    if env_dir:
        candidates.append(Path(env_dir) / name)
    candidates.append(REPO_ROOT / "tools" / "bin" / name)
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    on_path = shutil.which(name)
    if on_path:
        return Path(on_path)
    raise KenLMToolMissing(
        f"KenLM tool '{name}' not found in ${ENV_VAR}, {REPO_ROOT / 'tools' / 'bin'} or PATH: "
        f"{BUILD_HINT}"
    )


def train_arpa(
    sentences: Iterable[str],
    arpa_path: Path,
    order: int = 5,
    memory: str = "20%",
    tmp_dir: Path | None = None,
) -> Path:
    """Estimate an ARPA n-gram model with `lmplz -o <order> --discount_fallback`.

    `sentences` (one per line, already normalized and tokenized) are streamed to lmplz's stdin,
    so the corpus never needs to fit in memory. --discount_fallback is CCNet's setting: small
    corpora otherwise abort on unestimable Kneser-Ney discounts.
    """
    lmplz = find_kenlm_binary("lmplz")
    arpa_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_dir or arpa_path.parent
    cmd = [
        str(lmplz),
        "-o",
        str(order),
        "--discount_fallback",
        "-S",
        memory,
        "-T",
        str(tmp),
        "--arpa",
        str(arpa_path),
    ]
    with subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    ) as proc:
        assert proc.stdin is not None and proc.stderr is not None
        try:
            for sentence in sentences:
                proc.stdin.write(sentence.encode("utf-8"))
                proc.stdin.write(b"\n")
        except BrokenPipeError:
            pass
        finally:
            proc.stdin.close()
        stderr = proc.stderr.read().decode("utf-8", "replace")
        code = proc.wait()
    if code != 0:
        raise RuntimeError(f"lmplz failed ({code}) writing {arpa_path}: {stderr.strip()[-800:]}")
    return arpa_path


def build_binary(arpa_path: Path, binary_path: Path) -> Path:
    """Convert an ARPA file to KenLM's binary format (fast mmap loading)."""
    tool = find_kenlm_binary("build_binary")
    result = subprocess.run(
        [str(tool), str(arpa_path), str(binary_path)], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"build_binary failed ({result.returncode}) on {arpa_path}: "
            f"{result.stderr.strip()[-800:]}"
        )
    return binary_path
