"""What one learner's badges look like: the learner dashboard (in progress, available,
earned) and the admin's view of every award with its provider badge.

Pure functions over records already read, so the rules of the views (what is offered,
what counts as in progress, where an earned badge stands on the provider) are tested
without a database or a server."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from dsl.ruleset import CompiledBadge, CompiledGroup, CompiledRequirement
from server.domain import (
    AwardRecord,
    AwardState,
    EventRecord,
    OutboxState,
    ProgressRecord,
    ProviderBadgeRecord,
    TemplateRecord,
)
from server.engine.progress import describe_partial, group_statuses, percent
from server.providers.base import ProviderBadgeState
from server.store.templates import template_id
from server.store.views import LatestIssue

__all__ = [
    "AdminAward",
    "Available",
    "Dashboard",
    "Earned",
    "EarnedState",
    "InProgress",
    "LearnerBadges",
    "admin_awards",
    "build_dashboard",
    "earned_state",
    "group_line",
    "latest_provider_badge",
]

#: The rules in force for a template, or None when no badge block is bound to it.
BadgeLookup = Callable[[str], CompiledBadge | None]


class EarnedState(enum.StrEnum):
    ISSUING = "issuing"
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    EXPIRED = "expired"
    ISSUE_FAILED = "issue_failed"


# Revoked or deleted on the provider while the award stands here: an admin re-issues.
_FROM_PROVIDER = {
    ProviderBadgeState.PENDING.value: EarnedState.PENDING,
    ProviderBadgeState.ACCEPTED.value: EarnedState.ACCEPTED,
    ProviderBadgeState.REJECTED.value: EarnedState.REJECTED,
    ProviderBadgeState.EXPIRED.value: EarnedState.EXPIRED,
}
_EXPIRABLE = {EarnedState.PENDING, EarnedState.ACCEPTED}


@dataclass(frozen=True, slots=True)
class LearnerBadges:
    """One learner's records, as read in one transaction."""

    progress: Sequence[ProgressRecord]
    awards: Sequence[AwardRecord]  # by template id, then sequence
    templates: Mapping[str, TemplateRecord]  # every active one and every one named above
    issues: Mapping[int, LatestIssue]  # by award id
    provider_badges: Mapping[int, Sequence[ProviderBadgeRecord]]  # by award id, oldest first


@dataclass(frozen=True, slots=True)
class InProgress:
    template: TemplateRecord
    badge: CompiledBadge
    fulfilled_groups: int
    total_groups: int
    percent: float
    remaining: tuple[str, ...]
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class Available:
    template: TemplateRecord
    badge: CompiledBadge
    how_to_earn: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Earned:
    award: AwardRecord
    template: TemplateRecord | None
    state: EarnedState
    badge_url: str
    accept_url: str


@dataclass(frozen=True, slots=True)
class Dashboard:
    in_progress: tuple[InProgress, ...]
    available: tuple[Available, ...]
    earned: tuple[Earned, ...]


@dataclass(frozen=True, slots=True)
class AdminAward:
    """An award, or (with `award` None) a badge issued directly on the provider."""

    award: AwardRecord | None
    template: TemplateRecord | None
    provider_badge: ProviderBadgeRecord | None
    events: tuple[EventRecord, ...] = ()


# -- the dashboard -----------------------------------------------------------------------


def build_dashboard(data: LearnerBadges, badge_for: BadgeLookup, now: datetime) -> Dashboard:
    held, barred = _held_and_barred(data.awards)
    return Dashboard(
        in_progress=_in_progress(data, badge_for, held, barred),
        available=_available(data, badge_for, held | barred),
        earned=_earned(data, now),
    )


def _held_and_barred(awards: Sequence[AwardRecord]) -> tuple[set[str], set[str]]:
    """Templates the learner holds a badge of, and templates an admin took back (the
    latest award is revoked by an admin: processing never awards those again)."""
    latest = {a.template_id: a for a in awards}  # awards come in sequence order
    held = {a.template_id for a in awards if a.state is AwardState.AWARDED}
    barred = {t for t, a in latest.items() if a.revoked_by_admin}
    return held, barred


def _in_progress(
    data: LearnerBadges, badge_for: BadgeLookup, held: set[str], barred: set[str]
) -> tuple[InProgress, ...]:
    found = []
    for record in data.progress:
        template, badge = data.templates.get(record.template_id), badge_for(record.template_id)
        # Only active templates bound to rules in force can be earned.
        if template is None or badge is None or not template.active:
            continue
        if record.template_id in barred or (record.template_id in held and not badge.repeatable):
            continue
        item = _progress_item(template, badge, record)
        if item.fulfilled_groups < item.total_groups:
            found.append(item)
    found.sort(key=lambda i: i.template.id)
    # Stable under reverse: equal percentages and times keep the template id order.
    found.sort(key=lambda i: (i.percent, _instant(i.updated_at)), reverse=True)
    return tuple(found)


def _instant(at: datetime | None) -> float:
    return at.timestamp() if at is not None else 0.0


def _progress_item(
    template: TemplateRecord, badge: CompiledBadge, record: ProgressRecord
) -> InProgress:
    statuses = group_statuses(badge, record)
    fulfilled = sum(1 for s in statuses if s.fulfilled_by)
    total = len(badge.groups)
    return InProgress(
        template=template,
        badge=badge,
        fulfilled_groups=fulfilled,
        total_groups=total,
        percent=percent(fulfilled, total),
        remaining=tuple(group_line(s.group, record) for s in statuses if not s.fulfilled_by),
        updated_at=record.updated_at,
    )


def _available(
    data: LearnerBadges, badge_for: BadgeLookup, closed: set[str]
) -> tuple[Available, ...]:
    """Offered templates the learner has not started and can earn."""
    skipped = closed | {r.template_id for r in data.progress}
    found = []
    for template in data.templates.values():
        badge = badge_for(template.id)
        if badge is None or not template.active or template.id in skipped:
            continue
        found.append(Available(template, badge, tuple(group_line(g, None) for g in badge.groups)))
    return tuple(sorted(found, key=lambda a: (a.template.name, a.template.id)))


def group_line(group: CompiledGroup, record: ProgressRecord | None) -> str:
    """One group in words: its requirement's description with how far it has come, or
    "one of: A; B" when any member will do."""
    texts = [_requirement_text(r, record) for r in group.requirements]
    return texts[0] if len(texts) == 1 else "one of: " + "; ".join(texts)


def _requirement_text(requirement: CompiledRequirement, record: ProgressRecord | None) -> str:
    if record is None:
        return requirement.description
    detail = describe_partial(requirement, record.partial.get(requirement.name))
    return f"{requirement.description} ({detail})" if detail else requirement.description


# -- earned badges -----------------------------------------------------------------------


def _earned(data: LearnerBadges, now: datetime) -> tuple[Earned, ...]:
    found = [
        _earned_item(data, award, now)
        for award in data.awards
        if award.state is AwardState.AWARDED and award.id is not None
    ]
    found.sort(key=lambda e: (_instant(e.award.awarded_at), e.award.id or 0), reverse=True)
    return tuple(found)


def _earned_item(data: LearnerBadges, award: AwardRecord, now: datetime) -> Earned:
    issue = data.issues.get(award.id or 0)
    badge = _standing_badge(issue, _award_badge(data, award))
    state = earned_state(award, issue, badge, now)
    linked = badge if state not in (EarnedState.ISSUING, EarnedState.ISSUE_FAILED) else None
    return Earned(
        award=award,
        template=data.templates.get(award.template_id),
        state=state,
        badge_url=linked.url if linked else "",
        accept_url=linked.accept_url if linked and state is EarnedState.PENDING else "",
    )


def _standing_badge(
    issue: LatestIssue | None, badge: ProviderBadgeRecord | None
) -> ProviderBadgeRecord | None:
    """The badge that speaks for the award: none while a newer issue call is owed or has
    failed (an older badge's state and links are stale then)."""
    return badge if issue is None or issue.state is OutboxState.SENT else None


def _award_badge(data: LearnerBadges, award: AwardRecord) -> ProviderBadgeRecord | None:
    issue = data.issues.get(award.id or 0)
    return latest_provider_badge(
        data.provider_badges.get(award.id or 0, ()), issue.provider_badge_id if issue else ""
    )


def latest_provider_badge(
    badges: Sequence[ProviderBadgeRecord], issued_id: str
) -> ProviderBadgeRecord | None:
    """The badge the award's newest issue call produced (else the newest stored), and
    the badge that replaced it, if the provider replaced it (Credly)."""
    by_id = {b.external_id: b for b in badges}
    current = by_id.get(issued_id) or (badges[-1] if badges else None)
    for _ in badges:  # bounded: a replacement chain never revisits a badge
        if current is None or current.replaced_by not in by_id:
            break
        current = by_id[current.replaced_by]
    return current


def earned_state(
    award: AwardRecord,
    issue: LatestIssue | None,
    badge: ProviderBadgeRecord | None,
    now: datetime,
) -> EarnedState:
    """Where a standing award is on the provider. A badge gone from the provider while
    the award stands is a failed issuance an admin can re-issue; past either expiry date
    the badge is expired, unless the learner declined it or issuing failed."""
    if issue is not None and issue.state is OutboxState.FAILED:
        return EarnedState.ISSUE_FAILED
    if badge is None or (issue is not None and issue.state is OutboxState.PENDING):
        return EarnedState.EXPIRED if _past(award.expires_at, now) else EarnedState.ISSUING
    state = _FROM_PROVIDER.get(badge.state, EarnedState.ISSUE_FAILED)
    if state in _EXPIRABLE and (_past(award.expires_at, now) or _past(badge.expires_at, now)):
        return EarnedState.EXPIRED
    return state


def _past(at: datetime | None, now: datetime) -> bool:
    return at is not None and at <= now


# -- the admin's view --------------------------------------------------------------------


def admin_awards(
    data: LearnerBadges,
    events: Mapping[str, EventRecord],
    direct: Sequence[ProviderBadgeRecord],
    exclude_revoked: bool,
) -> list[AdminAward]:
    """Every award (template id, then sequence) with its badge and the logged events
    that earned it, then the badges issued directly on the provider."""
    found = []
    for award in data.awards:
        if exclude_revoked and award.state is AwardState.REVOKED:
            continue
        earned_by = tuple(events[i] for i in award.event_ids if i in events)
        template = data.templates.get(award.template_id)
        found.append(AdminAward(award, template, _award_badge(data, award), earned_by))
    for badge in direct:
        template = data.templates.get(template_id(badge.provider, badge.template_external_id))
        found.append(AdminAward(None, template, badge))
    return found
