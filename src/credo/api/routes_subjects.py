"""A subject's own report (score, reasons, forecast, lists, measures, who asked), notices, and consent."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import StrictBool

from credo.api.context import Caller, role_extra, roles
from credo.api.models import NoticesOut, ReportOut
from credo.api.params import TextIn
from credo.api.problems import Problem
from credo.domain.identifiers import problem_with_identifier
from credo.services import subjects

router = APIRouter(prefix="/v1", tags=["subjects"])  # the prefix here, so routes know their full path (metrics)


Subject = Annotated[Caller, Depends(roles("subject"))]


@router.get(
    "/me/report",
    summary="Everything about the caller: score, grade, every record's part, forecast, lists, measures, decisions",
    response_model=ReportOut,
    openapi_extra=role_extra("subject", personal=True),
)
async def report(caller: Subject) -> dict[str, Any]:
    # Scoring and explaining: off the event loop.
    return await caller.ctx.run_read(
        lambda uow: subjects.reports(uow, caller.own_subjects(uow), caller.id), in_thread=True
    )


@router.get(
    "/me/notices",
    summary="What happened to you, why, and what you can do: records, changes of standing, disputes",
    response_model=NoticesOut,
    openapi_extra=role_extra("subject", personal=True),
)
async def notices(caller: Subject) -> dict[str, Any]:
    return await caller.ctx.run_read(lambda uow: subjects.own_notices(uow, caller.id, caller.kind), in_thread=True)


class ConsentIn(TextIn):
    given: StrictBool


ONLY_PERSONS = "only persons are asked for consent: organisations are always scored"


def _person(caller: Caller) -> None:
    """Refuse an organisation's token (422): consent is asked of persons only."""
    if caller.kind not in (None, "person") or problem_with_identifier(caller.id, "person") is not None:
        raise Problem("unprocessable", ONLY_PERSONS)


@router.get(
    "/me/consent",
    summary="Your consent to be scored: whether the rulebook in force requires it, whether it is given, its history",
    openapi_extra=role_extra("subject", personal=True),
)
async def consent(caller: Subject) -> dict[str, Any]:
    _person(caller)
    return await caller.ctx.run_read(lambda uow: subjects.own_consent(uow, caller.id), in_thread=True)


@router.post(
    "/me/consent",
    summary='Give ({"given": true}) or withdraw ({"given": false}) your consent to be scored, from today',
    openapi_extra=role_extra("subject", personal=False),
)
async def set_consent_(body: ConsentIn, caller: Subject) -> dict[str, Any]:
    _person(caller)
    return await caller.ctx.run_write(lambda uow: subjects.set_consent_of(uow, caller.id, body.given))
