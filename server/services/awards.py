"""AwardService: manual actions on awards."""

from __future__ import annotations

import grpc
from badgeflow.v1 import award_service_pb2, award_service_pb2_grpc

from server.awards_admin import AwardAdmin
from server.errors import grpc_errors
from server.services.convert import award_to_proto

__all__ = ["AwardServiceServicer"]


class AwardServiceServicer(award_service_pb2_grpc.AwardServiceServicer):
    def __init__(self, admin: AwardAdmin) -> None:
        self._admin = admin

    @grpc_errors
    async def RevokeAward(
        self, request: award_service_pb2.RevokeAwardRequest, context: grpc.aio.ServicerContext
    ) -> award_service_pb2.RevokeAwardResponse:
        award = await self._admin.revoke(request.award_id, request.reason)
        return award_service_pb2.RevokeAwardResponse(award=award_to_proto(award))
