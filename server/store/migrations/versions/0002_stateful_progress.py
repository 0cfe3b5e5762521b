"""Stateful criteria, expiry and evidence: progress.partial, awards.expires_at,
awards.evidence.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[object]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    # Server defaults fill existing rows: no partial state, no evidence.
    op.add_column(
        "progress", sa.Column("partial", _json(), nullable=False, server_default=sa.text("'{}'"))
    )
    op.add_column("awards", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "awards", sa.Column("evidence", _json(), nullable=False, server_default=sa.text("'[]'"))
    )


def downgrade() -> None:
    with op.batch_alter_table("awards") as batch:
        batch.drop_column("evidence")
        batch.drop_column("expires_at")
    with op.batch_alter_table("progress") as batch:
        batch.drop_column("partial")
