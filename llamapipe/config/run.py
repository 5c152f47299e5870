"""Run-wide sections: where the run lives and where its shards execute."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field, field_validator

from llamapipe.config.base import StrictModel


class RunConfig(StrictModel):
    #: Name of the run; the default run directory is runs/<name> (next to pipeline.toml).
    name: str = "demo"
    #: Run directory, relative to pipeline.toml's folder unless absolute; default runs/<name>.
    dir: str | None = None
    #: One seed for every random choice of every stage (sampling, shuffles, init).
    seed: int = 1234

    @field_validator("name")
    @classmethod
    def _one_folder_name(cls, value: str) -> str:
        # The name becomes a folder under runs/: a path in it would escape that folder.
        if not value or value in (".", "..") or "/" in value or "\\" in value:
            raise ValueError("must be a plain folder name (no '/', not '.' or '..')")
        return value

    def default_dir(self) -> str:
        """run.dir, or runs/<name> when it is unset (relative to pipeline.toml's folder)."""
        return self.dir if self.dir else f"runs/{self.name}"


class SlurmConfig(StrictModel):
    """Slurm job-array settings (submitit); each shard is one array task."""

    #: submitit cluster: None detects Slurm; "local" runs the same job array on this machine.
    cluster: str | None = None
    #: Slurm partition (None: the cluster's default).
    partition: str | None = None
    #: Wall-clock limit of one array task, minutes.
    timeout_min: int = Field(60, ge=1)
    #: CPUs of one array task.
    cpus_per_task: int = Field(1, ge=1)
    #: Memory of one array task, GB.
    mem_gb: int = Field(4, ge=1)
    #: Array tasks running at once.
    array_parallelism: int = Field(64, ge=1)
    #: Where submitit writes job logs and pickles; default <run dir>/slurm.
    folder: str | None = None


class ExecutorConfig(StrictModel):
    #: Where shards run: in this process, a local process pool, Ray, or a Slurm job array.
    kind: Literal["inprocess", "pool", "ray", "slurm"] = "pool"
    #: Parallel workers (pool processes, Ray CPUs); default: the number of CPUs.
    workers: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1), ge=1)
    #: A failing shard is retried this many times before it is reported.
    retries: int = Field(2, ge=0)
    #: Stop at the first corrupt record instead of counting and skipping it.
    strict: bool = False
    #: Ray cluster address ("auto", "ray://host:10001"); None starts a local Ray.
    ray_address: str | None = None
    slurm: SlurmConfig = SlurmConfig()
