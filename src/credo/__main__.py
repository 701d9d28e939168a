"""``python -m credo``: the same command as ``credo``."""

from credo.cli.app import main

if __name__ == "__main__":  # not when a worker process imports this module again (multiprocessing's spawn)
    main()
