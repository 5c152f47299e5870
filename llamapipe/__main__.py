"""Entry point for ``python -m llamapipe``."""

from llamapipe.cli import main

if __name__ == "__main__":
    main()
