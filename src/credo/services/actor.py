"""Who acts, as the audit trail names them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from credo.store.audit import AuditEntry

__all__ = ["Actor", "operation"]


@dataclass(frozen=True)
class Actor:
    """A role and a name (a token's principal, or ``cli:`` and the user at the command line).

    ``at``: who ran the command, when they act under another name (a reviewer deciding as ``rita``).
    """

    role: str
    name: str
    at: str | None = None


def operation(actor: Actor, action: str, detail: Mapping[str, Any]) -> AuditEntry:
    """The audit entry of an operator's (or auditor's) action on the deployment, about no one subject."""
    return AuditEntry(actor.role, actor.name, action, "operation", None, dict(detail))
