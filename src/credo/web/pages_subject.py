"""A signed-in subject's own report as a page: score, grade, reasons, every record that counts, lists and
measures, and who looked (docs/web.md). The same service and audit entry as ``GET /v1/me/report``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from credo.api.context import ContextDep
from credo.domain.disputes import repair_problem
from credo.domain.rulebook import Rulebook
from credo.errors import NotFoundError
from credo.services import identify, subjects
from credo.services.unit_of_work import UnitOfWork
from credo.web import session as sessions
from credo.web.plain import bands
from credo.web.render import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/me", response_class=HTMLResponse)
async def my_report(request: Request, ctx: ContextDep) -> Response:
    """The report of the signed-in subject (anyone else: the sign-in page)."""
    found = await sessions.current(request, ctx)
    if found is None or found.principal.role != "subject":
        return RedirectResponse("/signin", status_code=303)
    who = found.principal

    def read(uow: UnitOfWork) -> tuple[dict[str, Any], Rulebook]:
        """The report, and the rulebook it was made under (its titles and bands), in one unit of work."""
        return subjects.reports(uow, identify.own_subjects(uow, who.name, who.kind), who.name), uow.rulebook()

    try:
        report, book = await ctx.run_read(read, in_thread=True)
    except NotFoundError:
        return render(request, "me_nothing.html")
    labels = {r.category: r.label for r in book.rules}
    titles = {x.id: x.title for x in book.lists} | {x.id: x.title for x in book.measures}
    meaning = {b.grade: b for b in bands(book)}
    return render(
        request,
        "me.html",
        report=report,
        labels=labels,
        titles=titles,
        bands=meaning,
        repairable=_repairable(report, book),
    )


def _repairable(report: dict[str, Any], book: Rulebook) -> set[tuple[str, str]]:
    """The counting records whose early repair may be asked for today (credo.domain.disputes.repair_problem)."""
    today = dt.date.fromisoformat(report["as_of"])
    found = set()
    for r in report["subjects"]:
        for c in r["contributions"]:
            resolved = None if c["resolved_on"] is None else dt.date.fromisoformat(c["resolved_on"])
            rule = book.rule_for(c["category"], r["subject_kind"])
            if c["counting"] and repair_problem(rule, c["category"], "active", resolved, today) is None:
                found.add((c["source"], c["record_id"]))
    return found
