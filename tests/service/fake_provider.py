"""An in-memory BadgeProvider with scripted faults, for worker tests that must run
thousands of calls quickly. The real clients are tested against the emulator."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import count

from server.providers.base import (
    IssueRequest,
    ProviderBadge,
    ProviderBadgeState,
    ProviderEvent,
    ProviderTemplate,
)
from server.providers.errors import (
    ProviderDuplicate,
    ProviderOutcomeUnknown,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTransportError,
)


@dataclass
class Faults:
    server_errors: float = 0.0  # refused before applying
    drops: float = 0.0  # applied, then the connection drops
    rate_limits: float = 0.0  # 429
    reject_all: bool = False


@dataclass
class FakeProvider:
    kind: str = "credly"
    faults: Faults = field(default_factory=Faults)
    seed: int = 1
    badges: dict[str, ProviderBadge] = field(default_factory=dict)
    calls: int = 0
    updates: int = 0
    allow_duplicates: bool = False  # the template's setting: may one earner hold it twice?

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._ids = count(1)

    def _fault(self) -> str:
        self.calls += 1
        roll = self._rng.random()
        f = self.faults
        if roll < f.server_errors:
            return "5xx"
        if roll < f.server_errors + f.rate_limits:
            return "429"
        if roll < f.server_errors + f.rate_limits + f.drops:
            return "drop"
        return ""

    def _before(self) -> str:
        fault = self._fault()
        if fault == "5xx":
            raise ProviderTransportError("503 from the fake provider")
        if fault == "429":
            raise ProviderRateLimited("429 from the fake provider", retry_after=0.0)
        if self.faults.reject_all:
            raise ProviderRejected("400: template not issuable", 400)
        return fault

    def live(self) -> list[ProviderBadge]:
        gone = {ProviderBadgeState.REVOKED, ProviderBadgeState.EXPIRED, ProviderBadgeState.DELETED}
        return [b for b in self.badges.values() if b.state not in gone and not b.replaced_by]

    async def organization_name(self) -> str:
        return "Fake"

    async def templates(self) -> AsyncIterator[ProviderTemplate]:
        for template in ():
            yield template

    async def issue(self, request: IssueRequest) -> ProviderBadge:
        fault = self._before()
        for badge in [] if self.allow_duplicates else self.live():
            if (
                badge.template_external_id == request.template_external_id
                and badge.recipient_email == request.recipient.email
            ):
                raise ProviderDuplicate("422: already has this badge", 422)
        badge = ProviderBadge(
            external_id=f"b-{next(self._ids)}",
            template_external_id=request.template_external_id,
            recipient_email=request.recipient.email,
            state=ProviderBadgeState.PENDING,
            issued_at=request.issued_at,
            expires_at=request.expires_at,
            earner_key=request.earner_key,
        )
        self.badges[badge.external_id] = badge
        if fault == "drop":
            raise ProviderOutcomeUnknown("connection dropped after sending")
        return badge

    async def find(
        self, template_external_id: str, earner_key: str, email: str
    ) -> ProviderBadge | None:
        """Like Credly: by earner key first, then by recipient email (newest, not replaced)."""
        if self._before() == "drop":
            raise ProviderTransportError("connection dropped (read)")
        same = [
            b
            for b in self.badges.values()
            if b.template_external_id == template_external_id and not b.replaced_by
        ]
        matches = [b for b in same if earner_key and b.earner_key == earner_key]
        matches = matches or [b for b in same if email and b.recipient_email == email]
        return matches[-1] if matches else None

    async def get_badge(self, external_id: str) -> ProviderBadge | None:
        return self.badges.get(external_id)

    async def revoke(self, external_id: str, reason: str) -> ProviderBadge:
        fault = self._before()
        badge = replace(self.badges[external_id], state=ProviderBadgeState.REVOKED)
        self.badges[external_id] = badge
        if fault == "drop":
            raise ProviderOutcomeUnknown("connection dropped after sending")
        return badge

    async def update_expiry(self, external_id: str, expires_at: datetime | None) -> ProviderBadge:
        """Like Credly's replace: a new badge, the old one pointing at it."""
        self._before()
        old = self.badges[external_id]
        new = replace(old, external_id=f"b-{next(self._ids)}", expires_at=expires_at)
        self.badges[external_id] = replace(old, replaced_by=new.external_id)
        self.badges[new.external_id] = new
        self.updates += 1
        return new

    async def badges_since(self, updated_since: datetime | None) -> AsyncIterator[ProviderBadge]:
        for badge in list(self.badges.values()):
            yield badge

    async def fetch_event(self, event_id: str) -> ProviderEvent:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None
