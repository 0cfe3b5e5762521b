"""Proto messages of the learner dashboard and of the admin's view of a learner."""

from __future__ import annotations

from badgeflow.v1 import progress_pb2, progress_service_pb2

from server.learner_views import AdminAward, Available, Dashboard, Earned, EarnedState, InProgress
from server.services.convert import award_to_proto, event_to_proto, timestamp
from server.services.providers import provider_badge_to_proto

__all__ = ["admin_award_to_proto", "dashboard_to_proto"]

_EARNED_STATES = {
    EarnedState.ISSUING: progress_pb2.EARNED_BADGE_STATE_ISSUING,
    EarnedState.PENDING: progress_pb2.EARNED_BADGE_STATE_PENDING,
    EarnedState.ACCEPTED: progress_pb2.EARNED_BADGE_STATE_ACCEPTED,
    EarnedState.REJECTED: progress_pb2.EARNED_BADGE_STATE_REJECTED,
    EarnedState.EXPIRED: progress_pb2.EARNED_BADGE_STATE_EXPIRED,
    EarnedState.ISSUE_FAILED: progress_pb2.EARNED_BADGE_STATE_ISSUE_FAILED,
}


def dashboard_to_proto(dashboard: Dashboard) -> progress_service_pb2.GetLearnerBadgesResponse:
    return progress_service_pb2.GetLearnerBadgesResponse(
        in_progress=[_in_progress(i) for i in dashboard.in_progress],
        available=[_available(a) for a in dashboard.available],
        earned=[_earned(e) for e in dashboard.earned],
    )


def _in_progress(item: InProgress) -> progress_pb2.BadgeInProgress:
    return progress_pb2.BadgeInProgress(
        template_id=item.template.id,
        badge=item.badge.slug,
        name=item.template.name,
        description=item.template.description,
        percent=item.percent,
        fulfilled_groups=item.fulfilled_groups,
        total_groups=item.total_groups,
        remaining=list(item.remaining),
        update_time=timestamp(item.updated_at),
    )


def _available(item: Available) -> progress_pb2.AvailableBadge:
    return progress_pb2.AvailableBadge(
        template_id=item.template.id,
        badge=item.badge.slug,
        name=item.template.name,
        description=item.template.description,
        how_to_earn=list(item.how_to_earn),
        repeatable=item.badge.repeatable,
    )


def _earned(item: Earned) -> progress_pb2.EarnedBadge:
    award = item.award
    return progress_pb2.EarnedBadge(
        award_id=str(award.id),
        template_id=award.template_id,
        badge=award.badge,
        name=item.template.name if item.template else "",
        description=item.template.description if item.template else "",
        state=_EARNED_STATES[item.state],
        award_time=timestamp(award.awarded_at),
        expire_time=timestamp(award.expires_at),
        badge_url=item.badge_url,
        accept_url=item.accept_url,
        sequence=award.sequence,
    )


def admin_award_to_proto(item: AdminAward) -> progress_service_pb2.LearnerAward:
    template, award = item.template, item.award
    return progress_service_pb2.LearnerAward(
        award=award_to_proto(award) if award else None,
        template_id=template.id if template else (award.template_id if award else ""),
        template_name=template.name if template else "",
        provider_badge=provider_badge_to_proto(item.provider_badge)
        if item.provider_badge
        else None,
        events=[event_to_proto(e) for e in item.events],
        issued_on_provider=award is None,
    )
