"""Which list entries the public may see (pure): red lists while listed, black lists only for a period.

Naming and shaming must end: a black-list entry is public only during the
``publish_for`` period its list declares, counted from the day the subject
entered it (as China's court blacklist publishes a debtor for a fixed term),
and a black list that declares none is not public at all. A red list (an
honour roll) is public while the subject is on it, or for ``publish_for``
if it declares one.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from credo.domain.rulebook import ListDef

__all__ = ["publication"]


def publication(lst: ListDef, entered: dt.date | None, today: dt.date) -> dt.date | Literal[False] | None:
    """For a subject on ``lst`` since ``entered``: False if not public today, else the last public day (None: open).

    ``entered`` None means the day is not known; a list with a period is then not published.
    """
    if lst.publish_for is None:
        return None if lst.kind == "red" else False
    if entered is None:
        return False
    last = entered + dt.timedelta(days=lst.publish_for - 1)
    return last if today <= last else False
