"""The published lists: which lists there are, a list's entries public today, and a search by identifier.

A search is the API's public lookup (:func:`credo.services.lists.look_up`): the same statements for any
identifier, so the page tells nothing beyond the list (ADR 0008), and the identifier is shown masked.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from credo.api.context import ContextDep
from credo.domain.identifiers import mask_identifier
from credo.errors import NotFoundError
from credo.services import lists
from credo.services.identify import valid_kinds
from credo.web.pages_public import in_force
from credo.web.render import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

PAGE = 25  # entries per page
MAX_IDENTIFIER = 64


@router.get("/lists", response_class=HTMLResponse)
async def all_lists(request: Request, ctx: ContextDep) -> HTMLResponse:
    """The lists of the rulebook in force, each with how one enters it and whether its entries are public."""
    return render(request, "lists.html", in_force=await in_force(ctx))


@router.get("/lists/{list_id}", response_class=HTMLResponse)
async def one_list(
    request: Request,
    ctx: ContextDep,
    list_id: str,
    subject: Annotated[str | None, Query(max_length=200)] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> HTMLResponse:
    """A list's public entries, page by page; with ``subject``, whether that identifier is on it."""
    found = await in_force(ctx)
    entry = None if found is None else next((x for x in found.book.lists if x.id == list_id), None)
    if entry is None:
        return render(request, "not_found.html", status_code=404)
    values: dict[str, Any] = {"entry": entry, "subject": subject or "", "error": None, "answer": None}
    if subject is not None:
        typed = subject.strip()
        values["error"] = _problem(typed)
        if values["error"] is None:
            answer = await ctx.run_read(lambda uow: lists.look_up(uow, list_id, typed), transaction=False)
            values["answer"] = {**answer, "masked": mask_identifier(typed)}
    if values["answer"] is None and values["error"] is None:
        try:
            values["page"] = await ctx.run_read(lambda uow: lists.browse(uow, list_id, offset, PAGE), transaction=False)
        except NotFoundError:  # the rulebook changed in between
            return render(request, "not_found.html", status_code=404)
    status = 400 if values["error"] else 200
    return render(request, "list.html", status_code=status, **values)


def _problem(typed: str) -> str | None:
    """What is wrong with a searched identifier (a key the template words), or None."""
    if not typed:
        return "empty"
    if len(typed) > MAX_IDENTIFIER or not valid_kinds(typed):
        return "invalid"
    return None
