"""Every registered engine, for the contract suite (as Ibis runs one suite over every backend).

A new engine (Spark) is a class in ``credo/engines/`` and one line in :data:`ENGINES`; the tests that take
the ``engine`` parameter then run on it. A known gap is written on the test that meets it
(:func:`every_engine` with ``notimpl``): the test is then an ``xfail(strict=True)`` that must fail with
:class:`credo.engines.Unsupported` (or the error the command turns it into), never a silent skip. A gap that
was closed makes the test pass, so the strict xfail fails until the declaration is removed.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from credo import engines

# Every registered engine, in registration order: tests/test_engine_contract.py checks it against the registry.
ENGINES = ("duckdb", "python")


def every_engine(
    *, notimpl: Mapping[str, engines.Gap] | None = None, raises: type[Exception] = engines.Unsupported
) -> list[object]:
    """``pytest.param`` per engine; those in ``notimpl`` (engine -> the gap it declares) xfail strictly."""
    gaps = dict(notimpl or {})
    params = []
    for name in ENGINES:
        marks = []
        if name in gaps:
            reason = f"declared gap of the {name} engine: {gaps[name].value}"
            marks.append(pytest.mark.xfail(strict=True, raises=raises, reason=reason))
        params.append(pytest.param(name, marks=marks, id=name))
    return params
