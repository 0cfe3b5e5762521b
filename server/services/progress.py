"""ProgressService: learner progress, template progress records, the award stream."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
from badgeflow.v1 import event_pb2, progress_pb2, progress_service_pb2, progress_service_pb2_grpc

from dsl import CompiledBadge
from server.domain import AwardRecord, ProgressRecord
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
from server.rules_admin import RuleAdmin
from server.services.convert import award_to_proto, timestamp
from server.services.paging import decode_token, encode_token, page_size
from server.store import awards as awards_repo
from server.store import learners as learners_repo
from server.store import progress as progress_repo
from server.store import templates as templates_repo
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
        learner_id = _required(
            request.learner_id, "learner_id", "give the learner's id as the platform sends it"
        )

        def load(session):  # noqa: ANN001, ANN202
            learner = learners_repo.get_learner(session, learner_id)
            records = progress_repo.learner_progress(session, learner_id)
            latest = awards_repo.latest_awards(
                session, [(learner_id, r.template_id) for r in records]
            )
            return learner, records, latest

        learner, records, latest = await self._runner.read(load)
        if learner is None:
            raise NotFound(
                "LEARNER_NOT_FOUND",
                f"no events were ever received for learner {learner_id!r}",
                metadata={"learner_id": learner_id},
            )
        rules = self._admin.in_force()
        return progress_service_pb2.GetLearnerProgressResponse(
            learner=event_pb2.Learner(
                id=learner.id,
                email=learner.email,
                first_name=learner.first_name,
                last_name=learner.last_name,
            ),
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
        limit = page_size(request.page)
        after = decode_token(request.page.page_token)

        def load(session):  # noqa: ANN001, ANN202
            if templates_repo.get_template(session, template_id) is None:
                return None
            records = progress_repo.template_progress(
                session,
                template_id,
                after_learner_id=after,
                limit=limit + 1,
                completed_only=request.completed_only,
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
