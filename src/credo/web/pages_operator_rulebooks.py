"""The operators' rulebooks: the published versions, a file checked as ``credo rulebook check`` checks it
(every problem with its line and place), published, and a version activated from a day.

A checked file is carried to the publish form as base64 (so no browser changes its line ends), and
publishing checks it again in the store (:func:`credo.services.rulebooks.publish`), as the CLI's does: what
the page shows as valid is what the store accepts, and a changed form cannot publish anything unchecked.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from credo.api.context import ContextDep
from credo.errors import CredoError
from credo.rulebook_file import MAX_RULEBOOK_BYTES, LoadedRulebook, parse_rulebook
from credo.services import rulebooks
from credo.web.pages_operator import Visit, field, operator_visit
from credo.web.render import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

MAX_NAME = 200  # characters of an uploaded file's name kept (it only names the file in messages)
CARRIED = MAX_RULEBOOK_BYTES * 4 // 3 + 1024  # a checked file as base64, in the publish form


@router.get("/operator/rulebooks", response_class=HTMLResponse)
async def versions(request: Request, ctx: ContextDep) -> Response:
    """Every published version with the days it was activated from (``credo rulebook list``)."""
    visit = await operator_visit(request, ctx)
    if not isinstance(visit, Visit):
        return visit
    found = await ctx.run_read(rulebooks.versions)
    done = request.query_params.get("done", "")[:20]
    shown = request.query_params.get("version", "")
    if not any(v.version == shown for v in found):
        done = ""  # a link cannot make the page say a version was published that is not
    try:
        since = dt.date.fromisoformat(request.query_params.get("from", "")[:10])
    except ValueError:
        since = None
    return render(request, "operator_rulebooks.html", versions=found, done=done, version=shown, since=since)


@router.get("/operator/rulebooks/check", response_class=HTMLResponse)
async def upload(request: Request, ctx: ContextDep) -> Response:
    """Choose a rulebook file to check."""
    visit = await operator_visit(request, ctx)
    if not isinstance(visit, Visit):
        return visit
    return render(request, "operator_rulebook_upload.html", csrf=visit.csrf, error=None)


@router.post("/operator/rulebooks/check", response_class=HTMLResponse)
async def check(request: Request, ctx: ContextDep) -> Response:
    """The file checked: every problem placed, or what it holds and a button to publish it."""
    visit = await operator_visit(request, ctx, post=True)
    if not isinstance(visit, Visit):
        return visit
    chosen = visit.form.get("rulebook") if visit.form is not None else None
    error, text = await _read(chosen)
    if visit.form is not None:
        await visit.form.close()
    if error is not None or not isinstance(chosen, UploadFile):
        return render(request, "operator_rulebook_upload.html", status_code=400, csrf=visit.csrf, error=error)
    name = (chosen.filename or "rulebook")[:MAX_NAME]
    loaded = await asyncio.to_thread(parse_rulebook, text, name)
    return _checked(request, visit, loaded, text, None)


async def _read(chosen: object) -> tuple[str | None, str]:
    """The chosen file's text, read no further than the size limit; or what is wrong (a key the page words)."""
    if not isinstance(chosen, UploadFile) or not chosen.filename:
        return "none", ""
    raw = await chosen.read(MAX_RULEBOOK_BYTES + 1)
    if not raw:
        return "empty", ""
    if len(raw) > MAX_RULEBOOK_BYTES:
        return "large", ""
    try:
        return None, raw.decode("utf-8")
    except UnicodeDecodeError:
        return "encoding", ""


def _checked(request: Request, visit: Visit, loaded: LoadedRulebook, text: str, error: str | None) -> Response:
    carried = base64.b64encode(text.encode(errors="surrogatepass")).decode("ascii")
    status = 200 if loaded.ok and error is None else 400
    return render(
        request, "operator_rulebook_checked.html", status_code=status, csrf=visit.csrf, loaded=loaded,
        summary=_summary(loaded), carried=carried, error=error,
    )  # fmt: skip


def _summary(loaded: LoadedRulebook) -> dict[str, Any] | None:
    """What a valid rulebook holds, as ``credo rulebook check`` prints it."""
    book = loaded.rulebook
    if book is None or not loaded.ok:
        return None
    return {
        "name": book.rulebook, "version": book.version, "effective_from": book.effective_from,
        "score": book.score, "grades": sorted(book.grades, key=lambda g: -g.min), "rules": len(book.rules),
        "lists": book.lists, "measures": book.measures, "examples": len(book.examples),
    }  # fmt: skip


@router.post("/operator/rulebooks/publish", response_class=HTMLResponse)
async def publish(request: Request, ctx: ContextDep) -> Response:
    """Publish the checked file (``credo rulebook publish``): checked again, stored, audited."""
    visit = await operator_visit(request, ctx, post=True, max_part_size=CARRIED)
    if not isinstance(visit, Visit):
        return visit
    name = field(visit.form, "name")[:MAX_NAME] or "rulebook"
    try:
        text = base64.b64decode(field(visit.form, "text"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return render(request, "operator_rulebook_upload.html", status_code=400, csrf=visit.csrf, error="none")
    try:
        done = await ctx.run_write(lambda uow: rulebooks.publish(uow, visit.actor, text, name))
    except CredoError as exc:
        loaded = await asyncio.to_thread(parse_rulebook, text, name)
        return _checked(request, visit, loaded, text, str(exc))
    outcome = "published" if done.created else "unchanged"
    return RedirectResponse(f"/operator/rulebooks?done={outcome}&version={done.version}", status_code=303)


@router.get("/operator/rulebooks/{version}/activate", response_class=HTMLResponse)
async def when(request: Request, ctx: ContextDep, version: str) -> Response:
    """From which day should the version be in force? (Its ``effective_from`` is offered.)"""
    visit = await operator_visit(request, ctx)
    if not isinstance(visit, Visit):
        return visit
    found = await _version(ctx, version)
    if found is None:
        return render(request, "not_found.html", status_code=404)
    return render(
        request, "operator_activate.html", csrf=visit.csrf, found=found, value=found.effective_from.isoformat(),
        error=None,
    )  # fmt: skip


@router.post("/operator/rulebooks/{version}/activate", response_class=HTMLResponse)
async def confirm(request: Request, ctx: ContextDep, version: str) -> Response:
    """The day checked; then, with ``confirmed``, the version activated (``credo rulebook activate --from``)."""
    visit = await operator_visit(request, ctx, post=True)
    if not isinstance(visit, Visit):
        return visit
    found = await _version(ctx, version)
    if found is None:
        return render(request, "not_found.html", status_code=404)
    value = field(visit.form, "from")
    try:
        day = dt.date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        day = None
    if day is None:
        error = "empty" if not value else "invalid"
        return render(
            request, "operator_activate.html", status_code=400, csrf=visit.csrf, found=found, value=value, error=error
        )
    if field(visit.form, "confirmed") != "yes":
        return render(request, "operator_activate_confirm.html", csrf=visit.csrf, found=found, day=day)
    done = await ctx.run_write(lambda uow: rulebooks.activate(uow, visit.actor, found.version, day))
    return RedirectResponse(
        f"/operator/rulebooks?done=activated&version={done.version}&from={done.active_from.isoformat()}",
        status_code=303,
    )


async def _version(ctx: Any, version: str) -> Any:
    if len(version) > 100:
        return None
    return next((v for v in await ctx.run_read(rulebooks.versions) if v.version == version), None)
