"""Plain records shared by the engine, the store and the servicers.

They carry no behaviour beyond small derived values, so the engine can be tested with
in-memory fakes and the store can map them to rows without knowing the rules language.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "AwardOrigin",
    "AwardRecord",
    "AwardState",
    "ConnectionRecord",
    "EventRecord",
    "EvidenceItem",
    "LearnerRecord",
    "OutboxAction",
    "OutboxItem",
    "OutboxState",
    "ProviderBadgeRecord",
    "ProgressRecord",
    "RequirementState",
    "RevokedBy",
    "RuleSetRecord",
    "TemplateRecord",
]


class AwardState(enum.StrEnum):
    AWARDED = "awarded"
    REVOKED = "revoked"


class RevokedBy(enum.StrEnum):
    PENALTY = "penalty"
    ADMIN = "admin"


class AwardOrigin(enum.StrEnum):
    """How an award came about: live processing, an admin's grant, or a backfill."""

    RULES = "rules"
    GRANT = "grant"
    BACKFILL = "backfill"


# Not frozen: built once per event on the ingest path, where a frozen dataclass's
# __init__ (object.__setattr__ per field) costs about 4x a plain one. Never mutated.
@dataclass(slots=True)
class LearnerRecord:
    """The learner as the latest event described them."""

    id: str
    email: str = ""
    first_name: str = ""
    last_name: str = ""


@dataclass(slots=True)  # not frozen: see LearnerRecord
class EventRecord:
    """One accepted event as kept in the event log (which doubles as the idempotency
    record: one row per event id)."""

    id: str
    type: str
    learner_id: str
    occurred_at: datetime
    received_at: datetime
    payload: dict[str, Any]
    source: str = ""
    #: `payload` as JSON text, when the sender gave it so (stored verbatim).
    payload_text: str | None = None


@dataclass(frozen=True, slots=True)
class EvidenceItem:
    """One piece of evidence sent with a badge (a link, an id or a text)."""

    kind: str  # "url", "id" or "text"
    name: str
    value: str


@dataclass(frozen=True, slots=True)
class RequirementState:
    """A fulfilled requirement: when, by which events, and the evidence rendered from
    the event that fulfilled it."""

    fulfilled_at: datetime
    event_ids: tuple[str, ...]
    evidence: tuple[EvidenceItem, ...] = ()


@dataclass(slots=True)
class ProgressRecord:
    """One learner's progress on one template.

    `requirements` holds only fulfilled requirements, keyed by requirement name;
    `partial` the small state of counting/ordered requirements not fulfilled yet; the
    group counts are derived by the engine from the rules in force and stored beside it
    so views can filter and sort without the rules.
    """

    learner_id: str
    template_id: str
    requirements: dict[str, RequirementState] = field(default_factory=dict)
    partial: dict[str, dict[str, Any]] = field(default_factory=dict)
    fulfilled_groups: int = 0
    total_groups: int = 0
    times_awarded: int = 0
    updated_at: datetime | None = None

    @property
    def completed(self) -> bool:
        return self.total_groups > 0 and self.fulfilled_groups == self.total_groups


@dataclass(slots=True)
class AwardRecord:
    """A badge awarded to a learner. `id` is None until the store assigns one."""

    learner_id: str
    template_id: str
    badge: str
    sequence: int
    state: AwardState
    awarded_at: datetime
    event_ids: tuple[str, ...] = ()
    revoked_at: datetime | None = None
    revoked_by: RevokedBy | None = None
    revoke_reason: str = ""
    expires_at: datetime | None = None
    evidence: tuple[EvidenceItem, ...] = ()
    origin: AwardOrigin = AwardOrigin.RULES
    grant_reason: str = ""
    id: int | None = None

    @property
    def revoked_by_admin(self) -> bool:
        """Taken back by an admin: processing and backfills never award it again."""
        return self.state is AwardState.REVOKED and self.revoked_by is RevokedBy.ADMIN


class OutboxAction(enum.StrEnum):
    ISSUE = "issue"
    REVOKE = "revoke"


class OutboxState(enum.StrEnum):
    PENDING = "pending"  # to send (again) at next_attempt_at
    SENT = "sent"  # the provider holds the result
    FAILED = "failed"  # gave up: rejected, or out of retries; an admin can retry


@dataclass(slots=True)
class OutboxItem:
    """One provider call owed for an award, written in the award's transaction."""

    award_id: int
    action: OutboxAction
    template_id: str
    state: OutboxState = OutboxState.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None
    lease_until: datetime | None = None
    outcome_unknown: bool = False
    last_error: str = ""
    provider_badge_id: str = ""
    id: int | None = None


@dataclass(frozen=True, slots=True)
class ProviderBadgeRecord:
    """A badge as a provider holds it; `award_id` is None for badges issued directly
    on the provider (found by reconciliation)."""

    provider: str
    external_id: str
    template_external_id: str
    state: str
    recipient_email: str = ""
    award_id: int | None = None
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    replaced_by: str = ""
    url: str = ""
    accept_url: str = ""
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ConnectionRecord:
    """A provider connection: a Credly organisation or an Accredible configuration.
    `sealed_token` is the token encrypted at rest; it is never returned or logged."""

    id: str  # "credly:<organization id>" or "accredible:<name>"
    kind: str
    name: str  # the organisation's name as the provider reports it
    organization_id: str
    base_url: str
    sealed_token: str
    active: bool
    created_at: datetime
    updated_at: datetime

    def __repr__(self) -> str:
        return f"ConnectionRecord(id={self.id!r}, kind={self.kind!r}, active={self.active})"


@dataclass(frozen=True, slots=True)
class TemplateRecord:
    """A provider badge template as badgeflow knows it."""

    id: str  # "<provider>:<external id>"
    provider: str
    external_id: str
    name: str
    description: str
    active: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class RuleSetRecord:
    """An applied rule set: the files exactly as applied, and its version."""

    version: int
    files: tuple[tuple[str, str], ...]  # (name, content)
    applied_at: datetime
