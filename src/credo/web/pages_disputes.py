"""A signed-in subject disputes a record or applies for its early repair, one question a page, and follows it.

The guided form keeps its answers between steps in hidden fields posted forward (no JavaScript, no draft
stored, nothing personal in a URL): the statement page posts to the check-your-answers page, which posts the
filing; a Change button posts the answers back to the statement page. Filing is the API's own use case
(``POST /v1/me/disputes`` and ``/v1/me/repairs``: :func:`credo.services.disputes.file`), checked by the
API's own body model, so a page refuses and audits exactly what the API does (docs/web.md).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from credo.api.context import ApiContext, ContextDep
from credo.api.routes_disputes import DisputeIn
from credo.errors import ConflictError, NotFoundError, StoreError
from credo.services import disputes, identify, rulebooks
from credo.services.signin import Session
from credo.services.unit_of_work import UnitOfWork
from credo.web import session as sessions
from credo.web.render import render

__all__ = ["MAX_STATEMENT", "router"]

router = APIRouter(include_in_schema=False)

MAX_STATEMENT = 4000  # characters, as the API's DisputeIn allows
Kind = Literal["dispute", "repair"]
_STATEMENT_PROBLEMS = {"string_too_long": "long", "control_character": "control"}
_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})$")


def _kind(value: object) -> Kind:
    return "repair" if value == "repair" else "dispute"


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


async def _posted(request: Request, ctx: ApiContext) -> tuple[Session, dict[str, Any]] | None:
    """The signed-in subject and the form's answers, or None when the post must be refused (not a subject,
    another origin, no session token)."""
    found = await sessions.current_as(request, ctx, "subject")
    form = await request.form()
    if found is None or sessions.forgery(request, found, _text(form, sessions.CSRF_FIELD) or None):
        return None
    answers = {
        "kind": _kind(form.get("kind")),
        "source": _text(form, "source"),
        "record": _text(form, "record"),
        "statement": _text(form, "statement"),
        "change": form.get("change") is not None,
    }
    return found, answers


def _statement_errors(answers: dict[str, Any]) -> list[tuple[str, str]]:
    """What the API's body model refuses, as (field, what is wrong); the statement is the only field asked."""
    try:
        DisputeIn(source=answers["source"], record_id=answers["record"], statement=answers["statement"])
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            if field == "statement":
                problems.append(("statement", _STATEMENT_PROBLEMS.get(error["type"], "empty")))
            else:
                problems.append(("record", "record"))
        return problems
    if not answers["statement"].strip():  # the store's own check (credo.store.disputes.open_dispute)
        return [("statement", "empty")]
    return []


async def _rules(ctx: ApiContext) -> rulebooks.InForce | None:
    try:
        return await ctx.run_read(rulebooks.in_force_book)
    except StoreError:
        return None


async def _statement_page(
    request: Request, ctx: ContextDep, found: Session, answers: dict[str, Any], errors: list[tuple[str, str]]
) -> HTMLResponse:
    return render(
        request, "dispute_statement.html", status_code=422 if errors else 200, answers=answers, errors=errors,
        error=bool(errors), csrf=found.csrf, in_force=await _rules(ctx), limit=MAX_STATEMENT,
    )  # fmt: skip


@router.get("/me/disputes/new", response_class=HTMLResponse)
async def start(request: Request, ctx: ContextDep, source: str = "", record: str = "", kind: str = "") -> Response:
    """The first question: what is wrong with the record (a dispute), or why repair it early (a repair)."""
    found = await sessions.current_as(request, ctx, "subject")
    if found is None:
        return sessions.to_signin()
    if not source or not record or len(source) > 100 or len(record) > 200:
        return render(request, "not_found.html", status_code=404)
    answers = {"kind": _kind(kind), "source": source, "record": record, "statement": ""}
    return await _statement_page(request, ctx, found, answers, [])


@router.post("/me/disputes/new", response_class=HTMLResponse)
async def answered(request: Request, ctx: ContextDep) -> Response:
    """The statement is posted: checked as the API checks it, then the answers to check (or Change: asked again)."""
    posted = await _posted(request, ctx)
    if posted is None:
        return render(request, "forbidden.html", status_code=403)
    found, answers = posted
    if answers["change"]:
        return await _statement_page(request, ctx, found, answers, [])
    errors = _statement_errors(answers)
    if errors:
        return await _statement_page(request, ctx, found, answers, errors)
    return render(request, "dispute_check.html", answers=answers, csrf=found.csrf, problem=None)


def _problem(exc: StoreError) -> tuple[str, str | None]:
    """What the filing refused, as a code the page words (and the day from which repair may be asked)."""
    text = str(exc)
    if isinstance(exc, NotFoundError):
        return "not-yours", None
    if isinstance(exc, ConflictError):
        return "already-open", None
    if text.startswith("the rulebook in force allows no early repair"):
        return "no-repair", None
    if text.startswith("only a resolved record"):
        return "not-resolved", None
    day = _DATE.search(text)
    if text.startswith("early repair of this record can be asked for from") and day is not None:
        return "too-early", day.group(1)
    return "other", None


@router.post("/me/disputes", response_class=HTMLResponse)
async def submit(request: Request, ctx: ContextDep) -> Response:
    """File the dispute or the application (the API's use case and audit entry), then its confirmation."""
    posted = await _posted(request, ctx)
    if posted is None:
        return render(request, "forbidden.html", status_code=403)
    found, answers = posted
    errors = _statement_errors(answers)
    if errors:
        return await _statement_page(request, ctx, found, answers, errors)
    who = found.principal
    filing = disputes.Filing(answers["source"], answers["record"], answers["statement"])
    kind = answers["kind"]

    def file(uow: UnitOfWork) -> dict[str, Any]:
        return disputes.file(uow, kind, identify.own_subjects(uow, who.name, who.kind)[0][0], filing)

    try:
        filed = await ctx.run_write(file)
    except StoreError as exc:
        problem, day = _problem(exc)
        return render(
            request, "dispute_check.html", status_code=422, answers=answers, csrf=found.csrf, problem=problem, day=day,
            error=True,
        )  # fmt: skip
    return RedirectResponse(f"/me/disputes/{filed['dispute_id']}/filed", status_code=303)


async def _mine(request: Request, ctx: ApiContext, found: Session) -> list[dict[str, Any]]:
    who = found.principal
    try:
        return await ctx.run_read(
            lambda uow: disputes.of_subject(uow, identify.own_subjects(uow, who.name, who.kind)[0][0])
        )
    except NotFoundError:
        return []


@router.get("/me/disputes", response_class=HTMLResponse)
async def mine(request: Request, ctx: ContextDep) -> Response:
    """The subject's disputes and repair applications, newest first: state, deadline, outcome and reasons."""
    found = await sessions.current_as(request, ctx, "subject")
    if found is None:
        return sessions.to_signin()
    return render(request, "disputes.html", items=await _mine(request, ctx, found))


async def _one(request: Request, ctx: ContextDep, dispute_id: str, template: str) -> Response:
    found = await sessions.current_as(request, ctx, "subject")
    if found is None:
        return sessions.to_signin()
    item = None if len(dispute_id) > 36 else next(
        (d for d in await _mine(request, ctx, found) if d["dispute_id"] == dispute_id), None
    )  # fmt: skip
    if item is None:  # another subject's is not found, as an unknown one
        return render(request, "not_found.html", status_code=404)
    return render(request, template, item=item)


@router.get("/me/disputes/{dispute_id}/filed", response_class=HTMLResponse)
async def filed(request: Request, ctx: ContextDep, dispute_id: str) -> Response:
    """The confirmation: the reference, the deadline, and what happens to the record meanwhile."""
    return await _one(request, ctx, dispute_id, "dispute_filed.html")


@router.get("/me/disputes/{dispute_id}", response_class=HTMLResponse)
async def one(request: Request, ctx: ContextDep, dispute_id: str) -> Response:
    """One dispute or application in full: what was filed, its state, and the decision with its reasons."""
    return await _one(request, ctx, dispute_id, "dispute.html")
