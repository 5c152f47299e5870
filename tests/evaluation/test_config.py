"""The [eval] section: sizes, defaults and one-line errors through the real config loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from llamapipe.config import load_config
from llamapipe.config.eval import ExportConfig, parse_size
from llamapipe.errors import ConfigError
from llamapipe.evaluation.runner import checkpoint_label


def test_parse_size_units():
    assert parse_size("5GB") == 5 * 10**9
    assert parse_size("512MiB") == 512 * 2**20
    assert parse_size("1000") == 1000
    assert ExportConfig(max_shard_size="2KiB").max_shard_bytes == 2048
    with pytest.raises(ValueError, match="expected a number"):
        parse_size("lots")


def test_eval_section_from_toml(tmp_path: Path):
    toml = tmp_path / "pipeline.toml"
    toml.write_text(
        '[eval]\nbatch_size = 4\n\n[[eval.tasks]]\nname = "piqa"\npath = "tasks/piqa.jsonl"\n'
        'few_shot = 3\n\n[eval.export]\ndtype = "bfloat16"\nmax_shard_size = "2GB"\n'
    )
    cfg = load_config(toml, check_inputs=False)
    assert cfg.eval.batch_size == 4
    assert cfg.eval.tasks[0].few_shot == 3 and cfg.eval.tasks[0].delimiter is None
    assert cfg.eval.export.max_shard_bytes == 2 * 10**9
    assert cfg.eval.generate.temperature == 0.8


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[eval]\nbatchsize = 4\n", "eval.batchsize"),
        ('[eval.export]\ndtype = "int4"\n', "eval.export.dtype"),
        ('[[eval.tasks]]\nname = "x"\npath = "y"\nfew_shot = -1\n', "few_shot"),
    ],
)
def test_eval_section_errors_name_the_key(tmp_path: Path, body: str, message: str):
    toml = tmp_path / "pipeline.toml"
    toml.write_text(body)
    with pytest.raises(ConfigError, match=message):
        load_config(toml, check_inputs=False)


def test_checkpoint_label():
    assert checkpoint_label(Path("run/train/demo/checkpoints/step_000200")) == "demo-step_000200"
    assert checkpoint_label(Path("/x/imported/llama-hf")) == "llama-hf"
