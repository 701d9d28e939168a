"""Delivery of notices: a subject's email address, parties' webhooks, and the delivery log (docs/due-process.md)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import Field

from credo.api.context import Caller, role_extra, roles
from credo.api.params import TextIn
from credo.domain.delivery import overlap_of
from credo.services import delivery
from credo.services.actor import Actor
from credo.store.clock import utc_iso
from credo.store.errors import StoreError

router = APIRouter(prefix="/v1", tags=["delivery"])  # the prefix here, so routes know their full path (metrics)
Subject = Annotated[Caller, Depends(roles("subject"))]
Operator = Annotated[Caller, Depends(roles("operator"))]
PartyKind = Annotated[Literal["relying", "source"], Path(description="relying (a relying party) or source")]
PartyId = Annotated[str, Path(max_length=100)]


class ContactIn(TextIn):
    email: str = Field(min_length=3, max_length=254, description="Where your notices go; only you can see it")


class WebhookIn(TextIn):
    url: str = Field(min_length=8, max_length=2000, description="An http:// or https:// address that accepts POST")


class RotationIn(TextIn):
    overlap: str = Field(
        default="24h", max_length=10, description="How long the old secret still signs beside the new: 24h, 2d; 0"
    )


def _iso(at: dt.datetime | None) -> str | None:
    return None if at is None else utc_iso(at)


def _operator(caller: Caller) -> Actor:
    return Actor("operator", caller.id)


@router.put(
    "/me/contact",
    summary="Have your notices sent by email to this address, from now on",
    openapi_extra=role_extra("subject", personal=False),
)
async def put_contact(body: ContactIn, caller: Subject) -> dict[str, Any]:
    return await caller.ctx.run_write(lambda uow: delivery.set_contact(uow, caller.id, caller.kind, body.email))


@router.get("/me/contact", summary="The address your notices go to", openapi_extra=role_extra("subject", personal=True))
async def get_contact(caller: Subject) -> dict[str, Any]:
    return await caller.ctx.run_read(lambda uow: delivery.own_contact(uow, caller.id, caller.kind))


@router.delete(
    "/me/contact",
    summary="Forget your address: no more emails (notices stay in GET /v1/me/notices)",
    status_code=204,
    openapi_extra=role_extra("subject", personal=False),
)
async def delete_contact(caller: Subject) -> Response:
    await caller.ctx.run_write(lambda uow: delivery.remove_own_contact(uow, caller.id, caller.kind))
    return Response(status_code=204)


@router.put(
    "/webhooks/{party_kind}/{party_id}",
    summary="Send a relying party's or source's events to a URL, signed; answers the signing secret, once",
    openapi_extra=role_extra("operator", personal=False),
)
async def put_webhook(party_kind: PartyKind, party_id: PartyId, body: WebhookIn, caller: Operator) -> dict[str, Any]:
    made = await caller.ctx.run_write(
        lambda uow: delivery.set_webhook(uow, _operator(caller), (party_kind, party_id), body.url)
    )
    return {"party_kind": party_kind, "party_id": party_id, "url": body.url, "secret": made.secret}


@router.delete(
    "/webhooks/{party_kind}/{party_id}",
    summary="Stop a party's webhook; what was still owed to it is cancelled (kept in the log, not sent)",
    status_code=204,
    openapi_extra=role_extra("operator", personal=False),
)
async def delete_webhook(party_kind: PartyKind, party_id: PartyId, caller: Operator) -> Response:
    await caller.ctx.run_write(lambda uow: delivery.remove_webhook(uow, _operator(caller), (party_kind, party_id)))
    return Response(status_code=204)


@router.post(
    "/webhooks/{party_kind}/{party_id}/rotate-secret",
    summary="Give a webhook a new signing secret, answered once; the old one signs beside it for the overlap",
    openapi_extra=role_extra("operator", personal=False),
)
async def rotate_webhook_secret(
    party_kind: PartyKind, party_id: PartyId, body: RotationIn, caller: Operator
) -> dict[str, Any]:
    try:
        overlap = overlap_of(body.overlap)
    except ValueError as exc:
        raise StoreError(str(exc)) from None
    made = await caller.ctx.run_write(
        lambda uow: delivery.rotate_secret(uow, _operator(caller), (party_kind, party_id), overlap)
    )
    return {
        "party_kind": party_kind,
        "party_id": party_id,
        "secret": made.secret,
        "old_secret_until": _iso(made.old_until),
    }


@router.get(
    "/webhooks", summary="Every webhook (never its secret)", openapi_extra=role_extra("operator", personal=False)
)
async def list_webhooks(caller: Operator) -> list[dict[str, Any]]:
    found = await caller.ctx.run_read(delivery.webhooks)
    return [
        {**row, "created_at": utc_iso(row["created_at"]), "previous_secret_until": _iso(row["previous_secret_until"])}
        for row in found.rows
    ]


@router.get(
    "/deliveries",
    summary="What is owed by email and webhook, and what became of it: counts and the latest messages",
    openapi_extra=role_extra("operator", "auditor", personal=True),
)
async def list_deliveries(
    caller: Annotated[Caller, Depends(roles("operator", "auditor"))],
    state: Annotated[Literal["pending", "delivered", "failed", "cancelled"] | None, Query()] = None,
) -> dict[str, Any]:
    found = await caller.ctx.run_read(lambda uow: delivery.deliveries(uow, Actor(caller.role, caller.id), state))
    for row in found["deliveries"]:
        for key in ("next_attempt_at", "created_at", "delivered_at"):
            row[key] = _iso(row[key])
    return found


@router.post(
    "/deliveries/{delivery_id}/retry",
    summary="Try a message Credo gave up on once more, now",
    openapi_extra=role_extra("operator", personal=False),
)
async def retry(delivery_id: Annotated[int, Path(ge=1, le=2**62)], caller: Operator) -> dict[str, Any]:
    await caller.ctx.run_write(lambda uow: delivery.retry(uow, _operator(caller), delivery_id))
    return {"delivery_id": delivery_id, "state": "pending"}
