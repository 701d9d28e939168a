"""Key rotation (``credo keys rotate``): a new key version, every identifier re-hashed and re-encrypted.

The rotation runs its own transactions around the key file (old and new keys side by side, then everything
rewritten at once, then the old keys dropped: :func:`credo.store.rotate.rotate_keys`); what it did is audited
once it has committed, so the entry is sealed under the new keys' store.
"""

from __future__ import annotations

from credo.services.actor import Actor, operation
from credo.services.unit_of_work import audit_afterwards
from credo.store.bootstrap import Store
from credo.store.rotate import RotationReport, rotate_keys

__all__ = ["rotate"]


def rotate(store: Store, operator: Actor) -> RotationReport:
    """Rotate the store's keys, then leave the operator's act in the audit trail."""
    report = rotate_keys(store)
    detail = {"from_version": report.old_version, "to_version": report.new_version, "subjects": report.subjects}
    audit_afterwards(store, operation(operator, "keys.rotate", detail))
    return report
