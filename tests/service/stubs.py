"""Raw aio stubs and small builders for service tests (the SDK has its own tests)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc
from badgeflow.v1 import (
    event_pb2,
    event_service_pb2_grpc,
    progress_service_pb2_grpc,
    rule_service_pb2,
    rule_service_pb2_grpc,
    rules_pb2,
    template_service_pb2,
    template_service_pb2_grpc,
)
from google.protobuf import struct_pb2
from google.rpc import status_pb2

PASSED = "org.openedx.learning.course.passing.status.updated.v1"
DEMO_COURSE = "course-v1:OpenedX+DemoX+Demo_Course"
DEMO_TEMPLATE = "credly:8f2b7c1e-0000-4000-8000-000000000001"
DEMO_RULES = f"""
badge "demo-graduate" {{
    template credly "8f2b7c1e-0000-4000-8000-000000000001"
    require on course_passed where is_passing and course.course_key == "{DEMO_COURSE}"
}}
"""


@dataclass
class Stubs:
    channel: grpc.aio.Channel
    events: event_service_pb2_grpc.EventServiceStub
    rules: rule_service_pb2_grpc.RuleServiceStub
    templates: template_service_pb2_grpc.TemplateServiceStub
    progress: progress_service_pb2_grpc.ProgressServiceStub


def stubs(channel: grpc.aio.Channel) -> Stubs:
    return Stubs(
        channel,
        event_service_pb2_grpc.EventServiceStub(channel),
        rule_service_pb2_grpc.RuleServiceStub(channel),
        template_service_pb2_grpc.TemplateServiceStub(channel),
        progress_service_pb2_grpc.ProgressServiceStub(channel),
    )


def passed(
    event_id: str, learner: str, course: str = DEMO_COURSE, passing: bool = True
) -> event_pb2.Event:
    payload = struct_pb2.Struct()
    payload.update({"is_passing": passing, "course": {"course_key": course}})
    return event_pb2.Event(
        id=event_id,
        type=PASSED,
        learner=event_pb2.Learner(
            id=learner, email=f"{learner}@example.org", first_name="Ada", last_name="Lovelace"
        ),
        payload=payload,
    )


async def apply_and_activate(
    s: Stubs, text: str = DEMO_RULES, template: str = DEMO_TEMPLATE
) -> None:
    await s.rules.ApplyRules(
        rule_service_pb2.ApplyRulesRequest(
            files=[rules_pb2.RuleFile(name="demo.badge", content=text)]
        )
    )
    await s.templates.ActivateTemplate(
        template_service_pb2.ActivateTemplateRequest(template_id=template)
    )


def rich_status(error: grpc.aio.AioRpcError) -> status_pb2.Status:
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            return status_pb2.Status.FromString(value)
    raise AssertionError("no rich status on the error")


def unpack(status: status_pb2.Status, message_type: type) -> Any:
    for detail in status.details:
        if detail.Is(message_type.DESCRIPTOR):
            found = message_type()
            detail.Unpack(found)
            return found
    raise AssertionError(f"no {message_type.__name__} detail")


def undecodable_events() -> list[event_pb2.Event]:
    """A NaN payload, a timestamp past year 9999, then a good event."""
    nan_payload = passed("bad-nan", "ada")
    nan_payload.payload.update({"score": float("nan")})
    far_future = passed("bad-time", "ada")
    far_future.occurred_at.seconds = 253_402_300_800  # year 10000
    return [nan_payload, far_future, passed("good", "ada")]
