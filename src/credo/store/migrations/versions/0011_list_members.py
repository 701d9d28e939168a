"""The read model of current list memberships, and decisions about no stored subject (ADR 0008).

``list_members`` holds one row per subject on a list now, keyed by the list
and the subject's keyed hash, with the day it entered. It is filled here
from the stored states and their ``list_entered`` events, and kept from then
on wherever list events are written (``credo.store.list_members``).

``decisions.subject_id`` may be NULL: a relying party asking about a
subject Credo holds nothing about is answered as about a subject with no
records, and the decision is kept without a subject.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 14:00:00
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def _date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.alter_column("subject_id", existing_type=sa.Integer, nullable=True)
    table = op.create_table(
        "list_members",
        sa.Column("list_id", sa.String(100), nullable=False),
        sa.Column("subject_key", sa.LargeBinary(32), nullable=False),
        sa.Column("subject_id", sa.Integer, nullable=False),
        sa.Column("since", sa.Date, nullable=True),
        sa.ForeignKeyConstraint(["subject_id"], ["subjects.id"], name="fk_list_members_subject_id_subjects"),
        sa.PrimaryKeyConstraint("list_id", "subject_key", name="pk_list_members"),
    )
    op.create_index("ix_list_members_subject_id", "list_members", ["subject_id"])
    connection = op.get_bind()
    on_lists = connection.execute(
        sa.text(
            "SELECT c.subject_id, c.lists, s.subject_key FROM current_scores c JOIN subjects s ON s.id = c.subject_id"
        )
    ).all()
    rows = []
    for subject_id, lists, key in on_lists:
        names = _json(lists) or []
        if not names:
            continue
        since: dict[str, dt.date | None] = {}
        events = connection.execute(
            sa.text(
                "SELECT event_type, detail, as_of FROM outbox WHERE subject_id = :sid "
                "AND event_type IN ('list_entered', 'list_left') ORDER BY id DESC"
            ),
            {"sid": subject_id},
        ).all()
        for event_type, detail, as_of in events:
            list_id = _json(detail).get("list")
            if list_id in names and list_id not in since:
                since[list_id] = _date(as_of) if event_type == "list_entered" else None
        rows += [
            {"list_id": name, "subject_key": key, "subject_id": subject_id, "since": since.get(name)} for name in names
        ]
    if rows:
        op.bulk_insert(table, rows)


def downgrade() -> None:
    op.execute("DELETE FROM decisions WHERE subject_id IS NULL")
    with op.batch_alter_table("decisions") as batch:
        batch.alter_column("subject_id", existing_type=sa.Integer, nullable=False)
    op.drop_index("ix_list_members_subject_id", table_name="list_members")
    op.drop_table("list_members")
