"""The service counter of a relying party: a clerk asks whether one of the party's measures applies to the
person or organisation in front of them, and sees the answer as ``GET /v1/decisions/{measure}`` gives it.

The decision is made by the same service as the API's (:func:`credo.services.decisions.decide`): the same
answer, kept the same way, with the same audit entry. The identifier is posted, never put in a URL, and the
answer shows it masked. The answer is shown in the post's response: a reload asks again (the browser warns),
and no page shows a decision by its id, so nothing personal is read without being asked.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from credo.api.context import ContextDep
from credo.domain.identifiers import mask_identifier
from credo.domain.rulebook import title_in
from credo.errors import ConflictError, ForbiddenError, NotFoundError
from credo.services import decisions
from credo.services.identify import valid_kinds
from credo.services.signin import Session
from credo.web import session as sessions
from credo.web.render import language_of, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

MAX_IDENTIFIER = 64
KINDS = ("person", "organization")


@router.get("/counter", response_class=HTMLResponse)
async def counter(request: Request, ctx: ContextDep) -> Response:
    """The question: which identifier, which of the party's measures."""
    found = await sessions.current_as(request, ctx, "relying")
    if found is None:
        return sessions.to_signin()
    return await _form(request, ctx, found, {}, {})


@router.post("/counter", response_class=HTMLResponse)
async def ask(request: Request, ctx: ContextDep) -> Response:
    """Ask: the answer, or the form again with what to fix."""
    found = await sessions.current_as(request, ctx, "relying")
    form = await request.form()
    posted = {k: v.strip() if isinstance(v, str) else "" for k, v in form.items()}
    if sessions.forgery(request, found, posted.get(sessions.CSRF_FIELD)):
        return render(request, "forbidden.html", status_code=403)
    if found is None:
        return sessions.to_signin()
    party_id = found.principal.name
    try:
        _, measures = await ctx.run_read(lambda uow: decisions.registered_measures(uow, party_id))
    except ForbiddenError:
        return render(request, "counter_refused.html", status_code=403)
    subject, measure, kind = posted.get("subject", ""), posted.get("measure", ""), posted.get("kind") or None
    errors = _problems(subject, measure, kind, {m.id for m in measures})
    if errors:
        return await _form(request, ctx, found, posted, errors)
    question = decisions.Question(party_id, measure, subject, kind)
    try:
        decision = await decisions.decide(ctx, question)
    except ConflictError:  # the identifier names a stored person and a stored organisation
        return await _form(request, ctx, found, posted, {"kind": "both"})
    except NotFoundError:  # the rulebook changed in between
        return await _form(request, ctx, found, posted, {"measure": "missing"})
    except ForbiddenError:
        return render(request, "counter_refused.html", status_code=403)
    ctx.metrics.decisions.labels(decision.measure, str(decision.applies).lower()).inc()
    title = next(
        (title_in(m, language_of(request).code) for m in measures if m.id == decision.measure), decision.measure
    )
    return render(
        request, "counter_answer.html", answer=decision.answer(), title=title, masked=mask_identifier(subject)
    )


async def _form(
    request: Request, ctx: ContextDep, found: Session, posted: dict[str, str], errors: dict[str, str]
) -> Response:
    party_id = found.principal.name
    try:
        party, measures = await ctx.run_read(lambda uow: decisions.registered_measures(uow, party_id))
    except ForbiddenError:
        return render(request, "counter_refused.html", status_code=403)
    values: dict[str, Any] = {
        "party": party,
        "measures": measures,
        "csrf": found.csrf,
        "errors": errors,
        "error": bool(errors),
        "subject": posted.get("subject", "") if errors else "",
        "chosen": posted.get("measure", ""),
        "kind": posted.get("kind", ""),
        "ask_kind": "kind" in errors or bool(posted.get("kind")),
    }
    return render(request, "counter.html", status_code=400 if errors else 200, **values)


def _problems(subject: str, measure: str, kind: str | None, registered: set[str]) -> dict[str, str]:
    """What is wrong with the question (field: a key the template words); empty when it can be asked."""
    errors = {}
    if not subject:
        errors["subject"] = "empty"
    elif len(subject) > MAX_IDENTIFIER or not valid_kinds(subject):
        errors["subject"] = "invalid"
    elif kind is not None and (kind not in KINDS or not valid_kinds(subject, kind)):
        errors["kind"] = "invalid"
    if not measure:
        errors["measure"] = "empty"
    elif measure not in registered:
        errors["measure"] = "missing"
    return errors
