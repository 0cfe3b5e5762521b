"""Scenario: ingest as the number of active templates grows (10 → 10,000).

Every template is its own course badge, and every event passes one of those courses, so
each event earns progress on exactly one template whatever the total. A rules engine
that checks every requirement of the event type gets slower with every template; the
index from (event type, equality constants) to triggers should keep events/s flat. The
ratio to the 10-template run of the same process is the figure.

The database is prepared directly (rules stored, templates active) so that setting up
10,000 templates does not dominate the run; the events then go through a real server
process over the batched gRPC stream."""

from __future__ import annotations

import random
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from badgeflow.v1 import event_pb2
from google.protobuf import struct_pb2

from bench.ingest import _stream
from server.store import append_rules, ensure_templates, set_template_active
from server.store.db import create_engine_for, make_session_factory, migrate
from tests.service.serverproc import start_server

PASSED = "org.openedx.learning.course.passing.status.updated.v1"


def _rules(count: int) -> str:
    return "".join(
        f'badge "course-{i}" {{\n'
        f'    template credly "bench-{i}"\n'
        "    require on course_passed where is_passing\n"
        f'        and course.course_key == "course-v1:X+C{i}+R"\n'
        "}\n"
        for i in range(count)
    )


def _prepare(url: str, count: int) -> None:
    engine = create_engine_for(url)
    migrate(engine)
    now = datetime.now(UTC)
    with make_session_factory(engine)() as session, session.begin():
        append_rules(session, [("bench.badge", _rules(count))], now)
        ensure_templates(
            session, [("credly", f"bench-{i}", f"course-{i}", "") for i in range(count)], now
        )
        for i in range(count):
            set_template_active(session, f"credly:bench-{i}", True, now)
    engine.dispose()


def _events(total: int, templates: int, seed: int = 7) -> list[event_pb2.Event]:
    chooser = random.Random(seed)
    events = []
    for i in range(total):
        payload = struct_pb2.Struct()
        course = chooser.randrange(templates)
        payload.update({"is_passing": True, "course": {"course_key": f"course-v1:X+C{course}+R"}})
        learner = event_pb2.Learner(id=f"learner-{chooser.randrange(total)}")
        events.append(event_pb2.Event(id=f"ev-{i}", type=PASSED, learner=learner, payload=payload))
    return events


def _measure(count: int, total: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        _prepare(url, count)
        server = start_server(url)
        try:
            return _stream(server.target, _events(total, count))
        finally:
            server.terminate()


def run(quick: bool) -> dict[str, Any]:
    sizes = (10, 100) if quick else (10, 100, 1_000, 10_000)
    total = 2_000 if quick else 20_000
    runs = {str(n): _measure(n, total) for n in sizes}
    base = runs[str(sizes[0])]["events_per_s"]
    return {
        "name": "ingest_by_templates",
        "events": total,
        "runs": runs,
        "slowdown_vs_10_templates": {
            n: round(base / r["events_per_s"], 2) for n, r in runs.items()
        },
    }
