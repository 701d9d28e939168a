"""Statistics for the public: how many subjects have each grade, are on each list, are under each measure.

Counts only, over the stored states (:func:`credo.services.operations.public_statistics`), drawn as bar
charts on the server with a table of the same numbers. Counting reads every stored state, so the figures
are kept for :data:`FRESH_FOR` seconds: anyone may open the page, as often as they like.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from credo.api.context import ApiContext, ContextDep
from credo.domain.rulebook import title_in
from credo.services import operations
from credo.web.charts import bars
from credo.web.pages_public import in_force
from credo.web.plain import bands
from credo.web.render import language_of, render

__all__ = ["FRESH_FOR", "router"]

router = APIRouter(include_in_schema=False)

FRESH_FOR = 60.0  # seconds the counts are reused


async def _counts(request: Request, ctx: ApiContext) -> dict[str, Any]:
    """The counts, kept in this application's state (one server, one set of counts) for :data:`FRESH_FOR`."""
    kept: tuple[float, dict[str, Any]] | None = getattr(request.app.state, "public_counts", None)
    if kept is not None and time.monotonic() - kept[0] < FRESH_FOR:
        return kept[1]
    counts = await ctx.run_read(operations.public_statistics, in_thread=True)
    request.app.state.public_counts = (time.monotonic(), counts)
    return counts


@router.get("/statistics", response_class=HTMLResponse)
async def statistics(request: Request, ctx: ContextDep) -> HTMLResponse:
    """Grades, lists and measures in force, as charts and tables."""
    found = await in_force(ctx)
    if found is None:
        return render(request, "statistics.html", in_force=None)
    counts, book = await _counts(request, ctx), found.book
    grades = [(band.grade, counts["grades"].get(band.grade, 0)) for band in bands(book)]
    code = language_of(request).code
    lists = [(title_in(entry, code), counts["lists"].get(entry.id, 0)) for entry in book.lists]
    measures = [(title_in(m, code), counts["measures"].get(m.id, 0)) for m in book.measures]
    return render(
        request,
        "statistics.html",
        in_force=found,
        counts=counts,
        charts={
            "grades": (grades, bars(grades)),
            "lists": (lists, bars(lists)),
            "measures": (measures, bars(measures)),
        },
    )
