"""Typed stage configs fingerprint exactly like the plain dicts they replace."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from llamapipe.engine import FinalizeContext, StageConfig, config_dict
from llamapipe.engine.fingerprint import digest
from llamapipe.engine.stage_config import added_key


@dataclass(frozen=True)
class _Lm(StageConfig):
    keep_buckets: tuple[str, ...] = ("head", "middle")


@dataclass(frozen=True)
class _Filtered(StageConfig):
    inputs: tuple[str, ...] = ()
    min_length: int = 300
    lm: _Lm = field(default_factory=_Lm)


def test_dataclass_digest_equals_the_old_dict_digest() -> None:
    typed = _Filtered(inputs=("a.wet.gz",), min_length=300)
    old = {"inputs": ["a.wet.gz"], "min_length": 300, "lm": {"keep_buckets": ["head", "middle"]}}
    assert config_dict(typed) == old
    assert digest(config_dict(typed)) == digest(old)


def test_finalize_output_is_atomic(tmp_path: Path) -> None:
    from llamapipe.engine import Counters

    ctx = FinalizeContext("s", tmp_path, tmp_path, {}, 0, False, [], Counters())
    try:
        with ctx.output("refs/a.jsonl") as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    except RuntimeError:
        pass
    assert not (tmp_path / "refs" / "a.jsonl").exists()
    assert list((tmp_path / "refs").iterdir()) == []
    with ctx.output("refs/a.jsonl") as tmp:
        tmp.write_text("whole")
    assert (tmp_path / "refs" / "a.jsonl").read_text() == "whole"


@dataclass(frozen=True)
class _WithAddedKey(StageConfig):
    min_length: int = 300
    write_removed: bool = added_key()


def test_an_added_key_at_its_default_keeps_the_old_digest() -> None:
    assert config_dict(_WithAddedKey()) == {"min_length": 300}
    assert config_dict(_WithAddedKey(write_removed=True)) == {
        "min_length": 300,
        "write_removed": True,
    }
