"""Reads for the views of one learner's badges (the learner dashboard and the admin's
view): the templates, issuance states and provider badges around a learner's awards,
each in one statement per chunk instead of one per award. Functions never commit."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.domain import OutboxAction, OutboxState, ProviderBadgeRecord, TemplateRecord
from server.store._statements import chunks
from server.store.models import Outbox, ProviderBadge, Template
from server.store.outbox import provider_badge_from_row
from server.store.templates import template_from_row

__all__ = [
    "LatestIssue",
    "direct_provider_badges",
    "latest_issues",
    "provider_badges_by_award",
    "templates_by_ids",
]


class LatestIssue(NamedTuple):
    """Where an award's newest issue call stands, and the provider badge it produced."""

    state: OutboxState
    provider_badge_id: str


def templates_by_ids(
    session: Session, ids: Collection[str], *, with_active: bool = False
) -> dict[str, TemplateRecord]:
    """The named templates that exist, plus every active one when `with_active` (the
    dashboard offers those)."""
    found: dict[str, TemplateRecord] = {}
    if with_active:
        stmt = select(Template).where(Template.active.is_(True))
        found.update((row.id, template_from_row(row)) for row in _fetch(session, stmt))
    for chunk in chunks(sorted(set(ids) - set(found))):
        stmt = select(Template).where(Template.id.in_(chunk))
        found.update((row.id, template_from_row(row)) for row in _fetch(session, stmt))
    return found


def latest_issues(session: Session, award_ids: Collection[int]) -> dict[int, LatestIssue]:
    """Per award, its newest issue item: a re-issue or a re-award after a penalty
    supersedes the calls before it."""
    latest: dict[int, LatestIssue] = {}
    for chunk in chunks(sorted(set(award_ids))):
        stmt = (
            select(Outbox.award_id, Outbox.state, Outbox.provider_badge_id)
            .where(Outbox.award_id.in_(chunk), Outbox.action == OutboxAction.ISSUE.value)
            .order_by(Outbox.id)
        )
        for award_id, state, badge_id in session.execute(stmt):
            latest[award_id] = LatestIssue(OutboxState(state), badge_id)
    return latest


def provider_badges_by_award(
    session: Session, award_ids: Collection[int]
) -> dict[int, list[ProviderBadgeRecord]]:
    """The provider badges of each award, oldest stored first."""
    found: dict[int, list[ProviderBadgeRecord]] = {}
    for chunk in chunks(sorted(set(award_ids))):
        stmt = (
            select(ProviderBadge)
            .where(ProviderBadge.award_id.in_(chunk))
            .order_by(ProviderBadge.id)
        )
        for row in _fetch(session, stmt):
            found.setdefault(row.award_id or 0, []).append(provider_badge_from_row(row))
    return found


def direct_provider_badges(session: Session, email: str) -> list[ProviderBadgeRecord]:
    """Badges issued on the provider to this email that badgeflow did not issue; the
    provider may have stored the address in another case."""
    if not email:
        return []
    stmt = (
        select(ProviderBadge)
        .where(
            ProviderBadge.award_id.is_(None),
            func.lower(ProviderBadge.recipient_email) == email.lower(),
        )
        .order_by(ProviderBadge.provider, ProviderBadge.id)
    )
    return [provider_badge_from_row(row) for row in _fetch(session, stmt)]


def _fetch(session: Session, stmt: Any) -> Sequence[Any]:
    # populate_existing: Core writes bypass the identity map, so never trust a cached row.
    return session.scalars(stmt.execution_options(populate_existing=True)).all()
