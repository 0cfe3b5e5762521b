"""The rules and the event streams of the ingest scenarios.

Each template is one badge that requires passing two specific courses (`a` and `b`), so
a learner's progress on it moves twice and the second pass earns the badge. Events are
built once, before any clock starts; ids carry a prefix so two workloads never collide."""

from __future__ import annotations

import random
from collections.abc import Callable

from badgeflow.v1 import event_pb2
from badgeflow_client import payload_json

__all__ = [
    "GRADED",
    "LEARNERS",
    "PASSED",
    "WORKLOADS",
    "all_advance",
    "course_key",
    "course_rules",
    "mixed",
    "template_ids",
]

PASSED = "org.openedx.learning.course.passing.status.updated.v1"
GRADED = "badgeflow.generic.quiz.graded.v1"  # no rule listens to it: a grade update
LEARNERS = 100_000
ADVANCING_SHARE = 0.2  # mixed: events that move some progress
PAIR_CHUNK = 500  # all-advance: pairs whose first course is passed before their second


def course_key(badge: int, part: str) -> str:
    return f"course-v1:Bench+C{badge}{part}+R"


def course_rules(templates: int) -> str:
    """`templates` badge blocks, bound to credly:bench-0 … credly:bench-(n-1)."""
    return "".join(_badge(i) for i in range(templates))


def _badge(i: int) -> str:
    passing = "on course_passed where is_passing and course.course_key =="
    return (
        f'badge "bench-{i}" {{\n    template credly "bench-{i}"\n'
        f'    require a: {passing} "{course_key(i, "a")}"\n'
        f'    require b: {passing} "{course_key(i, "b")}"\n}}\n'
    )


def template_ids(templates: int) -> list[str]:
    return [f"credly:bench-{i}" for i in range(templates)]


def _event(
    event_id: str, event_type: str, learner: int, payload: dict[str, object]
) -> event_pb2.Event:
    who = event_pb2.Learner(id=f"learner-{learner}", email=f"learner-{learner}@example.org")
    return event_pb2.Event(
        id=event_id, type=event_type, learner=who, payload_json=payload_json(payload)
    )


def _passed(event_id: str, learner: int, course: str) -> event_pb2.Event:
    return _event(event_id, PASSED, learner, {"is_passing": True, "course": {"course_key": course}})


def mixed(count: int, templates: int, seed: int = 11) -> list[event_pb2.Event]:
    """80% match no requirement — half grade updates, half passes of courses no badge
    names — and 20% pass one of a badge's two courses, for learners out of 100,000."""
    rng = random.Random(seed)
    events = []
    for i in range(count):
        learner, kind = rng.randrange(LEARNERS), rng.random()
        if kind < ADVANCING_SHARE:
            badge = rng.randrange(templates)
            events.append(_passed(f"mx-{i}", learner, course_key(badge, rng.choice("ab"))))
        elif kind < 0.6:
            grade = {"quiz": {"id": f"q{i % 50}"}, "score": rng.random(), "passed": True}
            events.append(_event(f"mx-{i}", GRADED, learner, grade))
        else:
            events.append(_passed(f"mx-{i}", learner, f"course-v1:Other+C{rng.randrange(5000)}+R"))
    return events


def all_advance(count: int, templates: int, seed: int = 13) -> list[event_pb2.Event]:
    """Every event moves progress: pairs of (learner, badge), each learner in one pair,
    pass course a, and 500 pairs later course b, which earns the badge (half the events
    award)."""
    rng = random.Random(seed)
    learners = rng.sample(range(LEARNERS), min(LEARNERS, count // 2 + 1))
    events: list[event_pb2.Event] = []
    for start in range(0, count // 2, PAIR_CHUNK):
        pairs = [
            (learners[p], rng.randrange(templates))
            for p in range(start, min(start + PAIR_CHUNK, count // 2))
        ]
        for part in "ab":
            events += [_passed(f"aa-{part}-{n}", n, course_key(b, part)) for n, b in pairs]
    return events


WORKLOADS: dict[str, Callable[[int, int], list[event_pb2.Event]]] = {
    "mixed": mixed,
    "all-advance": all_advance,
}
