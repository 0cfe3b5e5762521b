"""Issuance: the outbox of provider calls and the provider badges.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _text(name: str, type_: sa.types.TypeEngine[object]) -> sa.Column[object]:
    return sa.Column(name, type_, nullable=False, server_default=sa.text("''"))


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("award_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("template_id", sa.String(300), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        _timestamp("next_attempt_at"),
        _timestamp("lease_until", nullable=True),
        sa.Column("outcome_unknown", sa.Boolean(), nullable=False, server_default=sa.false()),
        _text("last_error", sa.Text()),
        _text("provider_badge_id", sa.String(255)),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.ForeignKeyConstraint(["award_id"], ["awards.id"], name="fk_outbox_award_id_awards"),
    )
    op.create_index("ix_outbox_award_id", "outbox", ["award_id"])
    op.create_index("ix_outbox_state_next_attempt_at", "outbox", ["state", "next_attempt_at"])
    op.create_table(
        "provider_badges",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("external_id", sa.String(255), nullable=False),
        sa.Column("template_external_id", sa.String(255), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        _text("recipient_email", sa.String(320)),
        sa.Column("award_id", sa.Integer(), nullable=True),
        _timestamp("issued_at", nullable=True),
        _timestamp("expires_at", nullable=True),
        _text("replaced_by", sa.String(255)),
        _text("url", sa.Text()),
        _text("accept_url", sa.Text()),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_provider_badges"),
        sa.ForeignKeyConstraint(
            ["award_id"], ["awards.id"], name="fk_provider_badges_award_id_awards"
        ),
        sa.UniqueConstraint(
            "provider", "external_id", name="uq_provider_badges_provider_external_id"
        ),
    )
    op.create_index("ix_provider_badges_award_id", "provider_badges", ["award_id"])


def downgrade() -> None:
    op.drop_table("provider_badges")
    op.drop_table("outbox")
