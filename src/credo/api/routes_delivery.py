"""Delivery of notices: a subject's email address, parties' webhooks, and the delivery log (docs/due-process.md)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import Field
from sqlalchemy import Connection

from credo.api.context import role_extra, roles
from credo.api.params import TextIn
from credo.api.writer import Done
from credo.domain.delivery import overlap_of
from credo.domain.identifiers import problem_with_identifier
from credo.store.audit import AuditEntry
from credo.store.clock import utc_iso
from credo.store.delivery import (
    contact_of,
    delivery_rows,
    remove_contact,
    remove_webhook,
    retry_delivery,
    rotate_secret,
    set_contact,
    set_webhook,
    webhook_rows,
)
from credo.store.errors import NotFoundError, StoreError
from credo.store.subjects import ensure_subject
from credo.store.webhook_hosts import allowed_hosts

router = APIRouter(prefix="/v1", tags=["delivery"])  # the prefix here, so routes know their full path (metrics)
Subject = Annotated[Any, Depends(roles("subject"))]
Operator = Annotated[Any, Depends(roles("operator"))]
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


def _ids(caller: Any, connection: Connection) -> list[int]:
    return [sid for sid, _ in caller.ctx.own_subjects(connection, caller.id, caller.kind)]


def _ids_or_new(caller: Any, connection: Connection, now: dt.datetime) -> list[int]:
    """The caller's subjects; one made for it if Credo holds none yet (an address may come before any record)."""
    found = caller.ctx.subject_ids(connection, caller.id, caller.kind)
    if found:
        return [sid for sid, _ in found]
    kind = caller.kind or ("person" if problem_with_identifier(caller.id, "person") is None else "organization")
    if problem_with_identifier(caller.id, kind) is not None:
        raise StoreError(f"the token names no valid {kind} identifier")
    return [ensure_subject(connection, caller.ctx.fresh_keys(connection), caller.id, kind, now)]


def _iso(at: dt.datetime | None) -> str | None:
    return None if at is None else utc_iso(at)


@router.put(
    "/me/contact",
    summary="Have your notices sent by email to this address, from now on",
    openapi_extra=role_extra("subject", personal=False),
)
async def put_contact(body: ContactIn, caller: Subject) -> dict[str, Any]:
    ctx = caller.ctx

    def work(connection: Connection, now: dt.datetime) -> Done:
        ids = _ids_or_new(caller, connection, now)
        today = ctx.today()
        set_contact(connection, ctx.fresh_keys(connection), ids, body.email, today)
        entries = [AuditEntry("subject", "subject", "contact.set", "the subject's address for notices", s) for s in ids]
        return Done({"email": body.email.strip(), "since": today.isoformat()}, entries, [])

    result: dict[str, Any] = await ctx.writer.run(work)
    return result


@router.get("/me/contact", summary="The address your notices go to", openapi_extra=role_extra("subject", personal=True))
async def get_contact(caller: Subject) -> dict[str, Any]:
    ctx = caller.ctx
    with ctx.begin() as connection:
        ids = _ids(caller, connection)
        found = contact_of(connection, ctx.fresh_keys(connection), ids[0])
    if found is None:
        raise NotFoundError("you gave no address for notices: PUT /v1/me/contact")
    await ctx.audit(AuditEntry("subject", "subject", "contact.read", "the subject's address for notices", ids[0]))
    return {"email": found[0], "since": found[1].date().isoformat()}


@router.delete(
    "/me/contact",
    summary="Forget your address: no more emails (notices stay in GET /v1/me/notices)",
    status_code=204,
    openapi_extra=role_extra("subject", personal=False),
)
async def delete_contact(caller: Subject) -> Response:
    ctx = caller.ctx

    def work(connection: Connection, _now: dt.datetime) -> Done:
        ids = _ids(caller, connection)
        if not remove_contact(connection, ctx.fresh_keys(connection), ids):
            raise NotFoundError("you gave no address for notices")
        entries = [
            AuditEntry("subject", "subject", "contact.remove", "the subject's address for notices", s) for s in ids
        ]
        return Done(None, entries, [])

    await ctx.writer.run(work)
    return Response(status_code=204)


@router.put(
    "/webhooks/{party_kind}/{party_id}",
    summary="Send a relying party's or source's events to a URL, signed; answers the signing secret, once",
    openapi_extra=role_extra("operator", personal=False),
)
async def put_webhook(party_kind: PartyKind, party_id: PartyId, body: WebhookIn, caller: Operator) -> dict[str, Any]:
    ctx = caller.ctx

    def work(connection: Connection, now: dt.datetime) -> Done:
        ring, allowed = ctx.fresh_keys(connection), allowed_hosts(connection, ctx.store.environ)
        secret = set_webhook(connection, ring, (party_kind, party_id), body.url, now, allowed_hosts=allowed)
        entry = AuditEntry(
            "operator", caller.id, "webhook.set", "operation", None, {"party_kind": party_kind, "party_id": party_id}
        )
        answer = {"party_kind": party_kind, "party_id": party_id, "url": body.url, "secret": secret}
        return Done(answer, [entry], [])

    result: dict[str, Any] = await ctx.writer.run(work)
    return result


@router.delete(
    "/webhooks/{party_kind}/{party_id}",
    summary="Stop a party's webhook; what was still owed to it is cancelled (kept in the log, not sent)",
    status_code=204,
    openapi_extra=role_extra("operator", personal=False),
)
async def delete_webhook(party_kind: PartyKind, party_id: PartyId, caller: Operator) -> Response:
    ctx = caller.ctx

    def work(connection: Connection, _now: dt.datetime) -> Done:
        remove_webhook(connection, ctx.fresh_keys(connection), party_kind, party_id)
        detail = {"party_kind": party_kind, "party_id": party_id}
        return Done(None, [AuditEntry("operator", caller.id, "webhook.remove", "operation", None, detail)], [])

    await ctx.writer.run(work)
    return Response(status_code=204)


@router.post(
    "/webhooks/{party_kind}/{party_id}/rotate-secret",
    summary="Give a webhook a new signing secret, answered once; the old one signs beside it for the overlap",
    openapi_extra=role_extra("operator", personal=False),
)
async def rotate_webhook_secret(
    party_kind: PartyKind, party_id: PartyId, body: RotationIn, caller: Operator
) -> dict[str, Any]:
    ctx = caller.ctx
    try:
        overlap = overlap_of(body.overlap)
    except ValueError as exc:
        raise StoreError(str(exc)) from None

    def work(connection: Connection, now: dt.datetime) -> Done:
        secret = rotate_secret(connection, ctx.fresh_keys(connection), (party_kind, party_id), now, overlap)
        detail = {"party_kind": party_kind, "party_id": party_id, "overlap_seconds": int(overlap.total_seconds())}
        entry = AuditEntry("operator", caller.id, "webhook.rotate_secret", "operation", None, detail)
        until = _iso(now + overlap) if overlap else None
        return Done({"party_kind": party_kind, "party_id": party_id, "secret": secret, "old_secret_until": until},
                    [entry], [])  # fmt: skip

    result: dict[str, Any] = await ctx.writer.run(work)
    return result


@router.get(
    "/webhooks", summary="Every webhook (never its secret)", openapi_extra=role_extra("operator", personal=False)
)
async def list_webhooks(caller: Operator) -> list[dict[str, Any]]:
    ctx = caller.ctx
    with ctx.begin() as connection:
        rows = webhook_rows(connection, ctx.store.clock())
    return [
        {**row, "created_at": utc_iso(row["created_at"]), "previous_secret_until": _iso(row["previous_secret_until"])}
        for row in rows
    ]


@router.get(
    "/deliveries",
    summary="What is owed by email and webhook, and what became of it: counts and the latest messages",
    openapi_extra=role_extra("operator", "auditor", personal=True),
)
async def list_deliveries(
    caller: Annotated[Any, Depends(roles("operator", "auditor"))],
    state: Annotated[Literal["pending", "delivered", "failed", "cancelled"] | None, Query()] = None,
) -> dict[str, Any]:
    ctx = caller.ctx
    with ctx.begin() as connection:
        found = delivery_rows(connection, state)
    detail = {"state": state, "deliveries": len(found["deliveries"])}
    await ctx.audit(AuditEntry(caller.role, caller.id, "deliveries.read", "operation", None, detail))
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
    ctx = caller.ctx

    def work(connection: Connection, now: dt.datetime) -> Done:
        retry_delivery(connection, delivery_id, now)
        entry = AuditEntry("operator", caller.id, "delivery.retry", "operation", None, {"delivery_id": delivery_id})
        return Done({"delivery_id": delivery_id, "state": "pending"}, [entry], [])

    result: dict[str, Any] = await ctx.writer.run(work)
    return result
