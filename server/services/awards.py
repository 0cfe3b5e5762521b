"""AwardService: manual actions on awards."""

from __future__ import annotations

import grpc
from badgeflow.v1 import award_service_pb2, award_service_pb2_grpc

from server.awards_admin import AwardAdmin, Grant
from server.domain import LearnerRecord
from server.errors import grpc_errors
from server.services.convert import award_to_proto

__all__ = ["AwardServiceServicer"]


def _grant(request: award_service_pb2.GrantAwardRequest) -> Grant:
    profile = None
    if request.HasField("learner"):
        given = request.learner
        profile = LearnerRecord(given.id, given.email, given.first_name, given.last_name)
    return Grant(request.template_id, request.learner_id, request.reason, profile)


class AwardServiceServicer(award_service_pb2_grpc.AwardServiceServicer):
    def __init__(self, admin: AwardAdmin) -> None:
        self._admin = admin

    @grpc_errors
    async def RevokeAward(
        self, request: award_service_pb2.RevokeAwardRequest, context: grpc.aio.ServicerContext
    ) -> award_service_pb2.RevokeAwardResponse:
        award = await self._admin.revoke(request.award_id, request.reason)
        return award_service_pb2.RevokeAwardResponse(award=award_to_proto(award))

    @grpc_errors
    async def GrantAward(
        self, request: award_service_pb2.GrantAwardRequest, context: grpc.aio.ServicerContext
    ) -> award_service_pb2.GrantAwardResponse:
        award = await self._admin.grant(_grant(request))
        return award_service_pb2.GrantAwardResponse(award=award_to_proto(award))

    @grpc_errors
    async def ReissueAward(
        self, request: award_service_pb2.ReissueAwardRequest, context: grpc.aio.ServicerContext
    ) -> award_service_pb2.ReissueAwardResponse:
        award, issuance_id = await self._admin.reissue(request.award_id)
        return award_service_pb2.ReissueAwardResponse(
            award=award_to_proto(award), issuance_id=issuance_id
        )
