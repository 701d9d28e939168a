"""Who acts, as the audit trail names them."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Actor"]


@dataclass(frozen=True)
class Actor:
    """A role and a name (a token's principal, or ``cli:`` and the user at the command line).

    ``at``: who ran the command, when they act under another name (a reviewer deciding as ``rita``).
    """

    role: str
    name: str
    at: str | None = None
