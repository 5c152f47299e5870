"""Run untrusted generated Python (HumanEval completions + their tests) in a contained process.

What contains what (honestly; this is a harness for model outputs, not a hardened jail):

- **a separate process** in its own session / process group; at the wall-clock limit the whole
  group is killed (SIGKILL), and again after a normal exit so no child outlives the run;
- **CPU time** ``RLIMIT_CPU``, **memory** ``RLIMIT_AS``, **file size** ``RLIMIT_FSIZE``, no core
  files, few file descriptors, and **processes** ``RLIMIT_NPROC`` (the user's current count plus a
  small margin; the kernel ignores it for root, so as root the child is switched to the
  ``nobody`` user first);
- **no network**: a fresh, empty network namespace (``unshare --net``, no interface but a down
  loopback) where the kernel allows it, probed once; in every case a Python audit hook in the
  child refuses to create sockets;
- **files**: the child runs in a new temporary directory (removed afterwards); the audit hook
  refuses opening for writing, removing, renaming, chmod etc. of any path outside it, and
  refuses fork/exec/spawn/subprocess, ``os.kill`` and loading native code with ctypes. The hook
  is in-process: code that reaches raw syscalls some other way is stopped only by the OS limits
  above (and, as ``nobody``, by file permissions);
- **no environment**: an empty ``env``, Python in isolated mode (``-I``: no PYTHON* variables,
  no user site, the script's folder not on sys.path).

A run passes only if the process exits 0 *and* printed the per-run random token that follows
the tests, so an early ``sys.exit(0)`` in a completion does not count as passing.
"""

from __future__ import annotations

import functools
import os
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

NOBODY = 65534
#: Processes the child may add to those its user already has (the guard refuses forks anyway).
PROCESS_MARGIN = 16

# Runs in the child before the program: the audit hook of the module docstring.
_GUARD = r"""
import os, sys
_root = os.path.realpath(os.getcwd())
_deny_always = {
    "os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.exec", "os.system",
    "os.kill", "os.killpg", "subprocess.Popen", "ctypes.dlopen", "ctypes.dlsym",
    "ctypes.cdata", "os.setuid", "os.setgid", "os.chroot", "pty.spawn", "os.startfile",
}
_path_events = {
    "os.remove": (0,), "os.rename": (0, 1), "os.rmdir": (0,), "os.mkdir": (0,),
    "os.chmod": (0,), "os.chown": (0,), "os.symlink": (0, 1), "os.link": (0, 1),
    "os.truncate": (0,), "os.utime": (0,), "shutil.rmtree": (0,), "shutil.copyfile": (1,),
    "shutil.copytree": (1,), "shutil.move": (1,), "os.chdir": (0,),
}
_write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _inside(path):
    if isinstance(path, int):
        return True
    try:
        real = os.path.realpath(os.fsdecode(path))
    except (TypeError, ValueError):
        return False
    return real == _root or real.startswith(_root + os.sep)


def _hook(event, args):
    if event in _deny_always or event.startswith("socket."):
        raise PermissionError(f"sandbox: {event} is not allowed")
    if event == "open":
        path, mode, flags = args
        writing = (mode is not None and any(c in str(mode) for c in "wax+")) or (
            flags is not None and flags & _write_flags
        )
        if writing and path is not None and not _inside(path):
            raise PermissionError(f"sandbox: writing {path!r} outside the work folder")
    elif event in _path_events:
        for index in _path_events[event]:
            if index < len(args) and not _inside(args[index]):
                raise PermissionError(f"sandbox: {event} on {args[index]!r}")


sys.addaudithook(_hook)
with open(sys.argv[1], encoding="utf-8") as _handle:
    _code = compile(_handle.read(), "program.py", "exec")
del _handle
exec(_code, {"__name__": "__main__", "__builtins__": __builtins__})
"""


@dataclass(frozen=True)
class SandboxLimits:
    wall_s: float = 10.0
    cpu_s: int = 5
    memory_bytes: int = 1 << 30
    file_bytes: int = 1 << 20
    open_files: int = 64


@dataclass(frozen=True)
class SandboxResult:
    passed: bool
    #: passed | failed | timeout | error (the sandbox itself could not start the program)
    status: str
    returncode: int | None
    stderr_tail: str


def _processes_of(uid: int) -> int:
    """Tasks (threads count: RLIMIT_NPROC counts them) the user runs now."""
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry.name}/task"))
            except OSError:
                continue
    return count


def _limit_child(limits: SandboxLimits, nproc: int) -> None:
    """preexec_fn (after the user switch, which Popen does itself): only setrlimit calls."""
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))


def _user_options(limits: SandboxLimits, switch_user: bool) -> dict:
    """Popen arguments for the child's user and limits. As root the child runs as nobody (the
    kernel does not apply RLIMIT_NPROC to root); the process limit counts that user's processes
    now, plus a margin."""
    if switch_user:
        uid, switch = NOBODY, {"user": NOBODY, "group": NOBODY, "extra_groups": []}
    else:
        uid, switch = os.getuid(), {}
    nproc = _processes_of(uid) + PROCESS_MARGIN
    return {**switch, "preexec_fn": functools.partial(_limit_child, limits, nproc)}


@dataclass(frozen=True)
class Launcher:
    """How children start here: command prefix (network namespace), interpreter, user switch."""

    prefix: tuple[str, ...]
    interpreter: str
    switch_user: bool

    def describe(self) -> str:
        network = "empty network namespace" if self.prefix else "no network namespace"
        user = "as nobody" if self.switch_user else f"as uid {os.getuid()}"
        return f"{network}, {user}, {self.interpreter}"


def _interpreters() -> list[str]:
    """Pythons to try: this one's base (the programs need only the standard library), this one,
    the system's (reachable by ``nobody`` when ours lives in a private home)."""
    found = [getattr(sys, "_base_executable", None), sys.executable, "/usr/bin/python3"]
    paths = [os.path.realpath(p) for p in found if p and os.path.exists(p)]
    return list(dict.fromkeys(paths))


@functools.cache
def launcher() -> Launcher:
    """The most contained way to start a child that works on this machine, probed once.

    Tries, for each interpreter, an unprivileged user + network namespace, a network namespace,
    then none; as root, each with the switch to ``nobody`` first, then (last resort) without.
    """
    unshare = shutil.which("unshare") or shutil.which("unshare", path="/usr/bin:/bin")
    prefixes: list[tuple[str, ...]] = []
    if unshare is not None:
        prefixes += [(unshare, "--map-root-user", "--net"), (unshare, "--net")]
    prefixes.append(())
    switches = [True, False] if os.geteuid() == 0 else [False]
    for switch_user in switches:
        for interpreter in _interpreters():
            for prefix in prefixes:
                try:
                    probe = subprocess.run(
                        [*prefix, interpreter, "-I", "-c", "pass"],
                        env={},
                        cwd="/",
                        capture_output=True,
                        timeout=10,
                        **_user_options(SandboxLimits(), switch_user),
                    )
                except (OSError, subprocess.SubprocessError):
                    continue
                if probe.returncode == 0:
                    return Launcher(prefix, interpreter, switch_user)
    return Launcher((), os.path.realpath(sys.executable), False)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_program(
    program: str, limits: SandboxLimits | None = None, *, guard: bool = True
) -> SandboxResult:
    """Run ``program`` (Python source) contained; passed iff it exits 0 after its last line.

    ``guard=False`` leaves out the audit hook, so that tests can check what the OS-level limits
    contain on their own; evaluation always runs with it.
    """
    limits = limits or SandboxLimits()
    token = secrets.token_hex(16)
    source = f"{program}\n\nprint({token!r})\n"
    how = launcher()
    drop = how.switch_user
    with (
        tempfile.TemporaryDirectory(prefix="llamapipe-sandbox-") as work,
        tempfile.TemporaryDirectory(prefix="llamapipe-sandbox-io-") as io_dir,
    ):
        work_path, io_path = Path(work), Path(io_dir)
        (work_path / "program.py").write_text(source, encoding="utf-8")
        (io_path / "guard.py").write_text(_GUARD, encoding="utf-8")
        if drop:
            for path in (work_path, work_path / "program.py"):
                os.chown(path, NOBODY, NOBODY)
            os.chmod(io_path, 0o755)
            os.chmod(io_path / "guard.py", 0o644)
        entry = [str(io_path / "guard.py")] if guard else []
        command = [*how.prefix, how.interpreter, "-I", *entry, str(work_path / "program.py")]
        with open(io_path / "stdout", "wb") as out, open(io_path / "stderr", "wb") as err:
            try:
                process = subprocess.Popen(
                    command,
                    cwd=work_path,
                    env={},
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    start_new_session=True,
                    **_user_options(limits, drop),
                )
            except OSError as exc:
                return SandboxResult(False, "error", None, str(exc))
            timed_out = False
            try:
                process.wait(timeout=limits.wall_s)
            except subprocess.TimeoutExpired:
                timed_out = True
            _kill_group(process.pid)
            process.wait()
        stdout = (io_path / "stdout").read_bytes()[-4096:].decode("utf-8", "replace")
        stderr = (io_path / "stderr").read_bytes()[-2048:].decode("utf-8", "replace")
    if timed_out:
        return SandboxResult(False, "timeout", None, stderr)
    passed = process.returncode == 0 and stdout.rstrip().endswith(token)
    return SandboxResult(passed, "passed" if passed else "failed", process.returncode, stderr)
