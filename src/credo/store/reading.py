"""Reading scores from the store: ``credo score`` and ``credo explain`` without files.

A subject is found by its keyed hash under each kind its identifier is valid
for (a string can in principle be both a resident number and a USCC). Without
a date, the answer is the stored current state, brought up to date first if
it is no longer exact (:func:`credo.store.scoring.current_state`); with a
date, it is recomputed from the stored records under the rulebook in force on
that date, and nothing is written. Messages never contain the identifier.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from sqlalchemy import Connection

from credo.domain.changes import ScoreState, explanation_without_consent, score_state
from credo.domain.consent import is_scored
from credo.domain.explanation import Explanation
from credo.domain.identifiers import problem_with_identifier
from credo.domain.records import KINDS
from credo.domain.scoring import explain
from credo.errors import SubjectNotInStore
from credo.store.audit import AuditEntry, append
from credo.store.bootstrap import Store
from credo.store.consent import consent_histories
from credo.store.rulebooks import rulebook_at
from credo.store.scoring import current_state, load_subject_records, suppressed_records
from credo.store.subjects import stored_subjects

__all__ = ["SubjectNotInStore", "SubjectScore", "explain_subject", "find_subjects", "score_subject"]


Reader = tuple[str, str, str]  # who reads, for the audit trail: role, actor, purpose


@dataclass(frozen=True)
class SubjectScore:
    identifier: str
    kind: str
    state: ScoreState

    def to_json(self) -> dict[str, object]:
        return {"subject_id": self.identifier, "subject_kind": self.kind, **self.state.to_json()}


def find_subjects(store: Store, connection: Connection, identifier: str) -> list[tuple[int, str]]:
    """(surrogate id, kind) of each stored subject the identifier names, by keyed hash."""
    if all(problem_with_identifier(identifier, kind) is not None for kind in KINDS):
        raise SubjectNotInStore("the identifier is neither a valid resident identity number nor a valid USCC")
    found = stored_subjects(connection, store.keys(connection), identifier)
    if not found:
        raise SubjectNotInStore("no subject with this identifier is in the store")
    return found


def _log_read(connection: Connection, store: Store, reader: Reader | None, action: str, ids: list[int]) -> None:
    if reader is not None:
        role, actor, purpose = reader
        append(connection, [AuditEntry(role, actor, action, purpose, sid, {}) for sid in ids], store.clock())


def score_subject(
    store: Store, identifier: str, today: dt.date, as_of: dt.date | None = None, *, reader: Reader | None = None
) -> list[SubjectScore]:
    """The subject's state: current at ``today`` (kept in the store), or recomputed at ``as_of``.

    ``reader`` (role, actor, purpose) puts the read in the audit trail.
    """
    with store.begin() as connection:
        found = find_subjects(store, connection, identifier)
        _log_read(connection, store, reader, "score.read", [sid for sid, _ in found])
        if as_of is None:
            return [SubjectScore(identifier, kind, current_state(connection, sid, today)) for sid, kind in found]
        _, book = rulebook_at(connection, as_of)
        ids = [sid for sid, _ in found]
        loaded = load_subject_records(connection, ids)
        hidden = suppressed_records(connection, ids)
        agreed = consent_histories(connection, ids)
        return [
            SubjectScore(
                identifier,
                kind,
                score_state(
                    book,
                    str(sid),
                    kind,
                    loaded[sid][1],
                    as_of,
                    suppressed=hidden.get(sid, frozenset()),
                    consent=agreed.get(sid, ()),
                ),
            )
            for sid, kind in found
        ]


def explain_subject(
    store: Store, identifier: str, today: dt.date, as_of: dt.date | None = None, *, reader: Reader | None = None
) -> list[Explanation]:
    """The batch explanation of the subject from its stored records, at ``as_of`` or (kept current) at ``today``."""
    with store.begin() as connection:
        found = find_subjects(store, connection, identifier)
        _log_read(connection, store, reader, "explanation.read", [sid for sid, _ in found])
        day = today if as_of is None else as_of
        if as_of is None:  # the stored state is brought up to date, as credo score does
            for sid, _ in found:
                current_state(connection, sid, today)
        _, book = rulebook_at(connection, day)
        ids = [sid for sid, _ in found]
        loaded = load_subject_records(connection, ids)
        hidden = suppressed_records(connection, ids)
        agreed = consent_histories(connection, ids)
        explanations = []
        for sid, kind in found:
            e = explain(book, str(sid), kind, loaded[sid][1], day, hidden.get(sid, frozenset()))
            if not is_scored(book, kind, agreed.get(sid, ()), day):
                e = explanation_without_consent(book, e)
            explanations.append(replace(e, subject_id=identifier))
        return explanations
