"""Date and amount options: the parsers of records (:func:`credo.domain.records.parse_date`, ``parse_amount``).

``--as-of 2026-6-30`` and ``--as-of 2026-02-30`` are refused as the same
values are refused in a record, in the same words: a :class:`~credo.errors.BadValueError`,
which the command line prints as one line on standard error (exit 1, :mod:`credo.cli.errors`),
not a usage box. (Not a ``ValueError``: Click would turn that into a usage error.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from credo.domain.records import parse_amount, parse_date
from credo.errors import BadValueError

__all__ = ["DATE_METAVAR", "amount_parser", "date_parser"]

DATE_METAVAR = "YYYY-MM-DD"


def date_parser(option: str) -> Callable[[Any], dt.date]:
    """A Typer ``parser`` for the option named ``option`` (``--as-of``)."""

    def parse(value: Any) -> dt.date:
        if isinstance(value, dt.datetime):  # a default given as a datetime
            return value.date()
        if isinstance(value, dt.date):
            return value
        day = parse_date(option, str(value))
        if isinstance(day, str):
            raise BadValueError(day)
        return day

    return parse


def amount_parser(option: str) -> Callable[[Any], float]:
    """A Typer ``parser`` for an amount option: decimal text as in a record, at most 10^15."""

    def parse(value: Any) -> float:
        if isinstance(value, int | float):
            return float(value)
        amount = parse_amount(option, str(value))
        if isinstance(amount, str):
            raise BadValueError(amount)
        return amount

    return parse
