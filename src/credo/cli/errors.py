"""The one place the command line turns errors into one line on standard error (ADR 0019).

Commands let a :class:`~credo.errors.CredoError` go: :class:`OneLineErrors`,
the class of the ``credo`` group, prints it as ``error: MESSAGE`` and exits 1.
Click's usage errors (a value an option does not take, an unknown command or
option, a missing argument) are one line too, naming the option, and exit 2,
instead of Typer's boxed usage panel: a script's log keeps the reason on the
line it greps. ``--help``, and a group run without a command, still print help.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# Typer 0.29 carries its own copy of Click (typer._click): its exceptions, not the click package's, are raised.
from typer._click.core import Context
from typer._click.exceptions import BadParameter, ClickException, MissingParameter, NoArgsIsHelpError, UsageError
from typer.core import TyperGroup

from credo.cli.console import fail
from credo.errors import CredoError

__all__ = ["OneLineErrors", "one_line_errors", "usage_line"]


class OneLineErrors(TyperGroup):
    """The ``credo`` group: parsing (``make_context``) and running (``invoke``) each go through :func:`one_line_errors`.

    A subcommand's options are parsed inside the group's ``invoke``, so both
    together cover every option and every command.
    """

    def make_context(
        self, info_name: str | None, args: list[str], parent: Context | None = None, **extra: Any
    ) -> Context:
        with one_line_errors():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: Context) -> Any:
        with one_line_errors():
            return super().invoke(ctx)


@contextmanager
def one_line_errors() -> Iterator[None]:
    """A :class:`CredoError` as ``error: ...`` and exit 1; a usage error as one line and exit 2."""
    try:
        yield
    except NoArgsIsHelpError:  # ``credo rulebook``: the group's help, as before
        raise
    except UsageError as exc:
        fail(usage_line(exc), exc.exit_code)
    except ClickException as exc:
        fail(_one_line(exc.format_message()), exc.exit_code)
    except CredoError as exc:  # messages never hold identifiers (credo.errors)
        fail(str(exc))


def usage_line(exc: UsageError) -> str:
    """The option and what it takes (``--limit: 'x' is not a valid integer``), or the mistake and where help is."""
    if isinstance(exc, BadParameter) and not isinstance(exc, MissingParameter):
        return f"{_named(exc)}: {_one_line(exc.message)}"
    command = exc.ctx.command_path if exc.ctx is not None else "credo"
    return f"{_one_line(exc.format_message())}; see '{command} --help'"


def _named(exc: BadParameter) -> str:
    """How the option or argument is written on the command line: ``--as-of``, ``-n / --limit``, ``SUBJECT_ID``."""
    if exc.param_hint is not None:
        return exc.param_hint if isinstance(exc.param_hint, str) else " / ".join(exc.param_hint)
    if exc.param is None:
        return "a value"
    return " / ".join(exc.param.opts) if exc.param.param_type_name == "option" else exc.param.display_name_raw


def _one_line(text: str) -> str:
    """Click's message on one line, without its full stop, starting in lower case as Credo's messages do."""
    line = " ".join(part.strip() for part in text.splitlines() if part.strip()).removesuffix(".")
    return line[:1].lower() + line[1:]
