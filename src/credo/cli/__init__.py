"""The ``credo`` command: thin Typer commands over Credo's services."""
