"""The public pages (no sign-in): what this deployment is, its rulebook in plain words, and due process.

Each page is parse → one service call → render, over the same services as the API (docs/web.md).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from credo.api.context import ApiContext, ContextDep
from credo.errors import NoActiveRulebookError
from credo.services import rulebooks
from credo.web.plain import describe
from credo.web.render import render

__all__ = ["in_force", "router"]

router = APIRouter(include_in_schema=False)


async def in_force(ctx: ApiContext) -> rulebooks.InForce | None:
    """The rulebook in force today, or None before any is."""
    try:
        return await ctx.run_read(rulebooks.in_force_book)
    except NoActiveRulebookError:
        return None


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, ctx: ContextDep) -> HTMLResponse:
    """What this deployment is, and where to go."""
    return render(request, "home.html", in_force=await in_force(ctx))


@router.get("/rulebook", response_class=HTMLResponse)
async def rulebook(request: Request, ctx: ContextDep) -> HTMLResponse:
    """The rulebook in force, every rule, list, measure and grade in plain words."""
    found = await in_force(ctx)
    return render(request, "rulebook.html", in_force=found, plain=None if found is None else describe(found.book))


@router.get("/due-process", response_class=HTMLResponse)
async def due_process(request: Request, ctx: ContextDep) -> HTMLResponse:
    """Disputes, repair, consent and retention as this rulebook sets them."""
    found = await in_force(ctx)
    return render(request, "due_process.html", in_force=found)
