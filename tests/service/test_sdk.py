"""The SDK against a real server (port 0, temporary SQLite).

The server runs on the test's event loop, so every test hands its synchronous SDK calls
to a worker thread (`asyncio.to_thread`) and asserts there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from badgeflow.v1 import event_pb2, progress_pb2, rules_pb2
from badgeflow_client import (
    BadgeflowClient,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PreconditionViolation,
    Unavailable,
    event_from_dict,
)

PASSED = "org.openedx.learning.course.passing.status.updated.v1"
DEMO_COURSE = "course-v1:OpenedX+DemoX+Demo_Course"
TEMPLATE_ID = "credly:8f2b7c1e-0000-4000-8000-000000000001"
RULES = f"""badge "demo-graduate" {{
    template credly "8f2b7c1e-0000-4000-8000-000000000001"
    require on course_passed where is_passing and course.course_key == "{DEMO_COURSE}"
}}
"""
ACCEPTED = event_pb2.EVENT_OUTCOME_ACCEPTED
DUPLICATE = event_pb2.EVENT_OUTCOME_DUPLICATE
REJECTED = event_pb2.EVENT_OUTCOME_REJECTED


def passed(event_id: str, learner_id: str, *, course_key: str = DEMO_COURSE) -> event_pb2.Event:
    return event_from_dict(
        {
            "id": event_id,
            "type": PASSED,
            "occurred_at": "2026-11-23T10:00:00Z",
            "learner": {"id": learner_id, "email": f"{learner_id.lower()}@example.org"},
            "payload": {"is_passing": True, "course": {"course_key": course_key}},
        }
    )


async def in_thread(target: str, scenario: Callable[[BadgeflowClient], Any]) -> Any:
    """Run `scenario` with a client in a worker thread, off the server's event loop."""

    def run() -> Any:
        with BadgeflowClient(target) as client:
            return scenario(client)

    return await asyncio.to_thread(run)


def _ready_with(client: BadgeflowClient, rules: str) -> None:
    client.apply_rules({"rules/demo.badge": rules})
    client.activate_template(TEMPLATE_ID)


def _ready(client: BadgeflowClient) -> None:
    _ready_with(client, RULES)


async def test_apply_activate_stream_and_see_the_award(target: str) -> None:
    def scenario(client: BadgeflowClient) -> None:
        applied = client.apply_rules({"rules/demo.badge": RULES})
        assert (applied.version, list(applied.created_template_ids)) == (1, [TEMPLATE_ID])
        assert (list(applied.changed_template_ids), list(applied.unbound_template_ids)) == ([], [])
        assert [
            (b.slug, b.template_id, b.group_count, b.requirement_count) for b in applied.badges
        ] == [("demo-graduate", TEMPLATE_ID, 1, 1)]
        assert client.activate_template(TEMPLATE_ID).active is True

        watch = client.watch_awards(learner_id="L1")
        watch.wait_subscribed(timeout=10)
        events = [
            passed("e1", "L1"),
            passed("e2", "L2", course_key="course-v1:Other+X+Y"),
            event_pb2.Event(id="e3", type=PASSED),
        ]
        results = list(client.stream_events(events))
        assert [(r.event_id, r.outcome, r.reason_code) for r in results] == [
            ("e1", ACCEPTED, ""),
            ("e2", ACCEPTED, ""),
            ("e3", REJECTED, "MISSING_LEARNER"),
        ]

        change = next(watch)
        watch.cancel()
        assert change.kind == progress_pb2.AWARD_EVENT_KIND_AWARDED
        award = change.award
        assert (award.template_id, award.badge, award.learner_id, award.sequence, award.state) == (
            TEMPLATE_ID,
            "demo-graduate",
            "L1",
            1,
            progress_pb2.AWARD_STATE_AWARDED,
        )
        assert list(award.event_ids) == ["e1"]
        assert list(watch) == []

        progress = client.learner_progress("L1")
        assert (progress.learner.id, progress.learner.email) == ("L1", "l1@example.org")
        [record] = progress.progress
        assert (record.template_id, record.badge, record.percent, record.times_awarded) == (
            TEMPLATE_ID,
            "demo-graduate",
            100.0,
            1,
        )
        assert [(g.name, g.fulfilled, g.fulfilled_by) for g in record.groups] == [
            ("g1", True, "r1")
        ]
        assert record.award.id == award.id

        completed = list(client.template_progress(TEMPLATE_ID, completed_only=True))
        assert [(r.learner_id, r.percent) for r in completed] == [("L1", 100.0)]
        assert [r.learner_id for r in client.template_progress(TEMPLATE_ID)] == ["L1"]

    await in_thread(target, scenario)


async def test_partial_progress_and_completed_only(target: str) -> None:
    other_course = "course-v1:Other+X+Y"
    two_steps = RULES.replace(
        "    require on",
        f'    require other: on course_passed where course.course_key == "{other_course}"\n'
        "    require demo: on",
    )

    def scenario(client: BadgeflowClient) -> None:
        _ready_with(client, two_steps)
        client.publish_events(
            [
                passed("e1", "L1"),
                passed("e2", "L1", course_key=other_course),
                passed("e3", "L2"),
            ]
        )
        everyone = list(client.template_progress(TEMPLATE_ID))
        assert [
            (r.learner_id, r.fulfilled_groups, r.total_groups, r.percent, r.times_awarded)
            for r in everyone
        ] == [
            ("L1", 2, 2, 100.0, 1),
            ("L2", 1, 2, 50.0, 0),
        ]
        assert [(g.name, g.fulfilled_by) for g in everyone[1].groups] == [
            ("g1", ""),
            ("g2", "demo"),
        ]
        assert everyone[1].HasField("award") is False
        assert [
            r.learner_id for r in client.template_progress(TEMPLATE_ID, completed_only=True)
        ] == ["L1"]

    await in_thread(target, scenario)


async def test_resent_events_are_duplicates(target: str) -> None:
    def scenario(client: BadgeflowClient) -> None:
        _ready(client)
        first = client.publish_events([passed("e1", "L1")])
        again = client.publish_events([passed("e1", "L1")])
        assert [(r.event_id, r.outcome) for r in first + again] == [
            ("e1", ACCEPTED),
            ("e1", DUPLICATE),
        ]

    await in_thread(target, scenario)


async def test_stream_events_batches_lazily_and_keeps_order(target: str) -> None:
    def scenario(client: BadgeflowClient) -> None:
        _ready(client)
        events = (passed(f"e{i}", f"L{i}") for i in range(7))
        results = list(client.stream_events(events, batch_size=3))
        assert [(r.event_id, r.outcome) for r in results] == [(f"e{i}", ACCEPTED) for i in range(7)]

    await in_thread(target, scenario)


def test_stream_events_rejects_bad_batch_size() -> None:
    with BadgeflowClient("127.0.0.1:1") as client, pytest.raises(ValueError) as raised:
        list(client.stream_events([], batch_size=1001))
    assert str(raised.value) == "batch_size must be between 1 and 1000, not 1001"


async def test_rule_errors_carry_diagnostics(target: str) -> None:
    bad = RULES.replace("is_passing", "is_pasing")

    def scenario(client: BadgeflowClient) -> None:
        validated = client.validate_rules({"demo.badge": bad})
        assert validated.valid is False
        assert [
            (d.code, d.severity, d.span.line, d.span.column) for d in validated.diagnostics
        ] == [("E203", rules_pb2.DIAGNOSTIC_SEVERITY_ERROR, 3, 36)]
        with pytest.raises(InvalidArgument) as raised:
            client.apply_rules({"demo.badge": bad})
        error = raised.value
        first = "demo.badge:3:36: error[E203]: unknown field 'is_pasing' in event 'course_passed'"
        assert (error.code, error.reason, error.metadata) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            "RULES_INVALID",
            {"error_count": "1"},
        )
        assert error.message == f"the rules have 1 error(s); the first: {first}"
        assert error.violations == [FieldViolation("rules", first)]
        assert list(error.diagnostics) == list(validated.diagnostics)
        assert error.diagnostics[0].rendered.splitlines() == [
            first,
            "        require on course_passed where is_pasing and "
            f'course.course_key == "{DEMO_COURSE}"',
            "                                       ^^^^^^^^^",
            "  hint: did you mean 'is_passing'?",
        ]
        assert client.get_rules().version == 0

    await in_thread(target, scenario)


async def test_stale_expected_version_is_a_failed_precondition(target: str) -> None:
    def scenario(client: BadgeflowClient) -> None:
        assert client.apply_rules({"a.badge": RULES}, expected_version=0).version == 1
        assert client.apply_rules({"a.badge": RULES}, expected_version=1).version == 2
        with pytest.raises(FailedPrecondition) as raised:
            client.apply_rules({"a.badge": RULES}, expected_version=1)
        message = (
            "expected rules version 1, but version 2 is in force: "
            "re-read the rules, plan again, and apply with the new version"
        )
        error = raised.value
        assert (error.reason, error.message, error.metadata) == (
            "STALE_RULES_VERSION",
            message,
            {"subject": "rules", "current_version": "2"},
        )
        assert error.precondition_violations == [
            PreconditionViolation("STALE_RULES_VERSION", "rules", message)
        ]
        rules = client.get_rules()
        assert (rules.version, [(f.name, f.content) for f in rules.files]) == (
            2,
            [("a.badge", RULES)],
        )

    await in_thread(target, scenario)


async def test_templates_unknown_and_without_requirements(target: str) -> None:
    def scenario(client: BadgeflowClient) -> None:
        with pytest.raises(NotFound) as raised:
            client.get_template("credly:nope")
        assert (raised.value.reason, raised.value.metadata) == (
            "TEMPLATE_NOT_FOUND",
            {"template_id": "credly:nope"},
        )

        client.apply_rules({"a.badge": RULES})
        client.apply_rules(
            {"b.badge": RULES.replace("demo-graduate", "other").replace("0001", "0002")}
        )
        with pytest.raises(FailedPrecondition) as precondition:
            client.activate_template(TEMPLATE_ID)
        assert (precondition.value.reason, precondition.value.metadata) == (
            "TEMPLATE_HAS_NO_REQUIREMENTS",
            {"subject": TEMPLATE_ID, "template_id": TEMPLATE_ID},
        )
        other = TEMPLATE_ID.replace("0001", "0002")
        assert [(t.id, t.active) for t in client.list_templates()] == [
            (TEMPLATE_ID, False),
            (other, False),
        ]
        client.activate_template(other)
        assert [t.id for t in client.list_templates(active_only=True)] == [other]
        assert client.deactivate_template(other).active is False
        assert client.get_template(other).active is False

    await in_thread(target, scenario)


async def test_list_methods_follow_every_page(target: str) -> None:
    badges = "".join(
        RULES.replace("demo-graduate", f"b{i}").replace("0001", f"000{i}") for i in range(1, 6)
    )

    def scenario(client: BadgeflowClient) -> None:
        client.apply_rules({"all.badge": badges})
        templates = client.list_templates(page_size=2)
        assert [t.badge for t in templates] == ["b1", "b2", "b3", "b4", "b5"]
        assert [len(page.templates) for page in templates.pages()] == [2, 2, 1]
        assert [t.badge for t in templates.first_page.templates] == ["b1", "b2"]
        assert templates.first_page.next_page_token != ""
        client.activate_template(TEMPLATE_ID)
        client.publish_events([passed(f"e{i}", f"L{i}") for i in range(5)])
        records = client.template_progress(TEMPLATE_ID, page_size=2)
        assert [r.learner_id for r in records] == [f"L{i}" for i in range(5)]
        assert [len(page.records) for page in records.pages()] == [2, 2, 1]

    await in_thread(target, scenario)


async def test_learner_never_seen_is_not_found(target: str) -> None:
    def scenario(client: BadgeflowClient) -> None:
        with pytest.raises(NotFound) as raised:
            client.learner_progress("L404")
        assert (raised.value.reason, raised.value.message, raised.value.metadata) == (
            "LEARNER_NOT_FOUND",
            "no events were ever received for learner 'L404'",
            {"learner_id": "L404"},
        )

    await in_thread(target, scenario)


def test_unreachable_server_is_unavailable() -> None:
    with BadgeflowClient("127.0.0.1:1", timeout=5) as client, pytest.raises(Unavailable) as raised:
        client.get_rules()
    assert (raised.value.code, raised.value.reason) == (grpc.StatusCode.UNAVAILABLE, "")


def test_watch_on_unreachable_server_fails_when_waiting() -> None:
    with BadgeflowClient("127.0.0.1:1") as client:
        watch = client.watch_awards()
        with pytest.raises(Unavailable):
            watch.wait_subscribed(timeout=10)
