"""Entry point for ``python -m llamapipe`` (the same as the `llamapipe` script)."""

from llamapipe.launch import main

if __name__ == "__main__":
    main()
