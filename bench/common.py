"""What every benchmark shares: where the real data is, and the baselines' own virtualenvs.

Real data: `$LLAMAPIPE_REALDATA`, else `../shared/realdata` next to the repository.
Baselines: each is installed, pinned, into `bench/.venvs/<name>/` (git-ignored) the first time
a benchmark needs it, then checked by running a probe that imports exactly what the benchmark
will import; a baseline that cannot be installed or probed raises `BaselineUnavailable` with
one line saying why, which the benchmark prints before falling back or exiting.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENVS = REPO / "bench" / ".venvs"
REALDATA_ENV = "LLAMAPIPE_REALDATA"


class BaselineUnavailable(RuntimeError):
    """A baseline's venv could not be created, installed or probed (message: one line)."""


def realdata_dir() -> Path:
    """The real data samples' folder ($LLAMAPIPE_REALDATA or ../shared/realdata)."""
    env = os.environ.get(REALDATA_ENV)
    return Path(env) if env else REPO.parent / "shared" / "realdata"


def realdata(bench: str, *relative: str) -> list[Path]:
    """The given files under the real data folder; exits with one line if one is missing."""
    root = realdata_dir()
    paths = [root / rel for rel in relative]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        sys.exit(
            f"{bench}: real data file {missing[0]} not found "
            f"(set ${REALDATA_ENV} to the folder holding the realdata samples)"
        )
    return paths


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "(no output)"


def _python311() -> str:
    found = shutil.which("python3.11")
    if found:
        return found
    if sys.version_info[:2] == (3, 11):
        return sys.executable
    raise BaselineUnavailable("python3.11 not found on PATH (needed for the baselines' venvs)")


def ensure_venv(
    name: str,
    requirements: list[str],
    probe: str,
    log=print,
    then: list[list[str]] | None = None,
) -> Path:
    """The python of `bench/.venvs/<name>` with exactly `requirements` installed and `probe`
    (Python source importing what the benchmark uses) running cleanly; installs when needed.
    `then`: further `pip install` argument lists run in order after the requirements."""
    venv = VENVS / name
    python = venv / "bin" / "python"
    stamp = venv / ".bench-requirements"
    then = then or []
    wanted = "\n".join(requirements + [" ".join(args) for args in then]) + "\n"

    def probe_error() -> str | None:
        if not python.exists():
            return "no venv"
        proc = subprocess.run([str(python), "-c", probe], capture_output=True, text=True)
        return None if proc.returncode == 0 else _last_line(proc.stderr + proc.stdout)

    if stamp.exists() and stamp.read_text() == wanted and probe_error() is None:
        return python
    log(f"installing baseline '{name}' into {venv} ({' '.join(requirements)}) ...")
    try:
        if not python.exists():
            subprocess.run(
                [_python311(), "-m", "venv", str(venv)], check=True, capture_output=True, text=True
            )
        for args in [requirements, *then]:
            subprocess.run(
                [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *args],
                check=True,
                capture_output=True,
                text=True,
                timeout=1200,
            )
    except subprocess.CalledProcessError as exc:
        raise BaselineUnavailable(
            f"baseline '{name}': {' '.join(map(str, exc.cmd[:4]))} failed: "
            f"{_last_line((exc.stderr or '') + (exc.stdout or ''))}"
        ) from None
    except (subprocess.TimeoutExpired, OSError) as exc:
        raise BaselineUnavailable(f"baseline '{name}': install failed: {exc}") from None
    error = probe_error()
    if error is not None:
        raise BaselineUnavailable(f"baseline '{name}' installed but its imports fail: {error}")
    stamp.write_text(wanted)
    return python


def byte_compile(*trees: Path) -> None:
    """Write the .pyc files of these source trees, untimed. With PYTHONDONTWRITEBYTECODE=1 (set
    on this project's machines) Python never caches bytecode for a source checkout, so every
    process of a run (driver, forkserver, each worker) would recompile every module it imports,
    ~0.15-0.3 s each: a start-up cost a normal install pays once. Both sides of a benchmark get
    it (cc_net's source tree too)."""
    import compileall

    for tree in trees:
        # bench/ itself only: not the baselines' venvs below it (pip compiled those)
        shallow = tree.resolve() == (REPO / "bench").resolve()
        compileall.compile_dir(str(tree), maxlevels=0 if shallow else 20, quiet=1)


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]
