"""Disputes: a subject contests a record, a reviewer decides it (docs/due-process.md)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from credo.api.context import Caller, role_extra, roles
from credo.api.models import DisputeOut, DisputeUnderReview
from credo.api.params import TextIn
from credo.domain.records import parse_date
from credo.services import disputes
from credo.services.actor import Actor
from credo.services.disputes import Decision, Filing

QUEUE_PAGE = 50  # open disputes a page of the reviewers' queue shows unless asked otherwise
MAX_QUEUE_PAGE = 200

router = APIRouter(prefix="/v1", tags=["disputes"])  # the prefix here, so routes know their full path (metrics)
Subject = Annotated[Caller, Depends(roles("subject"))]
Reviewer = Annotated[Caller, Depends(roles("reviewer"))]
Source = Annotated[Caller, Depends(roles("source"))]
DisputeId = Annotated[str, Path(max_length=36)]


class DisputeIn(TextIn):
    source: str = Field(max_length=100)
    record_id: str = Field(max_length=200)
    statement: str = Field(min_length=1, max_length=4000, description="What is wrong with the record, in your words")

    def filing(self) -> Filing:
        return Filing(self.source, self.record_id, self.statement)


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


@router.post(
    "/me/disputes",
    summary="Dispute one of your records: while it is open the record stops counting (if the rulebook says so)",
    response_model=DisputeOut,
    response_model_exclude_unset=True,
    status_code=201,
    openapi_extra=role_extra("subject", personal=False),
)
async def open_(body: DisputeIn, caller: Subject) -> dict[str, Any]:
    return await caller.ctx.run_write(
        lambda uow: disputes.file(uow, "dispute", caller.own_subjects(uow)[0][0], body.filing())
    )


@router.post(
    "/me/repairs",
    summary="Apply for the early repair of a resolved record, once its rule allows it (the record counts meanwhile)",
    response_model=DisputeOut,
    response_model_exclude_unset=True,
    status_code=201,
    openapi_extra=role_extra("subject", personal=False),
)
async def apply_for_repair(body: DisputeIn, caller: Subject) -> dict[str, Any]:
    return await caller.ctx.run_write(
        lambda uow: disputes.file(uow, "repair", caller.own_subjects(uow)[0][0], body.filing())
    )


@router.get(
    "/me/disputes",
    summary="Your disputes and repair applications, newest first",
    response_model=list[DisputeOut],
    response_model_exclude_unset=True,
    openapi_extra=role_extra("subject", personal=True),
)
async def mine(caller: Subject) -> list[dict[str, Any]]:
    return await caller.ctx.run_read(lambda uow: disputes.of_subject(uow, caller.own_subjects(uow)[0][0]))


@router.get(
    "/source/disputes",
    summary="Disputes and repair applications on the caller's records, newest first, with the subjects' statements",
    response_model=list[DisputeOut],
    response_model_exclude_unset=True,
    openapi_extra=role_extra("source", personal=True),
)
async def for_source(caller: Source) -> list[dict[str, Any]]:
    """What a source must reinvestigate: each dispute of one of its records (as the FCRA tells the furnisher)."""
    return await caller.ctx.run_read(lambda uow: disputes.of_source(uow, caller.id))


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
    reviewer = Actor("reviewer", caller.id)
    return await caller.ctx.run_read(lambda uow: disputes.review_queue(uow, reviewer, offset=offset, limit=limit))


@router.get(
    "/disputes/{dispute_id}",
    summary="One dispute with the subject's statement and the record it is about",
    response_model=DisputeUnderReview,
    response_model_exclude_unset=True,
    openapi_extra=role_extra("reviewer", personal=True),
)
async def one(dispute_id: DisputeId, caller: Reviewer) -> dict[str, Any]:
    reviewer = Actor("reviewer", caller.id)
    return await caller.ctx.run_read(lambda uow: disputes.for_review(uow, reviewer, dispute_id))


@router.post(
    "/disputes/{dispute_id}/decision",
    summary="Decide a dispute (upheld, corrected with the correction, removed) or a repair (granted, refused)",
    response_model=DisputeOut,
    response_model_exclude_unset=True,
    openapi_extra=role_extra("reviewer", personal=False),
)
async def decide(dispute_id: DisputeId, body: DecisionIn, caller: Reviewer) -> dict[str, Any]:
    reviewer = Actor("reviewer", caller.id)
    correction = None if body.correction is None else body.correction.model_dump(exclude_unset=True)
    decided = await caller.ctx.run_write(
        lambda uow: disputes.decide(uow, reviewer, dispute_id, Decision(body.outcome, body.reasons, correction))
    )
    return decided.to_json()


__all__ = ["router"]
