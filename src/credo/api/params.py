"""Parameters every route shares a rule on: no control characters or lone surrogates in a path or query.

Installed once on the application (``FastAPI(dependencies=...)``), so a new
route cannot forget it. Records refuse the same characters
(:func:`credo.domain.records.has_control`); a parameter holding one is a 422
problem before any route reads it, on every backend (PostgreSQL refuses NUL
in text and would otherwise answer 500).
"""

from __future__ import annotations

from fastapi import Request

from credo.api.problems import Problem
from credo.domain.records import has_control

__all__ = ["plain_parameters"]


async def plain_parameters(request: Request) -> None:
    """Refuse a path or query parameter (name or value) holding a control character or a lone surrogate."""
    given = [("path", name, value) for name, value in request.path_params.items()]
    given += [("query", name, value) for name, value in request.query_params.multi_items()]
    for where, name, value in given:
        if has_control(name) or (isinstance(value, str) and has_control(value)):
            shown = name if not has_control(name) else "?"
            raise Problem(
                "invalid-request", f"the {where} parameter {shown} holds a control character or a lone surrogate"
            )
