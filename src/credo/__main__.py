"""``python -m credo``: the same command as ``credo``."""

from credo.cli.app import main

main()
