"""Sources push and withdraw their own records (docs/api.md, "Sources")."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel

from credo.api.context import Caller, role_extra, roles
from credo.api.problems import Problem
from credo.domain.records import json_object
from credo.services import records
from credo.store.push import MAX_RECORDS

router = APIRouter(prefix="/v1", tags=["sources"])  # the prefix here, so routes know their full path (metrics)

_RECORD_SCHEMA = {
    "type": "object",
    "description": "A record as in a record file (docs/batch.md); `source` may be left out.",
    "properties": {
        "source": {"type": "string"},
        "record_id": {"type": "string"},
        "subject_id": {"type": "string"},
        "subject_kind": {"type": "string", "enum": ["person", "organization"]},
        "category": {"type": "string"},
        "occurred_on": {"type": "string", "format": "date"},
        "amount": {"type": ["number", "string", "null"]},
        "resolved_on": {"type": ["string", "null"], "format": "date"},
        "status": {"type": "string", "enum": ["active", "withdrawn"]},
        "reference": {"type": ["string", "null"]},
    },
}
_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "array", "items": _RECORD_SCHEMA, "maxItems": MAX_RECORDS}},
            "application/x-ndjson": {"schema": {"type": "string", "description": "JSON Lines: one record per line"}},
        },
    }
}


class RecordOutcome(BaseModel):
    index: int
    outcome: str
    record_id: str | None = None
    version: int | None = None
    reason: str | None = None


class PushAnswer(BaseModel):
    push_id: str
    received: int
    new: int
    versions: int
    unchanged: int
    rejected: int
    results: list[RecordOutcome]


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Problem("payload-too-large", f"the body may hold at most {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Problem("payload-too-large", f"the body may hold at most {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _loads(text: str) -> Any:
    """JSON as RFC 8259 has it (no NaN or Infinity); an object naming a key twice is marked (parse_row refuses it)."""
    return json.loads(text, object_pairs_hook=json_object, parse_constant=_no_constant)


def _parse(body: bytes, media: str) -> list[Any]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Problem("malformed-json", "the body is not UTF-8 text") from None
    if media in ("application/x-ndjson", "application/jsonl", "application/jsonlines"):
        rows = []
        for number, line in enumerate(text.split("\n"), start=1):  # only LF ends a line: JSON text may hold U+2028
            if line.strip():
                try:
                    rows.append(_loads(line))
                except ValueError:
                    raise Problem("malformed-json", f"line {number} is not valid JSON") from None
                except RecursionError:
                    raise Problem("malformed-json", f"line {number} is nested too deeply") from None
        return rows
    if media not in ("application/json", ""):
        raise Problem("unsupported-media-type", "send application/json (an array) or application/x-ndjson")
    try:
        data = _loads(text)
    except ValueError:
        raise Problem("malformed-json", "the body is not valid JSON") from None
    except RecursionError:
        raise Problem("malformed-json", "the body is nested too deeply") from None
    if not isinstance(data, list):
        raise Problem("invalid-request", "the body must be a JSON array of records (or JSON Lines)")
    return data


@router.post(
    "/records",
    summary="Push records (a JSON array, or JSON Lines)",
    response_model=PushAnswer,
    response_model_exclude_none=True,
    openapi_extra={**_BODY, **role_extra("source", personal=False)},
)
async def push(
    request: Request,
    caller: Annotated[Caller, Depends(roles("source"))],
) -> PushAnswer:
    ctx = caller.ctx
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    rows = _parse(await _body(request, ctx.max_body), media)
    if not rows:
        raise Problem("invalid-request", "the body holds no record")
    if len(rows) > MAX_RECORDS:
        raise Problem("payload-too-large", f"at most {MAX_RECORDS} records per request; send the rest in more requests")
    push_id = str(uuid.uuid4())
    results = await ctx.run_write(lambda uow: records.push(uow, caller.id, rows, push_id))
    counts = {o: sum(r.outcome == o for r in results) for o in ("new", "version", "unchanged", "rejected")}
    for outcome, n in counts.items():
        if n:
            ctx.metrics.records.labels(outcome).inc(n)
    if counts["rejected"]:
        ctx.metrics.rejects.inc(counts["rejected"])
    return PushAnswer(
        push_id=push_id,
        received=len(rows),
        new=counts["new"],
        versions=counts["version"],
        unchanged=counts["unchanged"],
        rejected=counts["rejected"],
        results=[RecordOutcome(**r.to_json()) for r in results],
    )


@router.post(
    "/records/{source}/{record_id:path}/withdraw",  # any record id, "/" included (docs/api.md)
    summary="Withdraw one of the caller's records",
    response_model=RecordOutcome,
    response_model_exclude_none=True,
    openapi_extra=role_extra("source", personal=False),
)
async def withdraw(
    source: Annotated[str, Path(max_length=100)],
    record_id: Annotated[str, Path(max_length=200)],
    caller: Annotated[Caller, Depends(roles("source"))],
) -> RecordOutcome:
    ctx = caller.ctx
    if source != caller.id:
        raise Problem("forbidden", "a source may only withdraw its own records")
    result = await ctx.run_write(lambda uow: records.withdraw(uow, source, record_id))
    ctx.metrics.records.labels("withdrawn" if result.outcome == "version" else "unchanged").inc()
    return RecordOutcome(**result.to_json())
