"""What runs use cases for an edge: the server's ``ApiContext`` (credo.api.context) is one.

A use case that needs several units of work (a read, then a write in the next group commit) is written
once in ``services/`` against this protocol, and the API route and the page both call it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from credo.services.unit_of_work import UnitOfWork
from credo.store.audit import AuditEntry

__all__ = ["Runner"]

T = TypeVar("T")


class Runner(Protocol):
    """Reads in a transaction of their own (their audit entries then written), writes group-committed."""

    async def run_read(
        self, service: Callable[[UnitOfWork], T], *, in_thread: bool = False, transaction: bool = True
    ) -> T: ...

    async def run_write(self, service: Callable[[UnitOfWork], T]) -> T: ...

    async def audit(self, *entries: AuditEntry) -> None: ...
