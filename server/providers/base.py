"""The provider port: what badgeflow asks of Credly and Accredible, in its own terms.

Both clients implement `BadgeProvider`; the issuance worker, the sync and the webhook
receiver use only this, so they work the same over either provider (and over the
emulator). Provider wire formats stay inside credly.py and accredible.py."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

__all__ = [
    "BadgeProvider",
    "EvidenceSpec",
    "IssueRequest",
    "ProviderBadge",
    "ProviderBadgeState",
    "ProviderEvent",
    "ProviderTemplate",
    "Recipient",
]


class ProviderBadgeState(enum.StrEnum):
    PENDING = "pending"  # Credly: issued, the earner has not accepted yet
    ACCEPTED = "accepted"  # Credly: accepted; Accredible: issued (approved)
    REJECTED = "rejected"  # Credly: the earner declined it
    REVOKED = "revoked"  # Credly: revoked by the issuer
    EXPIRED = "expired"  # Accredible: expired_on passed or set (its "revoke")
    DELETED = "deleted"  # gone from the provider


@dataclass(frozen=True, slots=True)
class ProviderTemplate:
    """A Credly badge template or an Accredible group."""

    external_id: str
    name: str
    description: str
    image_url: str
    state: str  # Credly: "active" | "draft" | "archived"; Accredible groups: "active"
    url: str = ""
    allow_duplicates: bool = False  # whether one earner may hold it twice


@dataclass(frozen=True, slots=True)
class Recipient:
    learner_id: str
    email: str
    first_name: str
    last_name: str


@dataclass(frozen=True, slots=True)
class EvidenceSpec:
    kind: str  # "url", "id" or "text"
    name: str
    value: str


@dataclass(frozen=True, slots=True)
class IssueRequest:
    """One badge to issue. `earner_key` is badgeflow's idempotency key for the award
    (Credly `issuer_earner_id`); it is how an unknown outcome is looked up afterwards."""

    template_external_id: str
    recipient: Recipient
    issued_at: datetime
    earner_key: str
    expires_at: datetime | None = None
    evidence: tuple[EvidenceSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class ProviderBadge:
    """A badge (Credly) or credential (Accredible) as the provider holds it."""

    external_id: str
    template_external_id: str
    recipient_email: str
    state: ProviderBadgeState
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    earner_key: str = ""
    replaced_by: str = ""  # Credly: the badge that replaced this one
    url: str = ""  # public badge page
    accept_url: str = ""  # where a pending earner accepts it
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    """A Credly event, re-fetched by id (webhooks carry only the id we trust)."""

    id: str
    type: str  # e.g. "badge.state.changed", "badge_template.changed"
    organization_id: str
    badge: ProviderBadge | None = None
    template: ProviderTemplate | None = None


class BadgeProvider(Protocol):
    """One provider connection (a Credly organisation or an Accredible configuration).

    Every method raises only `server.providers.errors.ProviderError` subclasses."""

    kind: str  # "credly" or "accredible"

    async def organization_name(self) -> str:
        """Read the organisation (checks the credentials): its display name."""
        ...

    def templates(self) -> AsyncIterator[ProviderTemplate]:
        """Every template to sync, all pages: Credly active templates only; Accredible
        every group of this configuration, image from its design."""
        ...

    async def issue(self, request: IssueRequest) -> ProviderBadge:
        """Issue one badge. A duplicate the template forbids raises ProviderDuplicate."""
        ...

    async def find(
        self, template_external_id: str, earner_key: str, email: str
    ) -> ProviderBadge | None:
        """The badge issued for this award, if the provider holds one (used before
        sending again after an unknown outcome, and after a duplicate)."""
        ...

    async def get_badge(self, external_id: str) -> ProviderBadge | None: ...

    async def revoke(self, external_id: str, reason: str) -> ProviderBadge:
        """Credly revoke with a reason; Accredible expire now."""
        ...

    async def update_expiry(self, external_id: str, expires_at: datetime | None) -> ProviderBadge:
        """Extend the existing badge: Credly replace (a new id), Accredible update."""
        ...

    def badges(self, updated_since: datetime | None) -> AsyncIterator[ProviderBadge]:
        """Issued badges for reconciliation, all pages."""
        ...

    async def fetch_event(self, event_id: str) -> ProviderEvent:
        """Credly only: one event with its details."""
        ...

    async def aclose(self) -> None: ...
