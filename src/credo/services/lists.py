"""The public lists, as anyone reads them: is this identifier on a list, and a list's published entries.

Answers come from the read model of list members only (ADR 0008): nothing is computed or refreshed, and an
identifier Credo holds records about and one it has never seen take the same statements, so the answer
tells nothing beyond the list. A lookup that found a published entry, and each page of entries shown, is a
read of personal data and leaves an entry; a lookup that found none reveals nothing and leaves none.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from credo.domain.identifiers import mask_identifier
from credo.domain.lists import publication
from credo.domain.rulebook import ListDef
from credo.services.identify import subject_keys
from credo.services.unit_of_work import UnitOfWork
from credo.store.audit import AuditEntry
from credo.store.errors import NotFoundError
from credo.store.list_members import members_of, on_list

__all__ = ["browse", "look_up"]


def look_up(uow: UnitOfWork, list_id: str, identifier: str) -> dict[str, Any]:
    """Whether the subject the identifier names is on the list and published today, and since when.

    The list is found first: an unknown list is said before a bad identifier is. The same statements for any
    identifier: its keyed hashes, then the list's members (ADR 0008).
    """
    lst = _list(uow, list_id)
    found = on_list(uow.connection, lst.id, subject_keys(uow, identifier))
    answer: dict[str, Any] = {
        "list": lst.id, "kind": lst.kind, "title": lst.title, "legal_basis": lst.legal_basis, "listed": False,
    }  # fmt: skip
    subject_id = None
    for sid, since in found:
        until = publication(lst, since, uow.today)
        if until is not False:
            subject_id = sid
            answer["listed"] = True
            answer["since"] = None if since is None else since.isoformat()
            answer["published_until"] = None if until is None else until.isoformat()
    if subject_id is not None:
        detail = {"list": list_id}
        uow.audit(AuditEntry("public", "public", "list.lookup", f"public list {list_id}", subject_id, detail))
    return answer


def browse(uow: UnitOfWork, list_id: str, offset: int, limit: int) -> dict[str, Any]:
    """A page of the entries public today, the most recent first, identifiers masked."""
    lst, today = _list(uow, list_id), uow.today
    if lst.publish_for is None and lst.kind != "red":
        members = []  # a black list without a publication period is never public
    else:
        entered_from = None if lst.publish_for is None else today - dt.timedelta(days=lst.publish_for - 1)
        members = members_of(uow.connection, lst.id, entered_from=entered_from, offset=offset, limit=limit + 1)
    entries = []
    for m in members[:limit]:
        until = publication(lst, m.since, today)
        entries.append(
            {
                "subject": mask_identifier(uow.ring.decrypt(m.identifier_enc).decode()), "kind": m.kind,
                "since": None if m.since is None else m.since.isoformat(),
                "published_until": None if until is None or until is False else until.isoformat(),
            }
        )  # fmt: skip
    shown = [m.subject_id for m in members[:limit]]
    if shown:  # the entries shown are personal data: one entry a page (no amplification)
        detail = {"list": list_id, "offset": offset, "subjects": shown}
        uow.audit(AuditEntry("public", "public", "list.browse", f"public list {list_id}", None, detail))
    return {
        "list": lst.id, "kind": lst.kind, "title": lst.title, "legal_basis": lst.legal_basis,
        "as_of": today.isoformat(), "entries": entries, "offset": offset, "limit": limit,
        "next_offset": offset + limit if len(members) > limit else None,
    }  # fmt: skip


def _list(uow: UnitOfWork, list_id: str) -> ListDef:
    lst = next((x for x in uow.rulebook().lists if x.id == list_id), None)
    if lst is None:
        raise NotFoundError(f"the rulebook in force defines no list {list_id}")
    return lst
