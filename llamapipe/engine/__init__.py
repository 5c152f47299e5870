"""The stage engine: shards, markers, manifests, fingerprints, executors, progress.

See README.md "Architecture" and "The run directory" for the rules this package implements.
"""

from llamapipe.engine.executors import EXECUTOR_KINDS, make_executor
from llamapipe.engine.runner import StageResult, run_stage, run_stages, stage_status
from llamapipe.engine.spec import (
    Counters,
    FinalizeContext,
    ShardContext,
    ShardSpec,
    StageSpec,
)
from llamapipe.engine.stage_config import StageConfig, config_dict
from llamapipe.engine.state import StageStatus

__all__ = [
    "EXECUTOR_KINDS",
    "Counters",
    "FinalizeContext",
    "ShardContext",
    "ShardSpec",
    "StageResult",
    "StageConfig",
    "StageSpec",
    "StageStatus",
    "config_dict",
    "make_executor",
    "run_stage",
    "run_stages",
    "stage_status",
]
