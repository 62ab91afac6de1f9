"""``python -m mloop``: the same command line as ``mloop``."""

from mloop.cli import main

if __name__ == "__main__":
    main()
