"""Consent: a person not scored without consent has no score and no grade (docs/due-process.md, "Consent").

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("current_scores") as batch:
        batch.alter_column("score", existing_type=sa.Integer, nullable=True)
        batch.alter_column("grade", existing_type=sa.String(20), nullable=True)


def downgrade() -> None:
    # Unconsented persons' rows have no score to keep: they are dropped, and rescored on the next refresh.
    op.execute("DELETE FROM current_scores WHERE score IS NULL OR grade IS NULL")
    with op.batch_alter_table("current_scores") as batch:
        batch.alter_column("score", existing_type=sa.Integer, nullable=False)
        batch.alter_column("grade", existing_type=sa.String(20), nullable=False)
