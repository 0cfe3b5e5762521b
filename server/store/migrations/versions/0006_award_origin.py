"""Award origin (rules, grant, backfill) with a grant's reason; events indexed by
arrival for the retention sweep.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("awards") as batch:
        batch.add_column(sa.Column("origin", sa.String(16), nullable=False, server_default="rules"))
        batch.add_column(
            sa.Column("grant_reason", sa.Text(), nullable=False, server_default=sa.text("''"))
        )
    op.create_index("ix_events_received_at", "events", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_events_received_at", table_name="events")
    with op.batch_alter_table("awards") as batch:
        batch.drop_column("grant_reason")
        batch.drop_column("origin")
