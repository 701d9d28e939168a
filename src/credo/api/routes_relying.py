"""Relying parties ask whether a measure applies to a subject: yes or no, why, on what legal basis."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import Connection

from credo.api.context import ApiContext, Caller, role_extra, roles
from credo.api.problems import Problem
from credo.api.writer import Done
from credo.domain.identifiers import problem_with_identifier
from credo.domain.records import KINDS
from credo.domain.rulebook import Rulebook
from credo.store.audit import AuditEntry
from credo.store.decisions import Decision, decision_without_records, prepare_decision, store_decisions
from credo.store.errors import AuditChainError
from credo.store.lookup import SubjectSnapshot
from credo.store.relying import RelyingParty
from credo.store.scoring import is_exact

router = APIRouter(prefix="/v1", tags=["relying parties"])  # the prefix here, so routes know their full path (metrics)


class DecisionAnswer(BaseModel):
    applies: bool
    measure: str
    kind: str
    reason: str
    legal_basis: str | None
    since: str | None
    rulebook_version: str
    decision_id: str


@router.get(
    "/decisions/{measure_id}",
    summary="Does this measure apply to the subject now?",
    response_model=DecisionAnswer,
    openapi_extra=role_extra("relying", personal=True),
)
async def decide(
    measure_id: Annotated[str, Path(max_length=100)],
    subject: Annotated[str, Query(min_length=1, max_length=64, description="The subject's identifier")],
    caller: Annotated[Caller, Depends(roles("relying"))],
    kind: Annotated[
        Literal["person", "organization"] | None,
        Query(description="Only when an identifier is valid for both kinds"),
    ] = None,
) -> Response:
    ctx = caller.ctx
    decision = _prepare(ctx, caller.id, measure_id, subject, kind)
    if decision is None:  # the stored state is stale: rescored (and stored) off the event loop
        decision = await asyncio.to_thread(_prepare_after_rescoring, ctx, caller.id, measure_id, subject, kind)
    detail = {"measure": decision.measure, "applies": decision.applies, "decision_id": decision.decision_id}
    if decision.subject_id is None:  # a miss is audited too: who asked about someone Credo holds nothing about
        detail["subject"] = "not in the store"
    entry = AuditEntry("relying", caller.id, "decision", f"measure {decision.measure}", decision.subject_id, detail)

    def work(connection: Connection, now: dt.datetime) -> Done:
        store_decisions(connection, [decision], now)
        return Done(None, [entry])

    try:
        await ctx.writer.run(work)
    except AuditChainError:  # its own problem: the operator must check the trail, trying again will not do
        raise
    except Exception:
        raise Problem("unavailable", "the decision could not be recorded, so it is not given; try again") from None
    ctx.metrics.decisions.labels(decision.measure, str(decision.applies).lower()).inc()
    # Serialised here: the answer is already exactly DecisionAnswer (a test holds them together), and
    # validating it again would cost the hottest route a tenth of its time.
    return Response(json.dumps(decision.answer(), separators=(",", ":")).encode(), media_type="application/json")


def _prepare(ctx: ApiContext, relying_id: str, measure_id: str, subject: str, kind: str | None) -> Decision | None:
    """The decision, read without a transaction when the stored state is exact today (nearly always); else None."""
    today = ctx.today()
    with ctx.read() as connection:
        party, found, book = _look_up(ctx, connection, relying_id, measure_id, subject, kind, today)
        if found is None:  # answered as a subject with no records: the answer does not tell who is in the store
            kinds = [k for k in ([kind] if kind else KINDS) if problem_with_identifier(subject, k) is None]
            return decision_without_records(party, book, measure_id=measure_id, kind=kinds[0], today=today)
        if found.state is not None and is_exact(found.state, found.next_change, book.version, today):
            return prepare_decision(connection, party, book, measure_id=measure_id, subject=found, today=today)
    return None


def _prepare_after_rescoring(
    ctx: ApiContext, relying_id: str, measure_id: str, subject: str, kind: str | None
) -> Decision:
    today = ctx.today()
    with ctx.begin() as connection:  # the state is rescored first, and stored
        party, found, book = _look_up(ctx, connection, relying_id, measure_id, subject, kind, today)
        if found is None:  # gone since the first look (purged): still no records
            kinds = [k for k in ([kind] if kind else KINDS) if problem_with_identifier(subject, k) is None]
            return decision_without_records(party, book, measure_id=measure_id, kind=kinds[0], today=today)
        return prepare_decision(connection, party, book, measure_id=measure_id, subject=found, today=today)


def _look_up(  # noqa: PLR0917 (the question's parts)
    ctx: ApiContext,
    connection: Connection,
    relying_id: str,
    measure_id: str,
    subject: str,
    kind: str | None,
    today: dt.date,
) -> tuple[RelyingParty, SubjectSnapshot | None, Rulebook]:
    """The party, the subject (None: Credo holds nothing about it) and the rulebook in force."""
    party = ctx.party(connection, relying_id)
    if party is None:
        raise Problem("forbidden", f"relying party {relying_id} is not registered")
    if not party.enabled:  # before the subject is looked up: a disabled party learns nothing
        raise Problem("forbidden", f"relying party {relying_id} is disabled")
    if measure_id not in party.measures:
        raise Problem("forbidden", f"relying party {relying_id} is not registered for measure {measure_id}")
    found = ctx.snapshots(connection, subject, kind)
    _, book = ctx.book(connection, today)
    if not found:
        return party, None, book
    if len(found) > 1:
        raise Problem(
            "conflict", "the identifier names both a person and an organisation: add kind=person or kind=organization"
        )
    return party, found[0], book
