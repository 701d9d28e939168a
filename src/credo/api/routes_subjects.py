"""A subject's own report (score, reasons, forecast, lists, measures, who asked), notices, and consent."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import replace
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends
from pydantic import StrictBool
from sqlalchemy import Connection

from credo.api.context import ApiContext, role_extra, roles
from credo.api.models import NoticesOut, ReportOut
from credo.api.params import TextIn
from credo.api.problems import Problem
from credo.api.writer import Done
from credo.domain.changes import explanation_without_consent
from credo.domain.consent import ConsentHistory, asks_consent, consent_on, is_scored
from credo.domain.identifiers import problem_with_identifier
from credo.domain.rulebook import Rulebook
from credo.domain.scoring import explain
from credo.store.audit import AuditEntry, entries_about
from credo.store.clock import utc_iso
from credo.store.consent import consent_histories, consent_rows, set_consent
from credo.store.decisions import decisions_about
from credo.store.notices import notices_of
from credo.store.scoring import current_state, load_subject_records, suppressed_records
from credo.store.subjects import ensure_subject
from credo.store.tables import records

router = APIRouter(prefix="/v1", tags=["subjects"])  # the prefix here, so routes know their full path (metrics)


@router.get(
    "/me/report",
    summary="Everything about the caller: score, grade, every record's part, forecast, lists, measures, decisions",
    response_model=ReportOut,
    openapi_extra=role_extra("subject", personal=True),
)
async def report(caller: Annotated[Any, Depends(roles("subject"))]) -> dict[str, Any]:
    ctx = caller.ctx
    today = ctx.today()
    reports = await asyncio.to_thread(
        _reports, ctx, caller.id, caller.kind, today
    )  # scoring and explaining: off the event loop
    await ctx.audit(
        *(AuditEntry("subject", "subject", "report.read", "subject's own report", sid, {}) for sid, _ in reports)
    )
    return {"as_of": today.isoformat(), "subjects": [body for _, body in reports]}


def _reports(ctx: ApiContext, identifier: str, kind: str | None, today: dt.date) -> list[tuple[int, dict[str, Any]]]:
    reports = []
    with ctx.begin() as connection:
        found = ctx.own_subjects(connection, identifier, kind)
        _, book = ctx.book(connection, today)
        ids = [sid for sid, _ in found]
        for sid in ids:
            current_state(connection, sid, today)  # brought up to date, as credo score does
        loaded = load_subject_records(connection, ids)
        hidden = suppressed_records(connection, ids)
        agreed = consent_histories(connection, ids)
        for sid, found_kind in found:
            e = explain(book, str(sid), found_kind, loaded[sid][1], today, hidden.get(sid, frozenset()))
            history = agreed.get(sid, ())
            if not is_scored(book, found_kind, history, today):
                e = explanation_without_consent(book, e)
            body = replace(e, subject_id=identifier).to_json()
            body["consent"] = _consent_standing(book, found_kind, history, today)
            body["decisions"] = decisions_about(connection, sid)
            body["accesses"] = [_access(row) for row in entries_about(connection, sid)]
            reports.append((sid, body))
    return reports


def _access(row: Any) -> dict[str, Any]:
    return {
        "at": utc_iso(row.at),
        "who": row.actor if row.actor_role != "subject" else "you",
        "role": row.actor_role,
        "action": row.action,
        "purpose": row.purpose,
    }


@router.get(
    "/me/notices",
    summary="What happened to you, why, and what you can do: records, changes of standing, disputes",
    response_model=NoticesOut,
    openapi_extra=role_extra("subject", personal=True),
)
async def notices(caller: Annotated[Any, Depends(roles("subject"))]) -> dict[str, Any]:
    ctx = caller.ctx
    today = ctx.today()

    def gather() -> list[tuple[int, list[dict[str, Any]]]]:
        with ctx.begin() as connection:
            found = ctx.own_subjects(connection, caller.id, caller.kind)
            _, book = ctx.book(connection, today)
            return [(sid, [n.to_json() for n in notices_of(connection, book, sid)]) for sid, _ in found]

    gathered = await asyncio.to_thread(gather)
    await ctx.audit(
        *(AuditEntry("subject", "subject", "notices.read", "subject's own notices", sid, {}) for sid, _ in gathered)
    )
    return {"as_of": today.isoformat(), "notices": [n for _, items in gathered for n in items]}


NOT_SCORED_MESSAGE = (
    "You are not scored: the rulebook in force scores persons only with their consent, and you have not given it. "
    "You have no score, no grade and no rewards; lists and penalties grounded in legal decisions still apply. "
    'To be scored, give consent: POST /v1/me/consent with {"given": true}.'
)
SCORED_MESSAGE = (
    'You are scored with your consent. You may withdraw it at any time: POST /v1/me/consent with {"given": false}.'
)


def _consent_standing(book: Rulebook, kind: str, history: ConsentHistory, today: dt.date) -> dict[str, Any]:
    """What the report says about consent: whether it is asked, given, and what follows from it."""
    asked = asks_consent(book, kind)
    scored = is_scored(book, kind, history, today)
    message = None
    if asked:
        message = SCORED_MESSAGE if scored else NOT_SCORED_MESSAGE
    return {
        "required": asked,
        "given": consent_on(history, today) if kind == "person" else None,
        "scored": scored,
        "message": message,
    }


class ConsentIn(TextIn):
    given: StrictBool


ONLY_PERSONS = "only persons are asked for consent: organisations are always scored"


def _person(caller: Any) -> None:
    """Refuse an organisation's token (422): consent is asked of persons only."""
    if caller.kind not in (None, "person") or problem_with_identifier(caller.id, "person") is not None:
        raise Problem("unprocessable", ONLY_PERSONS)


def _consent_view(
    connection: Connection, book: Rulebook, version: str, sid: int | None, today: dt.date
) -> dict[str, Any]:
    rows = [] if sid is None else consent_rows(connection, sid)
    history = [(r.on, r.given) for r in rows]
    holding = [r for r in rows if r.on <= today]
    since = max(holding, key=lambda r: (r.on, r.id)).on if holding else None
    given = consent_on(history, today)
    return {
        "as_of": today.isoformat(),
        "rulebook_version": version,
        "requires_consent": book.score.requires_consent,
        "given": given,
        "since": None if since is None else since.isoformat(),
        "scored": is_scored(book, "person", history, today),
        "history": [r.to_json() for r in rows],
    }


@router.get(
    "/me/consent",
    summary="Your consent to be scored: whether the rulebook in force requires it, whether it is given, its history",
    openapi_extra=role_extra("subject", personal=True),
)
async def consent(caller: Annotated[Any, Depends(roles("subject"))]) -> dict[str, Any]:
    _person(caller)
    ctx = caller.ctx
    today = ctx.today()

    def read() -> tuple[int | None, dict[str, Any]]:
        with ctx.begin() as connection:
            found = ctx.subject_ids(connection, caller.id, "person")
            sid = found[0][0] if found else None
            version, book = ctx.book(connection, today)
            return sid, _consent_view(connection, book, version, sid, today)

    sid, view = await asyncio.to_thread(read)
    if sid is not None:
        await ctx.audit(AuditEntry("subject", "subject", "consent.read", "subject's own consent", sid, {}))
    return view


@router.post(
    "/me/consent",
    summary='Give ({"given": true}) or withdraw ({"given": false}) your consent to be scored, from today',
    openapi_extra=role_extra("subject", personal=False),
)
async def set_consent_(body: ConsentIn, caller: Annotated[Any, Depends(roles("subject"))]) -> dict[str, Any]:
    _person(caller)
    ctx = caller.ctx

    def work(connection: Connection, now: dt.datetime) -> Done:
        today = ctx.today()
        ctx.book(connection, today)  # a rulebook must be in force (the subject is rescored at once)
        sid = ensure_subject(connection, ctx.fresh_keys(connection), caller.id, "person", now)
        change = set_consent(connection, sid, body.given, today=today, now=now)
        action = "consent.give" if body.given else "consent.withdraw"
        detail = {"given": body.given, "changed": change.written is not None}
        entry = AuditEntry("subject", "subject", action, "the subject's consent to be scored", sid, detail)
        # Rescored before the commit; a person given in advance (no record yet) is scored from its first record.
        has_records = connection.execute(sa.select(records.c.id).where(records.c.subject_id == sid).limit(1)).first()
        return Done((sid, change.written is not None), [entry], [sid] if has_records else [])

    sid, changed = await ctx.writer.run(work)
    today = ctx.today()

    def read() -> dict[str, Any]:
        with ctx.begin() as connection:
            version, book = ctx.book(connection, today)
            return _consent_view(connection, book, version, sid, today)

    view = await asyncio.to_thread(read)
    return {**view, "changed": changed}
