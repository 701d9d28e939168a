"""The reviewers' desk: the queue by deadline, "take the next one", a case page, and deciding it.

The same use cases as the API's ``/v1/disputes`` routes (:mod:`credo.services.disputes`: every case shown is
an audit entry for its subject), and a decision is checked by the API's own body model and then by the
store's rules, so the page refuses exactly what the API refuses, in GOV.UK's error summary (docs/web.md).
No identifier of the subject is shown: a case names its record (source and record number) only.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from credo.api.context import ApiContext, ContextDep
from credo.api.routes_disputes import QUEUE_PAGE, DecisionIn
from credo.errors import ConflictError, NoActiveRulebookError, NotFoundError, StoreError
from credo.services import disputes
from credo.services.actor import Actor
from credo.services.signin import Session
from credo.services.unit_of_work import UnitOfWork
from credo.web import session as sessions
from credo.web.render import language_of, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

CORRECTED = ("amount", "occurred_on", "resolved_on")  # what a correction may change (credo.store.disputes)
# The store's refusals of a decision (credo.domain.disputes.decision_problem), as (field, problem) the page words.
_REFUSALS = {
    "the outcome of a": ("outcome", "outcome"),
    "a decision needs its reasons": ("reasons", "empty"),
    "a correction goes with the outcome corrected": ("amount", "mismatch"),
    "a correction changes amount": ("amount", "mismatch"),
}


async def _posting(request: Request, ctx: ApiContext) -> tuple[Session, Any] | None:
    """The signed-in reviewer and the posted form, or None when the post must be refused (CSRF, origin, role)."""
    found = await sessions.current_as(request, ctx, "reviewer")
    form = await request.form()
    posted = form.get(sessions.CSRF_FIELD)
    if found is None or sessions.forgery(request, found, posted if isinstance(posted, str) else None):
        return None
    return found, form


def _left(deadline: str, today: dt.date) -> int:
    """Days from today to the deadline (negative: overdue)."""
    return (dt.date.fromisoformat(deadline) - today).days


@router.get("/review", response_class=HTMLResponse)
async def queue(request: Request, ctx: ContextDep) -> Response:
    """Open disputes and repair applications, the nearest deadline first, with the time left."""
    found = await sessions.current_as(request, ctx, "reviewer")
    if found is None:
        return sessions.to_signin()
    reviewer = Actor("reviewer", found.principal.name)

    def read(uow: UnitOfWork) -> tuple[list[dict[str, Any]], dt.date]:
        return disputes.review_queue(uow, reviewer, limit=QUEUE_PAGE), uow.today

    items, today = await ctx.run_read(read)
    for item in items:
        item["left"] = _left(item["deadline"], today)
    return render(request, "review_queue.html", items=items, csrf=found.csrf, page=QUEUE_PAGE)


@router.post("/review/next", response_class=HTMLResponse)
async def take_next(request: Request, ctx: ContextDep) -> Response:
    """Open the case with the nearest deadline (the queue's first); an empty queue goes back to the queue."""
    posting = await _posting(request, ctx)
    if posting is None:
        return render(request, "forbidden.html", status_code=403)
    reviewer = Actor("reviewer", posting[0].principal.name)
    first = await ctx.run_read(lambda uow: disputes.review_queue(uow, reviewer, limit=1))
    return RedirectResponse(f"/review/{first[0]['dispute_id']}" if first else "/review", status_code=303)


async def _case(
    request: Request, ctx: ApiContext, found: Session, dispute_id: str, template: str, **values: Any
) -> Response:
    reviewer = Actor("reviewer", found.principal.name)
    code = language_of(request).code

    def read(uow: UnitOfWork) -> tuple[dict[str, Any], dt.date, dict[str, str]]:
        """The case, today, and the names the rules in force give each category (none in force: none)."""
        case = disputes.for_review(uow, reviewer, dispute_id)
        try:
            labels = {r.category: r.label_in(code) for r in uow.rulebook().rules}
        except NoActiveRulebookError:
            labels = {}
        return case, uow.today, labels

    try:
        case, today, labels = await ctx.run_read(read)
    except NotFoundError:
        return render(request, "not_found.html", status_code=404)
    case["left"] = _left(case["deadline"], today)
    values["labels"] = labels
    errors = values.pop("errors", [])
    status = 422 if errors else 200
    return render(
        request, template, status_code=status, case=case, csrf=found.csrf, errors=errors, error=bool(errors), **values
    )


async def _shown(request: Request, ctx: ApiContext, dispute_id: str, template: str) -> Response:
    """A case page for the signed-in reviewer (anyone else: the sign-in page)."""
    found = await sessions.current_as(request, ctx, "reviewer")
    if found is None:
        return sessions.to_signin()
    if len(dispute_id) > 36:
        return render(request, "not_found.html", status_code=404)
    return await _case(request, ctx, found, dispute_id, template, answers={})


@router.get("/review/{dispute_id}", response_class=HTMLResponse)
async def case_page(request: Request, ctx: ContextDep, dispute_id: str) -> Response:
    """One case: the record, the subject's statement, its timeline, and (open) the decision form."""
    return await _shown(request, ctx, dispute_id, "review_case.html")


def _answers(form: Any) -> dict[str, str]:
    names = ("outcome", "reasons", *CORRECTED)
    return {name: value if isinstance(value := form.get(name), str) else "" for name in names}


def _body_errors(answers: dict[str, str]) -> tuple[DecisionIn | None, list[tuple[str, str]]]:
    """The decision as the API's body model reads it, or what it refuses as (field, problem)."""
    correction = {name: answers[name] for name in CORRECTED if answers[name].strip()}
    body: dict[str, Any] = {"outcome": answers["outcome"] or None, "reasons": answers["reasons"]}
    if correction:
        body["correction"] = {name: value.strip() for name, value in correction.items()}
    try:
        return DecisionIn.model_validate(body), []
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][-1]) if error["loc"] else "outcome"
            kind = {"string_too_long": "long", "control_character": "control"}.get(error["type"], "empty")
            problems.append((field, kind if field == "reasons" else "invalid"))
        return None, problems


@router.post("/review/{dispute_id}", response_class=HTMLResponse)
async def decide(request: Request, ctx: ContextDep, dispute_id: str) -> Response:
    """Decide the case: the API's checks, its errors in the summary; done, the decision's confirmation."""
    posting = await _posting(request, ctx)
    if posting is None:
        return render(request, "forbidden.html", status_code=403)
    if len(dispute_id) > 36:
        return render(request, "not_found.html", status_code=404)
    found, form = posting
    answers = _answers(form)
    body, errors = _body_errors(answers)
    if body is None:
        return await _case(request, ctx, found, dispute_id, "review_case.html", answers=answers, errors=errors)
    reviewer = Actor("reviewer", found.principal.name)
    correction = None if body.correction is None else body.correction.model_dump(exclude_unset=True)
    decision = disputes.Decision(body.outcome, body.reasons, correction)
    try:
        await ctx.run_write(lambda uow: disputes.decide(uow, reviewer, dispute_id, decision))
    except NotFoundError:
        return render(request, "not_found.html", status_code=404)
    except ConflictError:
        return await _case(request, ctx, found, dispute_id, "review_case.html", answers=answers,
                           errors=[("", "conflict")])  # fmt: skip
    except StoreError as exc:
        text = str(exc)
        field = next((name for name in CORRECTED if text.startswith(name)), "amount")  # typed_problem's words
        refused = next((v for k, v in _REFUSALS.items() if text.startswith(k)), (field, "record"))
        return await _case(request, ctx, found, dispute_id, "review_case.html", answers=answers, errors=[refused],
                           refusal=text)  # fmt: skip
    return RedirectResponse(f"/review/{dispute_id}/decided", status_code=303)


@router.get("/review/{dispute_id}/decided", response_class=HTMLResponse)
async def decided(request: Request, ctx: ContextDep, dispute_id: str) -> Response:
    """The decision's confirmation, and the way to the next case."""
    return await _shown(request, ctx, dispute_id, "review_decided.html")
