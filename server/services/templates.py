"""TemplateService: list, look at, activate and deactivate badge templates."""

from __future__ import annotations

import grpc
from badgeflow.v1 import template_pb2, template_service_pb2, template_service_pb2_grpc

from dsl.ruleset import CompiledBadge, Expiry
from server.domain import TemplateRecord
from server.errors import FieldViolation, InvalidArgument, grpc_errors, template_not_found
from server.rules_admin import RuleAdmin
from server.services.convert import timestamp
from server.services.paging import decode_token, encode_token, page_size
from server.store import templates as templates_repo
from server.transactions import TransactionRunner

__all__ = ["TemplateServiceServicer", "template_to_proto"]


def template_to_proto(record: TemplateRecord, badge: CompiledBadge | None) -> template_pb2.Template:
    message = template_pb2.Template(
        id=record.id,
        provider=record.provider,
        external_id=record.external_id,
        name=record.name,
        description=record.description,
        active=record.active,
        create_time=timestamp(record.created_at),
        update_time=timestamp(record.updated_at),
    )
    if badge is not None:
        message.badge = badge.slug
        message.repeatable = badge.repeatable
        message.issue_method = badge.method.value
        message.expiry = _describe_expiry(badge.expiry)
        message.evidence_names.extend(item.name for item in badge.evidence)
        message.requirements.extend(
            template_pb2.RequirementSummary(
                name=r.name,
                group=g.name,
                event_type=r.event_type,
                description=r.description,
                kind=r.kind.value,
            )
            for g in badge.groups
            for r in g.requirements
        )
        message.penalties.extend(
            template_pb2.PenaltySummary(
                name=p.name,
                event_type=p.event_type,
                description=p.description,
                resets=list(p.resets),
            )
            for p in badge.penalties
        )
    return message


def _describe_expiry(expiry: Expiry | None) -> str:
    if expiry is None:
        return ""
    if expiry.on is not None:
        return f"on {expiry.on.isoformat()}"
    return f"after {expiry.amount} {expiry.unit}"


def _template_id(value: str) -> str:
    if not value:
        raise InvalidArgument(
            "MISSING_TEMPLATE_ID",
            "template_id is empty",
            [FieldViolation("template_id", 'give the template id, e.g. "credly:<template uuid>"')],
        )
    return value


class TemplateServiceServicer(template_service_pb2_grpc.TemplateServiceServicer):
    def __init__(self, runner: TransactionRunner, admin: RuleAdmin) -> None:
        self._runner = runner
        self._admin = admin

    def _proto(self, record: TemplateRecord) -> template_pb2.Template:
        return template_to_proto(record, self._admin.in_force().badge(record.id))

    @grpc_errors
    async def ListTemplates(
        self, request: template_service_pb2.ListTemplatesRequest, context: grpc.aio.ServicerContext
    ) -> template_service_pb2.ListTemplatesResponse:
        limit = page_size(request.page)
        after = decode_token(request.page.page_token)
        records = await self._runner.read(
            lambda s: templates_repo.list_templates(
                s, after_id=after, limit=limit + 1, active_only=request.active_only
            )
        )
        token = encode_token(records[limit - 1].id) if len(records) > limit else ""
        return template_service_pb2.ListTemplatesResponse(
            templates=[self._proto(r) for r in records[:limit]], next_page_token=token
        )

    @grpc_errors
    async def GetTemplate(
        self, request: template_service_pb2.GetTemplateRequest, context: grpc.aio.ServicerContext
    ) -> template_service_pb2.GetTemplateResponse:
        template_id = _template_id(request.template_id)
        record = await self._runner.read(lambda s: templates_repo.get_template(s, template_id))
        if record is None:
            raise template_not_found(template_id)
        return template_service_pb2.GetTemplateResponse(template=self._proto(record))

    @grpc_errors
    async def ActivateTemplate(
        self,
        request: template_service_pb2.ActivateTemplateRequest,
        context: grpc.aio.ServicerContext,
    ) -> template_service_pb2.ActivateTemplateResponse:
        record = await self._admin.set_active(_template_id(request.template_id), True)
        return template_service_pb2.ActivateTemplateResponse(template=self._proto(record))

    @grpc_errors
    async def DeactivateTemplate(
        self,
        request: template_service_pb2.DeactivateTemplateRequest,
        context: grpc.aio.ServicerContext,
    ) -> template_service_pb2.DeactivateTemplateResponse:
        record = await self._admin.set_active(_template_id(request.template_id), False)
        return template_service_pb2.DeactivateTemplateResponse(template=self._proto(record))
