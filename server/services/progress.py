"""ProgressService: learner progress, template progress records, the award stream."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC

import grpc
from badgeflow.v1 import event_pb2, progress_pb2, progress_service_pb2, progress_service_pb2_grpc
from sqlalchemy.orm import Session

from dsl import CompiledBadge
from server.domain import (
    AwardRecord,
    EventRecord,
    LearnerRecord,
    ProgressRecord,
    ProviderBadgeRecord,
)
from server.engine.awarding import ChangeKind
from server.engine.broadcast import AwardBroadcaster, SubscriberTooSlow
from server.engine.progress import GroupStatus, describe_partial, group_statuses, percent
from server.errors import (
    FieldViolation,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    grpc_errors,
    template_not_found,
)
from server.ingest import utcnow
from server.learner_views import LearnerBadges, admin_awards, build_dashboard
from server.rules_admin import RuleAdmin
from server.services.convert import award_to_proto, timestamp
from server.services.dashboard import admin_award_to_proto, dashboard_to_proto
from server.services.paging import decode_token, encode_token, page_size
from server.store import awards as awards_repo
from server.store import events as events_repo
from server.store import learners as learners_repo
from server.store import progress as progress_repo
from server.store import templates as templates_repo
from server.store import views as views_repo
from server.store.progress import ProgressFilter
from server.transactions import TransactionRunner

__all__ = ["ProgressServiceServicer", "progress_to_proto"]

_KINDS = {
    ChangeKind.AWARDED: progress_pb2.AWARD_EVENT_KIND_AWARDED,
    ChangeKind.REVOKED: progress_pb2.AWARD_EVENT_KIND_REVOKED,
}


def _groups(
    statuses: list[GroupStatus], record: ProgressRecord
) -> list[progress_pb2.GroupProgress]:
    groups = []
    for status in statuses:
        members = []
        for req in status.group.requirements:
            state = record.requirements.get(req.name)
            members.append(
                progress_pb2.RequirementProgress(
                    name=req.name,
                    description=req.description,
                    fulfilled=state is not None,
                    event_ids=list(state.event_ids) if state else [],
                    fulfill_time=timestamp(state.fulfilled_at) if state else None,
                    detail=describe_partial(req, record.partial.get(req.name)) if not state else "",
                )
            )
        groups.append(
            progress_pb2.GroupProgress(
                name=status.group.name,
                fulfilled=status.fulfilled_by is not None,
                fulfilled_by=status.fulfilled_by or "",
                requirements=members,
            )
        )
    return groups


def progress_to_proto(
    record: ProgressRecord, badge: CompiledBadge | None, award: AwardRecord | None
) -> progress_pb2.TemplateProgress:
    statuses = group_statuses(badge, record) if badge else []
    total = len(badge.groups) if badge else record.total_groups
    fulfilled = sum(1 for s in statuses if s.fulfilled_by) if badge else record.fulfilled_groups
    return progress_pb2.TemplateProgress(
        template_id=record.template_id,
        badge=badge.slug if badge else "",
        learner_id=record.learner_id,
        fulfilled_groups=fulfilled,
        total_groups=total,
        percent=percent(fulfilled, total),
        groups=_groups(statuses, record),
        award=award_to_proto(award) if award else None,
        times_awarded=record.times_awarded,
        update_time=timestamp(record.updated_at),
    )


def _required(value: str, field: str, example: str) -> str:
    if not value:
        raise InvalidArgument(
            f"MISSING_{field.upper()}", f"{field} is empty", [FieldViolation(field, example)]
        )
    return value


_LEARNER_EXAMPLE = "give the learner's id as the platform sends it"


def _learner_not_found(learner_id: str) -> NotFound:
    return NotFound(
        "LEARNER_NOT_FOUND",
        f"no events were ever received for learner {learner_id!r}",
        metadata={"learner_id": learner_id},
    )


def _learner_to_proto(learner: LearnerRecord) -> event_pb2.Learner:
    return event_pb2.Learner(
        id=learner.id,
        email=learner.email,
        first_name=learner.first_name,
        last_name=learner.last_name,
    )


def _progress_filter(request: progress_service_pb2.ListTemplateProgressRequest) -> ProgressFilter:
    """The request's filters, checked: `completed_only` is the same as status COMPLETED,
    so the two may not disagree."""
    status = request.status
    if request.completed_only and status == progress_service_pb2.PROGRESS_STATUS_IN_PROGRESS:
        raise InvalidArgument(
            "CONFLICTING_STATUS",
            "completed_only asks for completed records and status for records in progress",
            [FieldViolation("status", "leave status unset, or drop completed_only")],
        )
    if not 0.0 <= request.min_percent <= 100.0:  # NaN fails both comparisons
        raise InvalidArgument(
            "INVALID_MIN_PERCENT",
            f"min_percent must be between 0 and 100, got {request.min_percent}",
            [FieldViolation("min_percent", "a percentage from 0 to 100; 0 lists all")],
        )
    completed = {
        progress_service_pb2.PROGRESS_STATUS_IN_PROGRESS: False,
        progress_service_pb2.PROGRESS_STATUS_COMPLETED: True,
    }.get(status, True if request.completed_only else None)
    after = request.updated_after.ToDatetime(UTC) if request.HasField("updated_after") else None
    return ProgressFilter(completed, request.min_percent, after)


def _learner_badges(
    session: Session,
    learner_id: str,
    *,
    offered: bool,
    direct: Sequence[ProviderBadgeRecord] = (),
) -> LearnerBadges:
    """Everything the learner views are built from, in one transaction: the templates
    named by progress, awards and badges issued directly on the provider, and with
    `offered` every active template too (the dashboard offers them)."""
    progress = progress_repo.learner_progress(session, learner_id)
    awards = awards_repo.learner_awards(session, learner_id)
    award_ids = [a.id for a in awards if a.id is not None]
    named = {r.template_id for r in progress} | {a.template_id for a in awards}
    named |= {templates_repo.template_id(b.provider, b.template_external_id) for b in direct}
    return LearnerBadges(
        progress=progress,
        awards=awards,
        templates=views_repo.templates_by_ids(session, named, with_active=offered),
        issues=views_repo.latest_issues(session, award_ids),
        provider_badges=views_repo.provider_badges_by_award(session, award_ids),
    )


_AdminView = tuple[LearnerRecord, LearnerBadges, dict[str, EventRecord], list[ProviderBadgeRecord]]


def _admin_view(session: Session, learner_id: str) -> _AdminView | None:
    """The learner, their records, the logged events their awards name, and the badges
    issued directly on the provider to their email; None for a learner never seen."""
    learner = learners_repo.get_learner(session, learner_id)
    if learner is None:
        return None
    direct = views_repo.direct_provider_badges(session, learner.email)
    data = _learner_badges(session, learner_id, offered=False, direct=direct)
    events = events_repo.events_by_ids(session, [i for a in data.awards for i in a.event_ids])
    return learner, data, events, direct


class ProgressServiceServicer(progress_service_pb2_grpc.ProgressServiceServicer):
    def __init__(
        self, runner: TransactionRunner, admin: RuleAdmin, broadcaster: AwardBroadcaster
    ) -> None:
        self._runner = runner
        self._admin = admin
        self._broadcaster = broadcaster

    @grpc_errors
    async def GetLearnerProgress(
        self,
        request: progress_service_pb2.GetLearnerProgressRequest,
        context: grpc.aio.ServicerContext,
    ) -> progress_service_pb2.GetLearnerProgressResponse:
        learner_id = _required(request.learner_id, "learner_id", _LEARNER_EXAMPLE)

        def load(session):  # noqa: ANN001, ANN202
            learner = learners_repo.get_learner(session, learner_id)
            records = progress_repo.learner_progress(session, learner_id)
            latest = awards_repo.latest_awards(
                session, [(learner_id, r.template_id) for r in records]
            )
            return learner, records, latest

        learner, records, latest = await self._runner.read(load)
        if learner is None:
            raise _learner_not_found(learner_id)
        rules = self._admin.in_force()
        return progress_service_pb2.GetLearnerProgressResponse(
            learner=_learner_to_proto(learner),
            progress=[
                progress_to_proto(
                    r, rules.badge(r.template_id), latest.get((learner_id, r.template_id))
                )
                for r in records
            ],
        )

    @grpc_errors
    async def ListTemplateProgress(
        self,
        request: progress_service_pb2.ListTemplateProgressRequest,
        context: grpc.aio.ServicerContext,
    ) -> progress_service_pb2.ListTemplateProgressResponse:
        template_id = _required(request.template_id, "template_id", 'e.g. "credly:<template uuid>"')
        where = _progress_filter(request)
        limit = page_size(request.page)
        after = decode_token(request.page.page_token)

        def load(session):  # noqa: ANN001, ANN202
            if templates_repo.get_template(session, template_id) is None:
                return None
            records = progress_repo.template_progress(
                session, template_id, after_learner_id=after, limit=limit + 1, where=where
            )
            latest = awards_repo.latest_awards(
                session, [(r.learner_id, template_id) for r in records[:limit]]
            )
            return records, latest

        loaded = await self._runner.read(load)
        if loaded is None:
            raise template_not_found(template_id)
        records, latest = loaded
        badge = self._admin.in_force().badge(template_id)
        token = encode_token(records[limit - 1].learner_id) if len(records) > limit else ""
        return progress_service_pb2.ListTemplateProgressResponse(
            records=[
                progress_to_proto(r, badge, latest.get((r.learner_id, template_id)))
                for r in records[:limit]
            ],
            next_page_token=token,
        )

    @grpc_errors
    async def GetLearnerBadges(
        self,
        request: progress_service_pb2.GetLearnerBadgesRequest,
        context: grpc.aio.ServicerContext,
    ) -> progress_service_pb2.GetLearnerBadgesResponse:
        learner_id = _required(request.learner_id, "learner_id", _LEARNER_EXAMPLE)
        data = await self._runner.read(lambda s: _learner_badges(s, learner_id, offered=True))
        dashboard = build_dashboard(data, self._admin.in_force().badge, utcnow())
        return dashboard_to_proto(dashboard)

    @grpc_errors
    async def ListLearnerAwards(
        self,
        request: progress_service_pb2.ListLearnerAwardsRequest,
        context: grpc.aio.ServicerContext,
    ) -> progress_service_pb2.ListLearnerAwardsResponse:
        learner_id = _required(request.learner_id, "learner_id", _LEARNER_EXAMPLE)
        loaded = await self._runner.read(lambda s: _admin_view(s, learner_id))
        if loaded is None:
            raise _learner_not_found(learner_id)
        learner, data, events, direct = loaded
        items = admin_awards(data, events, direct, request.exclude_revoked)
        return progress_service_pb2.ListLearnerAwardsResponse(
            learner=_learner_to_proto(learner), awards=[admin_award_to_proto(i) for i in items]
        )

    @grpc_errors
    async def WatchAwards(
        self, request: progress_service_pb2.WatchAwardsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[progress_service_pb2.WatchAwardsResponse]:
        subscription = self._broadcaster.subscribe(request.learner_id, request.template_id)
        try:
            # Initial metadata tells the caller the subscription is live: nothing
            # committed after it arrives can be missed.
            await context.send_initial_metadata((("badgeflow-watch", "subscribed"),))
            async for change in subscription:
                yield progress_service_pb2.WatchAwardsResponse(
                    kind=_KINDS[change.kind], award=award_to_proto(change.award)
                )
        except SubscriberTooSlow:
            raise ResourceExhausted(
                "WATCHER_TOO_SLOW",
                "this stream fell too far behind and was closed; reconnect",
                retry_after=1.0,
            ) from None
        finally:
            subscription.close()
