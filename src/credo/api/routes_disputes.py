"""Disputes: a subject contests a record, a reviewer decides it (docs/due-process.md)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import Connection

from credo.api.context import ApiContext, role_extra, roles
from credo.api.models import DisputeOut, DisputeUnderReview
from credo.api.params import TextIn
from credo.api.writer import Done
from credo.domain.records import parse_date
from credo.store.audit import AuditEntry
from credo.store.disputes import (
    Dispute,
    decide_dispute,
    dispute_for_review,
    disputes_of,
    disputes_on_source,
    open_dispute,
    open_repair,
    queue,
    statement_of,
)

QUEUE_PAGE = 50  # open disputes a page of the reviewers' queue shows unless asked otherwise
MAX_QUEUE_PAGE = 200

router = APIRouter(prefix="/v1", tags=["disputes"])  # the prefix here, so routes know their full path (metrics)
Subject = Annotated[Any, Depends(roles("subject"))]
Reviewer = Annotated[Any, Depends(roles("reviewer"))]
DisputeId = Annotated[str, Path(max_length=36)]


class DisputeIn(TextIn):
    source: str = Field(max_length=100)
    record_id: str = Field(max_length=200)
    statement: str = Field(min_length=1, max_length=4000, description="What is wrong with the record, in your words")


class Correction(TextIn):
    amount: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    occurred_on: dt.date | None = Field(default=None, description="YYYY-MM-DD, from 1900-01-01 to 2999-12-31")
    resolved_on: dt.date | None = Field(default=None, description="YYYY-MM-DD, from 1900-01-01 to 2999-12-31")

    @field_validator("occurred_on", "resolved_on", mode="before")
    @classmethod
    def _one_date_parser(cls, value: object, info: ValidationInfo) -> object:
        """Dates as records read them (credo.domain.records.parse_date), refused in the same words."""
        if not isinstance(value, str):
            return value
        day = parse_date(str(info.field_name), value)
        if isinstance(day, str):
            raise PydanticCustomError("date", day)
        return day


class DecisionIn(TextIn):
    outcome: Literal["upheld", "corrected", "removed", "granted", "refused"] = Field(
        description="A dispute: upheld, corrected or removed. A repair application: granted or refused."
    )
    reasons: str = Field(min_length=1, max_length=4000)
    correction: Correction | None = None


def _subject_id(ctx: ApiContext, connection: Connection, caller: Any) -> int:
    return ctx.own_subjects(connection, caller.id, caller.kind)[0][0]


@router.post(
    "/me/disputes",
    summary="Dispute one of your records: while it is open the record stops counting (if the rulebook says so)",
    response_model=DisputeOut,
    response_model_exclude_unset=True,
    status_code=201,
    openapi_extra=role_extra("subject", personal=False),
)
async def open_(body: DisputeIn, caller: Subject) -> dict[str, Any]:
    # Rescored at once: a suspended record stops counting before the answer.
    return await _file(caller, body, open_dispute, "dispute.open", "the subject's dispute", rescore=True)


@router.post(
    "/me/repairs",
    summary="Apply for the early repair of a resolved record, once its rule allows it (the record counts meanwhile)",
    response_model=DisputeOut,
    response_model_exclude_unset=True,
    status_code=201,
    openapi_extra=role_extra("subject", personal=False),
)
async def apply_for_repair(body: DisputeIn, caller: Subject) -> dict[str, Any]:
    purpose = "the subject's application for credit repair"
    return await _file(caller, body, open_repair, "repair.apply", purpose, rescore=False)


async def _file(
    caller: Any, body: DisputeIn, opener: Callable[..., Dispute], action: str, purpose: str, *, rescore: bool
) -> dict[str, Any]:
    """Open a dispute or repair application for the caller in the next group commit, audited."""
    ctx = caller.ctx

    def work(connection: Connection, now: dt.datetime) -> Done:
        today = ctx.today()
        subject_id = _subject_id(ctx, connection, caller)
        _, book = ctx.book(connection, today)
        item = opener(
            connection, ctx.fresh_keys(connection), book, subject_id, body.source, body.record_id, body.statement,
            today=today, now=now,
        )  # fmt: skip
        detail = {"dispute_id": item.dispute_id, "source": body.source, "record_id": body.record_id}
        entry = AuditEntry("subject", "subject", action, purpose, subject_id, detail)
        return Done(item.to_json(statement=body.statement), [entry], [subject_id] if rescore else [])

    result: dict[str, Any] = await ctx.writer.run(work)
    return result


@router.get(
    "/me/disputes",
    summary="Your disputes and repair applications, newest first",
    response_model=list[DisputeOut],
    response_model_exclude_unset=True,
    openapi_extra=role_extra("subject", personal=True),
)
async def mine(caller: Subject) -> list[dict[str, Any]]:
    ctx = caller.ctx
    with ctx.begin() as connection:
        subject_id = _subject_id(ctx, connection, caller)
        ring = ctx.fresh_keys(connection)
        body = [
            d.to_json(statement=statement_of(connection, ring, d.dispute_id))
            for d in disputes_of(connection, subject_id)
        ]
    await ctx.audit(AuditEntry("subject", "subject", "disputes.read", "subject's own disputes", subject_id, {}))
    return body


@router.get(
    "/source/disputes",
    summary="Disputes and repair applications on the caller's records, newest first, with the subjects' statements",
    response_model=list[DisputeOut],
    response_model_exclude_unset=True,
    openapi_extra=role_extra("source", personal=True),
)
async def for_source(caller: Annotated[Any, Depends(roles("source"))]) -> list[dict[str, Any]]:
    """What a source must reinvestigate: each dispute of one of its records (as the FCRA tells the furnisher)."""
    ctx = caller.ctx
    with ctx.begin() as connection:
        found = disputes_on_source(connection, caller.id)
        ring = ctx.fresh_keys(connection)
        body = [d.to_json(statement=statement_of(connection, ring, d.dispute_id)) for d in found]
    entries = [
        AuditEntry("source", caller.id, "dispute.read", "reinvestigation of its record", d.subject_id,
                   {"dispute_id": d.dispute_id})
        for d in found
    ]  # fmt: skip
    if entries:
        await ctx.audit(*entries)
    return body


@router.get(
    "/disputes",
    summary="Open disputes and repair applications, the nearest deadline first, a page at a time",
    response_model=list[DisputeOut],
    response_model_exclude_unset=True,
    openapi_extra=role_extra("reviewer", personal=True),
)
async def reviewer_queue(
    caller: Reviewer,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Open disputes to skip")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_QUEUE_PAGE, description="Open disputes on this page")] = QUEUE_PAGE,
) -> list[dict[str, Any]]:
    """A page of the queue: each dispute shown is one audit entry for its subject, so a page is bounded."""
    ctx = caller.ctx
    with ctx.begin() as connection:
        found = queue(connection, offset=offset, limit=limit)
    entries = [
        AuditEntry("reviewer", caller.id, "dispute.queue.read", "the reviewers' queue", d.subject_id,
                   {"dispute_id": d.dispute_id})
        for d in found
    ]  # fmt: skip
    if entries:  # each subject sees that a reviewer saw their dispute in the queue
        await ctx.audit(*entries)
    return [d.to_json() for d in found]


@router.get(
    "/disputes/{dispute_id}",
    summary="One dispute with the subject's statement and the record it is about",
    response_model=DisputeUnderReview,
    response_model_exclude_unset=True,
    openapi_extra=role_extra("reviewer", personal=True),
)
async def one(dispute_id: DisputeId, caller: Reviewer) -> dict[str, Any]:
    ctx = caller.ctx
    with ctx.begin() as connection:
        found, body = dispute_for_review(connection, ctx.fresh_keys(connection), dispute_id)
    await ctx.audit(
        AuditEntry(
            "reviewer", caller.id, "dispute.read", "review of a dispute", found.subject_id, {"dispute_id": dispute_id}
        )
    )
    return body


@router.post(
    "/disputes/{dispute_id}/decision",
    summary="Decide a dispute (upheld, corrected with the correction, removed) or a repair (granted, refused)",
    response_model=DisputeOut,
    response_model_exclude_unset=True,
    openapi_extra=role_extra("reviewer", personal=False),
)
async def decide(dispute_id: DisputeId, body: DecisionIn, caller: Reviewer) -> dict[str, Any]:
    ctx = caller.ctx
    correction = None if body.correction is None else body.correction.model_dump(exclude_unset=True)

    def work(connection: Connection, now: dt.datetime) -> Done:
        decided, touched = decide_dispute(
            connection, dispute_id, body.outcome, body.reasons, caller.id,
            today=ctx.today(), now=now, correction=correction,
        )  # fmt: skip
        entry = AuditEntry(
            "reviewer", caller.id, "dispute.decide", "decision on a dispute", decided.subject_id,
            {"dispute_id": dispute_id, "outcome": body.outcome},
        )  # fmt: skip
        return Done(decided.to_json(), [entry], touched)

    result: dict[str, Any] = await ctx.writer.run(work)
    return result


__all__ = ["router"]
