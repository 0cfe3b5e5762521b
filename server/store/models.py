"""Typed ORM models: the schema that `migrations/` creates.

Repositories map these rows to and from `server.domain` records, so nothing outside
`server.store` ever holds a model instance.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "NAMING_CONVENTION",
    "Award",
    "Base",
    "Event",
    "Learner",
    "Outbox",
    "Progress",
    "ProviderBadge",
    "ProviderConnection",
    "RuleSet",
    "Template",
    "UtcDateTime",
    "WebhookEvent",
    "json_type",
]

# Explicit constraint names keep migrations reproducible across backends.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    SQLite has no timezone type: SQLAlchemy writes the wall-clock digits and drops the
    offset, and reads back naive values. Converting to UTC on the way in and tagging
    UTC on the way out makes both backends return the same aware values. Naive input is
    rejected because its meaning is a guess.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; use an aware UTC value")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def json_type() -> JSON:
    """JSON everywhere, JSONB on PostgreSQL (indexable, compact, no duplicate keys)."""
    return JSON().with_variant(JSONB(), "postgresql")  # type: ignore[return-value]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: json_type()}


class Learner(Base):
    __tablename__ = "learners"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    email: Mapped[str] = mapped_column(String, default="", server_default=text("''"))
    first_name: Mapped[str] = mapped_column(String, default="", server_default=text("''"))
    last_name: Mapped[str] = mapped_column(String, default="", server_default=text("''"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Template(Base):
    __tablename__ = "templates"
    __table_args__ = (UniqueConstraint("provider", "external_id"),)

    id: Mapped[str] = mapped_column(String(300), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    active: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The connection a sync found it through (added in 0004); empty for rule-created ones.
    connection_id: Mapped[str] = mapped_column(String(300), default="", server_default=text("''"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class RuleSet(Base):
    __tablename__ = "rule_sets"

    # Not autoincrement: each apply writes previous+1, so two racing applies collide on
    # the primary key instead of both succeeding.
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    files: Mapped[list[list[str]]] = mapped_column(json_type())
    applied_at: Mapped[datetime]


class Event(Base):
    __tablename__ = "events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(255))
    learner_id: Mapped[str] = mapped_column(String(255), index=True)
    occurred_at: Mapped[datetime]
    # Indexed (added in 0006) for the retention sweep.
    received_at: Mapped[datetime] = mapped_column(index=True)
    payload: Mapped[dict[str, Any]]
    source: Mapped[str] = mapped_column(String(255), default="", server_default=text("''"))


class Progress(Base):
    __tablename__ = "progress"
    __table_args__ = (
        UniqueConstraint("learner_id", "template_id"),
        Index("ix_progress_template_id_learner_id", "template_id", "learner_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    learner_id: Mapped[str] = mapped_column(String(255))
    template_id: Mapped[str] = mapped_column(String(300), ForeignKey("templates.id"))
    requirements: Mapped[dict[str, Any]]
    # State of counting/ordered requirements not yet fulfilled (added in 0002).
    partial: Mapped[dict[str, Any]] = mapped_column(
        json_type(), default=dict, server_default=text("'{}'")
    )
    fulfilled_groups: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    total_groups: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Derived (total > 0 and fulfilled == total) but stored so views can filter on it.
    completed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    times_awarded: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[datetime]


class Award(Base):
    __tablename__ = "awards"
    __table_args__ = (
        # One award per learner x template; repeatable badges bump the sequence.
        UniqueConstraint("learner_id", "template_id", "sequence"),
        CheckConstraint("state IN ('awarded', 'revoked')", name="state"),
        CheckConstraint(
            "revoked_by IS NULL OR revoked_by IN ('penalty', 'admin')", name="revoked_by"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    learner_id: Mapped[str] = mapped_column(String(255), index=True)
    template_id: Mapped[str] = mapped_column(String(300), ForeignKey("templates.id"))
    badge: Mapped[str] = mapped_column(String(255))
    sequence: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    awarded_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(16))
    revoke_reason: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    event_ids: Mapped[list[str]] = mapped_column(json_type())
    expires_at: Mapped[datetime | None]
    # [[kind, name, value], ...] (added in 0002).
    evidence: Mapped[list[list[str]]] = mapped_column(
        json_type(), default=list, server_default=text("'[]'")
    )
    # "rules", "grant" or "backfill", and a grant's reason (added in 0006).
    origin: Mapped[str] = mapped_column(String(16), default="rules", server_default="rules")
    grant_reason: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))


class Outbox(Base):
    """Provider calls owed for awards, written in the award's transaction (added in 0003)."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_state_next_attempt_at", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    award_id: Mapped[int] = mapped_column(Integer, ForeignKey("awards.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    template_id: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    outcome_unknown: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    last_error: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    provider_badge_id: Mapped[str] = mapped_column(
        String(255), default="", server_default=text("''")
    )
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ProviderBadge(Base):
    """Badges as the providers hold them (added in 0003)."""

    __tablename__ = "provider_badges"
    __table_args__ = (UniqueConstraint("provider", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(255))
    template_external_id: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16))
    recipient_email: Mapped[str] = mapped_column(String(320), default="", server_default=text("''"))
    award_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("awards.id"), index=True)
    issued_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    replaced_by: Mapped[str] = mapped_column(String(255), default="", server_default=text("''"))
    url: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    accept_url: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    updated_at: Mapped[datetime]


class ProviderConnection(Base):
    """Provider connections (added in 0004); tokens sealed, see server.secrets."""

    __tablename__ = "provider_connections"

    id: Mapped[str] = mapped_column(String(300), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255))
    organization_id: Mapped[str] = mapped_column(String(255))
    base_url: Mapped[str] = mapped_column(String(255))
    sealed_token: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WebhookEvent(Base):
    """Provider webhook events already acted on (added in 0005): Credly delivers at least
    once, so an event id is processed once per connection."""

    __tablename__ = "webhook_events"

    connection_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(255))
    processed_at: Mapped[datetime]


class ApiKey(Base):
    """API keys (added in 0007): the secret only as its SHA-256 hash, found by the public
    `key_id` that is part of the key (see server.auth_keys)."""

    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
