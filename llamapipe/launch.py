"""The `llamapipe` console script: the worker pool's forkserver first, then the CLI.

Only this module and llamapipe/pool_start.py (standard library only) are imported before the
forkserver starts, so that it imports numpy, pyarrow and the engine while this process imports
the CLI (llamapipe/pool_start.py says why).
"""

from __future__ import annotations

import sys


def main() -> None:
    from llamapipe.pool_start import start_early_for_argv

    start_early_for_argv(sys.argv[1:])
    from llamapipe.cli import main as cli_main

    cli_main()
