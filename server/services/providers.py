"""ProviderService: connections, template sync and the issuance queue."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import grpc
from badgeflow.v1 import provider_pb2, provider_service_pb2, provider_service_pb2_grpc

from server.connections import ConnectionAdmin
from server.domain import ConnectionRecord, OutboxItem, OutboxState, ProviderBadgeRecord
from server.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound, grpc_errors
from server.ingest import utcnow
from server.services.convert import timestamp
from server.store import learners as learners_repo
from server.store import outbox as outbox_repo
from server.transactions import TransactionRunner

__all__ = ["ProviderServiceServicer", "SyncFunction", "provider_badge_to_proto"]

#: Syncs one connection's templates: (created, updated, deactivated) template ids.
SyncFunction = Callable[[str], Awaitable[tuple[list[str], list[str], list[str]]]]

_STATES = {
    OutboxState.PENDING: provider_pb2.ISSUANCE_STATE_PENDING,
    OutboxState.SENT: provider_pb2.ISSUANCE_STATE_SENT,
    OutboxState.FAILED: provider_pb2.ISSUANCE_STATE_FAILED,
}
_FROM_PROTO = {v: k for k, v in _STATES.items()}
MAX_LIST = 1000


def connection_to_proto(record: ConnectionRecord) -> provider_pb2.ProviderConnection:
    return provider_pb2.ProviderConnection(
        id=record.id,
        kind=record.kind,
        name=record.name,
        organization_id=record.organization_id,
        base_url=record.base_url,
        active=record.active,
        create_time=timestamp(record.created_at),
        update_time=timestamp(record.updated_at),
    )


def issuance_to_proto(item: OutboxItem) -> provider_pb2.Issuance:
    return provider_pb2.Issuance(
        id=item.id or 0,
        award_id=str(item.award_id),
        action=item.action.value,
        template_id=item.template_id,
        state=_STATES[item.state],
        attempts=item.attempts,
        next_attempt_time=timestamp(item.next_attempt_at)
        if item.state is OutboxState.PENDING
        else None,
        last_error=item.last_error,
        provider_badge_id=item.provider_badge_id,
    )


class ProviderServiceServicer(provider_service_pb2_grpc.ProviderServiceServicer):
    def __init__(
        self, runner: TransactionRunner, admin: ConnectionAdmin, sync: SyncFunction
    ) -> None:
        self._runner = runner
        self._admin = admin
        self._sync = sync

    @grpc_errors
    async def ConnectProvider(
        self,
        request: provider_service_pb2.ConnectProviderRequest,
        context: grpc.aio.ServicerContext,
    ) -> provider_service_pb2.ConnectProviderResponse:
        record = await self._admin.connect(
            request.kind,
            request.organization_id,
            request.token,
            request.environment,
            request.base_url,
        )
        created, _, _ = await self._sync(record.id)
        return provider_service_pb2.ConnectProviderResponse(
            connection=connection_to_proto(record), created_template_ids=created
        )

    @grpc_errors
    async def ListProviders(
        self, request: provider_service_pb2.ListProvidersRequest, context: grpc.aio.ServicerContext
    ) -> provider_service_pb2.ListProvidersResponse:
        records = await self._admin.list()
        return provider_service_pb2.ListProvidersResponse(
            connections=[connection_to_proto(r) for r in records]
        )

    @grpc_errors
    async def DisconnectProvider(
        self,
        request: provider_service_pb2.DisconnectProviderRequest,
        context: grpc.aio.ServicerContext,
    ) -> provider_service_pb2.DisconnectProviderResponse:
        record = await self._admin.disconnect(request.connection_id)
        return provider_service_pb2.DisconnectProviderResponse(
            connection=connection_to_proto(record)
        )

    @grpc_errors
    async def SyncTemplates(
        self, request: provider_service_pb2.SyncTemplatesRequest, context: grpc.aio.ServicerContext
    ) -> provider_service_pb2.SyncTemplatesResponse:
        record = await self._admin.get(request.connection_id)
        if not record.active:
            raise FailedPrecondition(
                "CONNECTION_DISCONNECTED",
                f"{record.id} is disconnected: connect it again to sync",
                metadata={"subject": record.id},
            )
        created, updated, deactivated = await self._sync(record.id)
        return provider_service_pb2.SyncTemplatesResponse(
            created_template_ids=created,
            updated_template_ids=updated,
            deactivated_template_ids=deactivated,
        )

    @grpc_errors
    async def ListIssuances(
        self, request: provider_service_pb2.ListIssuancesRequest, context: grpc.aio.ServicerContext
    ) -> provider_service_pb2.ListIssuancesResponse:
        if request.limit < 0:
            raise InvalidArgument(
                "INVALID_LIMIT",
                "limit must not be negative",
                [FieldViolation("limit", "0 or more")],
            )
        limit = min(request.limit or 100, MAX_LIST)
        state = _FROM_PROTO.get(request.state)
        items = await self._runner.read(
            lambda s: outbox_repo.list_outbox(s, state=state, newest=limit)
        )
        return provider_service_pb2.ListIssuancesResponse(
            issuances=[issuance_to_proto(i) for i in items]
        )

    @grpc_errors
    async def RetryIssuance(
        self, request: provider_service_pb2.RetryIssuanceRequest, context: grpc.aio.ServicerContext
    ) -> provider_service_pb2.RetryIssuanceResponse:
        issuance_id = request.issuance_id
        retried = await self._runner.write(
            lambda s: outbox_repo.retry_failed(s, issuance_id, utcnow())
        )
        found = await self._runner.read(lambda s: outbox_repo.get_outbox_item(s, issuance_id))
        if found is None:
            raise NotFound(
                "ISSUANCE_NOT_FOUND",
                f"no issuance {issuance_id}",
                metadata={"issuance_id": str(issuance_id)},
            )
        if not retried:
            raise FailedPrecondition(
                "ISSUANCE_NOT_FAILED",
                f"issuance {issuance_id} is {found.state.value}; only failed issuances are retried",
                metadata={"subject": str(issuance_id)},
            )
        return provider_service_pb2.RetryIssuanceResponse(issuance=issuance_to_proto(found))

    @grpc_errors
    async def ListProviderBadges(
        self,
        request: provider_service_pb2.ListProviderBadgesRequest,
        context: grpc.aio.ServicerContext,
    ) -> provider_service_pb2.ListProviderBadgesResponse:
        if bool(request.learner_id) == bool(request.template_id):
            raise InvalidArgument(
                "ONE_FILTER_NEEDED",
                "give exactly one of learner_id and template_id",
                [
                    FieldViolation(
                        "learner_id", "a learner id, or leave it empty and give template_id"
                    )
                ],
            )
        learner_id, template_id = request.learner_id, request.template_id

        def load(session):  # noqa: ANN001, ANN202
            if learner_id:
                learner = learners_repo.get_learner(session, learner_id)
                email = learner.email if learner else ""
                return outbox_repo.provider_badges_for_learner(session, learner_id, email)
            provider, _, external_id = template_id.partition(":")
            return outbox_repo.provider_badges_for_template(session, provider, external_id)

        badges = await self._runner.read(load)
        return provider_service_pb2.ListProviderBadgesResponse(
            badges=[provider_badge_to_proto(b) for b in badges]
        )


def provider_badge_to_proto(badge: ProviderBadgeRecord) -> provider_pb2.ProviderBadge:
    return provider_pb2.ProviderBadge(
        provider=badge.provider,
        external_id=badge.external_id,
        template_external_id=badge.template_external_id,
        state=badge.state,
        recipient_email=badge.recipient_email,
        award_id=str(badge.award_id) if badge.award_id is not None else "",
        issue_time=timestamp(badge.issued_at),
        expire_time=timestamp(badge.expires_at),
        replaced_by=badge.replaced_by,
        url=badge.url,
        accept_url=badge.accept_url,
    )
