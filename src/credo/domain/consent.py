"""Consent to be scored (``score.requires_consent``), purely: who is asked, what holds on a day, what remains.

A rulebook may require persons' consent to be scored, as Rongcheng now does.
Organisations are never asked. A person's consent history is a sequence of
``(on, given)`` in the order it was written (the store's ``consents`` rows by
id); what holds on day D is the latest entry with ``on <= D``, the later
written on a tie; with none, consent was not given.

A person without consent on the scoring day is *unconsented*, and
:func:`without_consent` is the one place that says what that leaves of a
scoring outcome: no score, no grade, no dimensions, no reward; lists whose
entry does not depend on the grade or the score (entered by ``categories``,
adjudicated records) still apply, and so do penalties triggered by such a list
(``on_list``). Lists entered by grade and measures triggered by grade or by
dimension totals do not apply: never a penalty on a score alone. Every store
path (real-time, the refresh's walk and bulk paths, ``credo rescore``)
applies it, so all engines agree. See docs/due-process.md, "Consent".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from credo.domain.rulebook import Rulebook

if TYPE_CHECKING:
    from credo.domain.changes import ScoreState

__all__ = [
    "ConsentHistory",
    "asks_consent",
    "consent_days",
    "consent_on",
    "is_scored",
    "lists_without_consent",
    "measures_without_consent",
    "without_consent",
]

ConsentHistory = Sequence[tuple[dt.date, bool]]  # (on, given), in the order written


def consent_on(history: Iterable[tuple[dt.date, bool]], day: dt.date) -> bool:
    """Whether consent holds on ``day``: the latest entry on or before it (the later written on a tie)."""
    holding: tuple[dt.date, bool] | None = None
    for on, given in history:
        if on <= day and (holding is None or on >= holding[0]):
            holding = (on, given)
    return holding is not None and holding[1]


def asks_consent(book: Rulebook, kind: str) -> bool:
    """Whether the rulebook asks subjects of this kind for consent: only persons, only if it requires it."""
    return book.score.requires_consent and kind == "person"


def is_scored(book: Rulebook, kind: str, history: Iterable[tuple[dt.date, bool]], day: dt.date) -> bool:
    """Whether a subject is scored on ``day``: not asked for consent, or consent holds."""
    return not asks_consent(book, kind) or consent_on(history, day)


def consent_days(history: Iterable[tuple[dt.date, bool]], after: dt.date) -> set[dt.date]:
    """The days after ``after`` on which consent may change (entries dated ahead)."""
    return {on for on, _ in history if on > after}


def lists_without_consent(book: Rulebook) -> frozenset[str]:
    """The lists that still apply to an unconsented person: those entered by adjudicated categories."""
    return frozenset(lst.id for lst in book.lists if lst.enter_when.categories is not None)


def measures_without_consent(book: Rulebook) -> frozenset[str]:
    """The measures that still apply to an unconsented person: penalties on a list entered by categories."""
    kept = lists_without_consent(book)
    return frozenset(
        m.id for m in book.measures if m.kind == "penalty" and m.when.on_list is not None and m.when.on_list in kept
    )


def without_consent(book: Rulebook, state: ScoreState) -> ScoreState:
    """What remains of a scoring outcome for an unconsented person (the module's docstring says what and why).

    The lists and measures kept are those of ``state`` that do not depend on
    the grade, the score or the dimension totals; the rest is taken away.
    """
    lists, measures = lists_without_consent(book), measures_without_consent(book)
    return replace(
        state,
        score=None,
        grade=None,
        dimensions={},
        lists=tuple(i for i in state.lists if i in lists),
        measures=tuple(i for i in state.measures if i in measures),
    )
