"""Relying parties ask whether a measure applies to a subject: yes or no, why, on what legal basis."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel

from credo.api.context import Caller, role_extra, roles
from credo.services import decisions

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
    decision = await decisions.decide(ctx, decisions.Question(caller.id, measure_id, subject, kind))
    ctx.metrics.decisions.labels(decision.measure, str(decision.applies).lower()).inc()
    # Serialised here: the answer is already exactly DecisionAnswer (a test holds them together), and
    # validating it again would cost the hottest route a tenth of its time.
    return Response(json.dumps(decision.answer(), separators=(",", ":")).encode(), media_type="application/json")
