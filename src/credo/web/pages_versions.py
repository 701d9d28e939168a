"""The rulebook's versions: every published version with the days it came into force, and what changed between two.

Public, like the rulebook itself: parse → one service call → render.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from credo.api.context import ContextDep
from credo.services import rulebooks
from credo.web.render import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

Version = Annotated[str | None, Query(max_length=100)]


@router.get("/rulebook/versions", response_class=HTMLResponse)
async def versions(request: Request, ctx: ContextDep, old: Version = None, new: Version = None) -> HTMLResponse:
    """Every published version, newest first; with ``old`` and ``new``, what changed from one to the other."""
    found = list(reversed(await ctx.run_read(rulebooks.versions)))
    names = [v.version for v in found]
    error, changes = None, None
    if old is not None or new is not None:
        if old is None or new is None or old not in names or new not in names:
            error = "unknown"
        elif old == new:
            error = "same"
        else:
            before, after = old, new
            changes = await ctx.run_read(lambda uow: rulebooks.changes(uow, before, after))
    old = old if old in names else (names[1] if len(names) > 1 else None)
    new = new if new in names else (names[0] if names else None)
    status = 400 if error else 200
    return render(
        request, "versions.html", status_code=status, versions=found, old=old, new=new, error=error, changes=changes
    )
