"""The full language end to end over gRPC: a counting requirement with a window, a badge
that needs another, evidence and expiry on the award, partial progress in words."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from badgeflow.v1 import event_pb2, event_service_pb2, progress_pb2, progress_service_pb2
from google.protobuf import struct_pb2

from tests.service.stubs import Stubs, stubs
from tests.service.stubs import apply_and_activate as apply_rules_and_activate

RULES = """
badge "quizzer" {
    template credly "q-1"
    expires after 1 year
    evidence url "Quiz" "https://lms.example.org/quiz/{quiz.id}"
    evidence text "Course" "{course.id}"
    require quizzes: count >= 2 of (on quiz_graded where passed and score >= 80) within 30 days
}
badge "graduate" {
    template credly "g-1"
    require has badge "quizzer"
    require on course_completed where passed and course.id in ["py101", "py102"]
}
"""
T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def _event(event_id: str, kind: str, at: datetime, payload: dict) -> event_pb2.Event:
    data = struct_pb2.Struct()
    data.update(payload)
    event = event_pb2.Event(
        id=event_id,
        type=f"badgeflow.generic.{kind}.v1",
        learner=event_pb2.Learner(id="ada", email="ada@example.org"),
        payload=data,
    )
    event.occurred_at.FromDatetime(at)
    return event


def quiz(event_id: str, at: datetime, score: float, quiz_id: str = "q7") -> event_pb2.Event:
    return _event(
        event_id,
        "quiz.graded",
        at,
        {"passed": score >= 50, "score": score, "quiz": {"id": quiz_id}},
    )


@pytest.fixture
async def s(target: str) -> AsyncIterator[Stubs]:
    async with grpc.aio.insecure_channel(target) as channel:
        yield stubs(channel)


async def _progress(s: Stubs) -> dict[str, progress_pb2.TemplateProgress]:
    reply = await s.progress.GetLearnerProgress(
        progress_service_pb2.GetLearnerProgressRequest(learner_id="ada")
    )
    return {p.template_id: p for p in reply.progress}


async def test_counting_dependency_evidence_and_expiry(s: Stubs) -> None:
    await apply_rules_and_activate(s, RULES, "credly:q-1")
    await apply_rules_and_activate(s, RULES, "credly:g-1")
    publish = s.events.PublishEvents

    await publish(
        event_service_pb2.PublishEventsRequest(events=[quiz("q1", T0, 90), quiz("q2", T0, 60)])
    )
    quizzer = (await _progress(s))["credly:q-1"]
    assert quizzer.groups[0].requirements[0].detail == "1 of 2 matching events"
    assert not quizzer.HasField("award")

    completed = _event(
        "c1",
        "course.completed",
        T0 + timedelta(days=2),
        {"passed": True, "course": {"id": "py101", "title": "Python"}},
    )
    await publish(
        event_service_pb2.PublishEventsRequest(
            events=[completed, quiz("q3", T0 + timedelta(days=40), 85)]
        )
    )
    assert "credly:g-1" in await _progress(s)  # half-way: the course, not the badge
    assert not (await _progress(s))["credly:q-1"].HasField("award")  # q1 fell out of the window

    late = T0 + timedelta(days=41)
    await publish(
        event_service_pb2.PublishEventsRequest(events=[quiz("q4", late, 95, quiz_id="q9")])
    )
    progress = await _progress(s)
    award = progress["credly:q-1"].award
    assert award.state == progress_pb2.AWARD_STATE_AWARDED
    assert award.expire_time.ToDatetime(UTC) - award.award_time.ToDatetime(UTC) in (
        timedelta(days=365),
        timedelta(days=366),
    )
    # The quiz events carry no course.id, so the "Course" item is left out.
    assert [(e.kind, e.name, e.value) for e in award.evidence] == [
        ("url", "Quiz", "https://lms.example.org/quiz/q9")
    ]
    graduate = progress["credly:g-1"]
    assert graduate.award.state == progress_pb2.AWARD_STATE_AWARDED
    assert [g.fulfilled_by for g in graduate.groups] == ["r1", "r2"]
