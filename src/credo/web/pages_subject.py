"""A signed-in subject's own report as a page: score, grade, reasons, dimensions, every record that counts,
the forecast and the history of the score as charts, lists and measures, decisions given about it, and who
looked (docs/web.md). The same service and audit entry as ``GET /v1/me/report``, and the score's history
(``history.read``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from credo.api.context import ContextDep
from credo.domain.disputes import repair_problem
from credo.domain.rulebook import Rulebook, text_in, title_in
from credo.errors import NoActiveRulebookError, NotFoundError
from credo.services import subjects
from credo.web import charts
from credo.web import session as sessions
from credo.web.plain import bands
from credo.web.render import language_of, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/me", response_class=HTMLResponse)
async def my_report(request: Request, ctx: ContextDep) -> Response:
    """The report of the signed-in subject (anyone else: the sign-in page)."""
    found = await sessions.current_as(request, ctx, "subject")
    if found is None:
        return sessions.to_signin()
    who = found.principal
    try:
        own = await ctx.run_read(lambda uow: subjects.own_report(uow, who.name, who.kind), in_thread=True)
    except NotFoundError:
        return render(request, "me_nothing.html")
    except NoActiveRulebookError:  # records are held, but no rulebook is in force to score them today
        return render(request, "me_nothing.html", no_rules=True)
    book, report = own.rulebook, own.report
    code = language_of(request).code
    labels = {r.category: r.label_in(code) for r in book.rules}
    titles = {x.id: title_in(x, code) for x in book.lists} | {x.id: title_in(x, code) for x in book.measures}
    meaning = {b.grade: b for b in bands(book)}
    basis = {x.id: text_in(x, "legal_basis", code) for x in book.lists} | {
        x.id: text_in(x, "legal_basis", code) for x in book.measures
    }
    changes = {h["subject_kind"]: h["changes"] for h in own.history["subjects"]}
    drawn = [_drawn(r, changes.get(r["subject_kind"], []), book) for r in report["subjects"]]
    return render(
        request,
        "me.html",
        report=report,
        labels=labels,
        titles=titles,
        bands=meaning,
        basis=basis,
        drawn=drawn,
        history=changes,
        repairable=_repairable(report, book),
    )


def _drawn(report: dict[str, Any], changes: list[dict[str, Any]], book: Rulebook) -> dict[str, Any]:
    """The forecast and the history of one report as step charts (None where there is nothing to draw)."""
    today = dt.date.fromisoformat(report["as_of"])
    grades = [(b.grade, b.low) for b in bands(book)]
    bounds = (book.score.min, book.score.max)
    forecast = None
    if report["score"] is not None and report["forecast"]:
        ahead = [(today, report["score"])] + [(dt.date.fromisoformat(f["on"]), f["score"]) for f in report["forecast"]]
        forecast = charts.steps(ahead, grades, bounds)
    past = [(dt.date.fromisoformat(c["on"]), c["score"]) for c in changes]
    if not past or past[-1][0] < today:
        past.append((today, report["score"]))
    history = charts.steps(past, grades, bounds) if any(v is not None for _, v in past) else None
    return {"forecast": forecast, "history": history}


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
