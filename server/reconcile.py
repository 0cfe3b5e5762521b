"""Reconciliation: read the badges a provider holds back into badgeflow.

Example::

    report = await reconcile_connection(runner, connection, client, since=None, now=now)

Every badge read is upserted as a provider badge (state, expiry, replacement). A badge
carrying one of badgeflow's earner keys (`badgeflow-<award id>-<outbox id>`) is linked to
its award; a badge issued directly on the provider is kept with no award. When the
provider says the badge that stands for an award was revoked or deleted, the award is
revoked here too, by ADMIN (so processing never awards it again) and without queueing a
provider revoke: the provider already did it. `apply_provider_badge` is that one rule,
shared with the webhook receiver.

Not seen by a sweep: badges deleted on the provider (they are simply absent from the
listing); Credly reports those through `badge.deleted` webhooks."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from server.domain import (
    AwardRecord,
    AwardState,
    ConnectionRecord,
    OutboxAction,
    OutboxState,
    ProviderBadgeRecord,
    RevokedBy,
)
from server.providers.base import BadgeProvider, ProviderBadge, ProviderBadgeState
from server.providers.records import provider_badge_record
from server.store import awards as awards_repo
from server.store import outbox as outbox_repo
from server.store.sync import get_provider_badge
from server.transactions import TransactionRunner

__all__ = ["BadgeOutcome", "ReconcileReport", "apply_provider_badge", "reconcile_connection"]

DEFAULT_WRITE_BATCH = 200
_EARNER_KEY = re.compile(r"badgeflow-(\d+)-(\d+)")
_TERMINAL = {ProviderBadgeState.REVOKED, ProviderBadgeState.DELETED}


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    seen: int = 0  # badges read from the provider
    linked: int = 0  # of those, badges of a badgeflow award
    direct: int = 0  # issued directly on the provider (no award)
    revoked_here: int = 0  # awards revoked because the provider revoked their badge


@dataclass(frozen=True, slots=True)
class BadgeOutcome:
    award_id: int | None
    revoked_here: bool
    stale: bool  # older than what is stored: nothing written


async def reconcile_connection(
    runner: TransactionRunner,
    connection: ConnectionRecord,
    client: BadgeProvider,
    since: datetime | None,
    now: datetime,
    *,
    batch: int = DEFAULT_WRITE_BATCH,
) -> ReconcileReport:
    """Read `client.badges(since)` (all pages) and apply each; writes in batches, so a
    sweep cut short by a provider error keeps what it read."""
    report = ReconcileReport()
    pending: list[ProviderBadge] = []
    async for badge in client.badges(since):
        pending.append(badge)
        if len(pending) >= batch:
            report = _add(report, await _apply_all(runner, connection.kind, pending, now))
            pending = []
    if pending:
        report = _add(report, await _apply_all(runner, connection.kind, pending, now))
    return report


def apply_provider_badge(
    session: Session, provider: str, badge: ProviderBadge, now: datetime
) -> BadgeOutcome:
    """Upsert one badge as the provider reports it, link it to its award, and revoke the
    award here when the provider withdrew the badge that stands for it."""
    stored = get_provider_badge(session, provider, badge.external_id)
    if stored is not None and _stale(stored, badge):
        return BadgeOutcome(stored.award_id, revoked_here=False, stale=True)
    award_id = _linked_award(session, badge.earner_key)
    if award_id is None and stored is not None:
        award_id = stored.award_id
    outbox_repo.upsert_provider_badge(
        session, provider_badge_record(provider, badge, award_id), now
    )
    revoked = award_id is not None and _revoke_if_current(session, provider, award_id, badge, now)
    return BadgeOutcome(award_id, revoked_here=revoked, stale=False)


async def _apply_all(
    runner: TransactionRunner, provider: str, badges: list[ProviderBadge], now: datetime
) -> list[BadgeOutcome]:
    return await runner.write(
        lambda s: [apply_provider_badge(s, provider, badge, now) for badge in badges]
    )


def _add(report: ReconcileReport, outcomes: list[BadgeOutcome]) -> ReconcileReport:
    linked = sum(1 for o in outcomes if o.award_id is not None)
    return ReconcileReport(
        seen=report.seen + len(outcomes),
        linked=report.linked + linked,
        direct=report.direct + len(outcomes) - linked,
        revoked_here=report.revoked_here + sum(1 for o in outcomes if o.revoked_here),
    )


def _stale(stored: ProviderBadgeRecord, badge: ProviderBadge) -> bool:
    """Events arrive out of order: an older snapshot never overwrites a newer one, except
    that revoked and deleted are final whatever their timestamps say."""
    if badge.state in _TERMINAL:
        return False
    return (
        stored.updated_at is not None
        and badge.updated_at is not None
        and badge.updated_at < stored.updated_at
    )


def _earner_key(key: str) -> tuple[int, int] | None:
    match = _EARNER_KEY.fullmatch(key)
    return (int(match[1]), int(match[2])) if match else None


def _linked_award(session: Session, key: str) -> int | None:
    """The award named by a badgeflow earner key, if that award did ask for this issue
    (a key that merely looks like ours links nothing)."""
    parsed = _earner_key(key)
    if parsed is None:
        return None
    award_id, item_id = parsed
    items = outbox_repo.list_outbox(session, award_id=award_id)
    return award_id if any(i.id == item_id for i in items) else None


def _revoke_if_current(
    session: Session, provider: str, award_id: int, badge: ProviderBadge, now: datetime
) -> bool:
    award = awards_repo.get_award(session, award_id)
    if award is None or award.state is not AwardState.AWARDED or badge.replaced_by:
        return False
    if not _withdrawn(badge, award) or not _stands_for(session, award_id, badge):
        return False
    revoked = dataclasses.replace(
        award,
        state=AwardState.REVOKED,
        revoked_at=now,
        revoked_by=RevokedBy.ADMIN,
        revoke_reason=f"revoked on {provider.title()}",
    )
    awards_repo.update_award(session, revoked)
    return True


def _withdrawn(badge: ProviderBadge, award: AwardRecord) -> bool:
    """Revoked or deleted; for Accredible (whose revoke is an expiry) also expired before
    the award itself expires."""
    if badge.state in _TERMINAL:
        return True
    if badge.state is not ProviderBadgeState.EXPIRED:
        return False
    if award.expires_at is None or badge.expires_at is None:
        return True
    return badge.expires_at.date() < award.expires_at.date()


def _stands_for(session: Session, award_id: int, badge: ProviderBadge) -> bool:
    """Whether the badge is the one the award's latest issue produced. An award revoked by
    a penalty and earned again is issued anew (a new earner key): the old, revoked badge
    must not take the new award back."""
    issues = [
        i
        for i in outbox_repo.list_outbox(session, award_id=award_id)
        if i.action is OutboxAction.ISSUE
    ]
    if not issues:
        return True
    latest = max(issues, key=lambda i: i.id or 0)
    if latest.state is OutboxState.PENDING:
        return False  # a new badge is on its way
    parsed = _earner_key(badge.earner_key)
    return parsed is None or parsed[1] == latest.id
