"""pipeline.toml -> a typed, validated PipelineConfig.

Every mistake a user can make in the file is one line naming the key or path, and exit code 2:
an unknown key (typos must not be silently ignored), a wrong type, an input path that does not
exist. Relative paths are relative to the folder of pipeline.toml, so a run can be started from
anywhere: every path-typed key is made absolute once, here (llamapipe/config/paths.py).
"""

from __future__ import annotations

import glob
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError, create_model

from llamapipe.config.base import StrictModel
from llamapipe.config.eval import EvalConfig
from llamapipe.config.mix import MixConfig
from llamapipe.config.paths import is_remote, resolve_config_paths
from llamapipe.config.removed import write_removed_for
from llamapipe.config.run import ExecutorConfig, RunConfig, SlurmConfig
from llamapipe.config.tokenizer import TokenizerConfig
from llamapipe.config.train import TrainConfig
from llamapipe.errors import ConfigError, StorageError
from llamapipe.io.refs import check_scheme, scheme_of
from llamapipe.overrides import apply_overrides, parse_override
from llamapipe.sources import SOURCE_ORDER, SOURCES


class _SourcesSection(StrictModel):
    """``[sources]``: one sub-section per source of the registry (llamapipe/sources/__init__.py),
    so adding a source adds its section without an edit here."""

    #: Write the documents every filtering stage removes to <stage>/removed/*.parquet (filter,
    #: reason, score), for every source; a source's own `write_removed` wins over this.
    write_removed: bool = False

    def enabled(self) -> list[str]:
        """Names of the enabled sources that have inputs, in the registry's build order."""
        return [
            name
            for name in SOURCE_ORDER
            if getattr(self, name).enabled and getattr(self, name).inputs
        ]


def _sources_config() -> type[_SourcesSection]:
    fields: dict[str, Any] = {}
    for name, source in SOURCES.items():
        model = source.config_class()
        fields[name] = (model, model())
    return create_model("SourcesConfig", __base__=_SourcesSection, __module__=__name__, **fields)


SourcesConfig = _sources_config()


class PipelineConfig(StrictModel):
    run: RunConfig = RunConfig()
    executor: ExecutorConfig = ExecutorConfig()
    sources: SourcesConfig = SourcesConfig()
    mix: MixConfig = MixConfig()
    tokenizer: TokenizerConfig = TokenizerConfig()
    train: TrainConfig = TrainConfig()
    eval: EvalConfig = EvalConfig()

    #: Folder of the pipeline.toml this config came from (relative paths resolve against it).
    base_dir: str = "."

    @property
    def run_dir(self) -> Path:
        """run.dir (absolute once loaded), else runs/<run.name> next to pipeline.toml."""
        path = Path(self.run.default_dir())
        return path if path.is_absolute() else Path(self.base_dir) / path

    def executor_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of engine.run_stage / run_stages for this config's executor."""
        ex = self.executor
        options: dict[str, Any] = {}
        if ex.kind == "ray":
            options["ray_address"] = ex.ray_address
        if ex.kind == "slurm":
            options["slurm"] = ex.slurm.model_dump()
        return {
            "executor": ex.kind,
            "workers": ex.workers,
            "retries": ex.retries,
            "strict": ex.strict,
            "seed": self.run.seed,
            "executor_options": options,
        }


def _format_validation_error(source: str, exc: ValidationError) -> str:
    err = exc.errors()[0]
    key = ".".join(str(p) for p in err["loc"])
    if err["type"] == "extra_forbidden":
        return f"{source}: unknown key '{key}'"
    if err["type"] == "missing":
        return f"{source}: missing key '{key}'"
    value = err.get("input")
    shown = f" (got {value!r})" if not isinstance(value, dict) else ""
    more = f" (and {len(exc.errors()) - 1} more errors)" if len(exc.errors()) > 1 else ""
    return f"{source}: {key}: {err['msg']}{shown}{more}"


def _check_inputs(cfg: PipelineConfig, source: str) -> None:
    """A missing local input (already made absolute) of an enabled source is an error."""
    for name in type(cfg.sources).model_fields:
        section = getattr(cfg.sources, name)
        if not isinstance(section, StrictModel) or not section.enabled:
            continue
        for ref in section.inputs:
            if is_remote(ref):
                if scheme_of(ref) is not None:
                    try:
                        check_scheme(ref)
                    except StorageError as exc:
                        raise ConfigError(f"{source}: sources.{name}.inputs: {exc}") from None
                continue
            if glob.has_magic(ref):
                if not glob.glob(ref, recursive=True):
                    raise ConfigError(f"{source}: sources.{name}.inputs: no file matches {ref!r}")
            elif not Path(ref).exists():
                raise ConfigError(
                    f"{source}: sources.{name}.inputs: no such file or directory: {ref!r}"
                )


def config_from_dict(
    data: dict[str, Any], base_dir: Path, source: str = "pipeline.toml", check_inputs: bool = True
) -> PipelineConfig:
    data = dict(data)
    data["base_dir"] = str(base_dir.resolve())
    try:
        cfg = PipelineConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(source, exc)) from None
    cfg.run.dir = cfg.run.default_dir()
    resolve_config_paths(cfg, cfg.base_dir)
    if check_inputs:
        _check_inputs(cfg, source)
    return cfg


def load_config(
    path: str | Path, overrides: list[str] | None = None, check_inputs: bool = True
) -> PipelineConfig:
    """Read, override (`--set`) and validate pipeline.toml."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found (create one with `llamapipe init DIR`)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    apply_overrides(data, overrides or [])
    return config_from_dict(data, path.parent, str(path), check_inputs)


__all__ = [
    "ConfigError",
    "ExecutorConfig",
    "PipelineConfig",
    "RunConfig",
    "SlurmConfig",
    "SourcesConfig",
    "apply_overrides",
    "parse_override",
    "config_from_dict",
    "load_config",
    "write_removed_for",
]
