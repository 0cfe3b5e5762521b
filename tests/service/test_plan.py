"""PlanRules: what an apply would change and how many learners a backfill would award,
with nothing changed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from badgeflow.v1 import event_service_pb2, rule_service_pb2, rules_pb2
from google.rpc import error_details_pb2

from tests.service.stubs import (
    DEMO_RULES,
    DEMO_TEMPLATE,
    Stubs,
    apply_and_activate,
    passed,
    rich_status,
    stubs,
    unpack,
)

CHANGED = DEMO_RULES.replace("is_passing and course.course_key", "course.course_key")
ADDED = """
badge "any-pass" {
    template accredible 99
    require on course_passed where is_passing
}
"""


@pytest.fixture
async def s(target: str) -> AsyncIterator[Stubs]:
    async with grpc.aio.insecure_channel(target) as channel:
        yield stubs(channel)


def _files(*texts: str) -> list[rules_pb2.RuleFile]:
    return [rules_pb2.RuleFile(name=f"f{i}.badge", content=t) for i, t in enumerate(texts)]


async def test_plan_shows_changes_and_backfill_without_applying(s: Stubs) -> None:
    await apply_and_activate(s)
    events = [
        passed("p1", "ada"),  # earns demo-graduate now
        passed("p2", "ben", passing=False),  # fails: earns only under the changed rule
        passed("p3", "cy", course="other"),  # passes another course
    ]
    await s.events.PublishEvents(event_service_pb2.PublishEventsRequest(events=events))

    plan = await s.rules.PlanRules(rule_service_pb2.PlanRulesRequest(files=_files(CHANGED, ADDED)))

    assert plan.current_version == 1
    assert (list(plan.added_template_ids), list(plan.changed_template_ids)) == (
        ["accredible:99"],
        [DEMO_TEMPLATE],
    )
    assert list(plan.unbound_template_ids) == []
    summary = {(b.slug, b.change, b.backfill_awards, b.template_active) for b in plan.badges}
    assert summary == {("demo-graduate", "changed", 1, True), ("any-pass", "added", 2, False)}
    assert plan.events_replayed == 3
    current = await s.rules.GetRules(rule_service_pb2.GetRulesRequest())
    assert current.version == 1


async def test_plan_of_the_rules_in_force_changes_nothing(s: Stubs) -> None:
    await apply_and_activate(s)
    plan = await s.rules.PlanRules(rule_service_pb2.PlanRulesRequest(files=_files(DEMO_RULES)))
    assert [(b.change, b.backfill_awards) for b in plan.badges] == [("unchanged", 0)]
    assert plan.events_replayed == 0


async def test_plan_of_bad_rules_returns_diagnostics(s: Stubs) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await s.rules.PlanRules(rule_service_pb2.PlanRulesRequest(files=_files('badge "x" {}')))
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert unpack(rich_status(caught.value), error_details_pb2.ErrorInfo).reason == "RULES_INVALID"
    assert unpack(rich_status(caught.value), rules_pb2.RuleDiagnostics).diagnostics
