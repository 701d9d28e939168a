"""Input every route shares a rule on: no control characters or lone surrogates in a path, a query or a body.

:func:`plain_parameters` is installed once on the application
(``FastAPI(dependencies=...)``), so a new route cannot forget it; request
bodies are models derived from :class:`TextIn`. Records refuse the same
characters (:func:`credo.domain.records.has_control`; pushed records are
checked per record, not here). A parameter or body field holding one is a 422
problem before any route reads it, on every backend (PostgreSQL refuses NUL
in text and would otherwise answer 500). Body text may hold tabs and line
breaks (a dispute's statement is prose); paths and queries may not.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from pydantic import BaseModel, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from credo.api.problems import Problem
from credo.domain.records import has_control

__all__ = ["TextIn", "plain_parameters"]


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


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple | set):
        return [t for v in value for t in _texts(v)]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in (*_texts(k), *_texts(v))]
    return []


class TextIn(BaseModel):
    """The base of every request body: no text field holds a control character (but tab and line breaks)."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any, info: ValidationInfo) -> Any:
        if any(has_control(text, prose=True) for text in _texts(value)):
            raise PydanticCustomError(
                "control_character", f"{info.field_name} holds a control character or a lone surrogate"
            )
        return value
