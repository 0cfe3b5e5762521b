"""Measure (and optionally profile) the server's ingest work in process, without gRPC.

    .venv/bin/python -m server.tools.ingest_profile --workload mixed
    .venv/bin/python -m server.tools.ingest_profile --workload advance --profile 25

It builds what the server builds (the event servicer, the ingestor, the SQL batch store on
a temporary SQLite file) with `--templates` active badges, each requiring two specific
courses passed, and feeds it proto batches of `--batch` events about `--learners`
learners. The figure is events/s of servicer work (proto → engine → commit → acks), the
part of the end-to-end path this process owns; the transport is measured by `bench`.

Workloads, as issue 6 names them: *mixed* is 80% events no requirement matches (half
quiz grades, an event type no rule names, half passes of courses no badge names) and 20%
passes of a badge's course; *advance* is every event a pass of a badge's course;
*pairs* is all-advance as bench builds it (half the events earn a badge). A raw store
baseline (progress-like upserts, 500 rows per transaction) is measured on the same
file for the all-advance ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import pstats
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from badgeflow.v1 import event_pb2, event_service_pb2
from badgeflow_client import payload_json
from sqlalchemy import create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from server.engine.broadcast import AwardBroadcaster
from server.ingest import Ingestor, RulesHolder
from server.rules_admin import load_active_rules
from server.services.events import EventServiceServicer
from server.store import append_rules, ensure_templates, set_template_active
from server.store.batch_store import SqlBatchStore
from server.store.db import create_engine_for, make_session_factory, migrate
from server.transactions import TransactionRunner

__all__ = ["main"]

PASSED = "org.openedx.learning.course.passing.status.updated.v1"
GRADED = "badgeflow.generic.quiz.graded.v1"
DEFAULT_TEMPLATES = 10_000
DEFAULT_LEARNERS = 100_000
DEFAULT_EVENTS = 40_000
DEFAULT_BATCH = 100
RAW_ROWS = 20_000
RAW_CHUNK = 500
_SEQUENTIAL = False  # --sequential: one batch at a time, for a profile without GIL overlap


def _rules(count: int) -> str:
    return "".join(
        f'badge "b{i}" {{\n'
        f'    template credly "t{i}"\n'
        f'    require a: on course_passed where is_passing and course.course_key == "C{2 * i}"\n'
        "    require b: on course_passed where is_passing"
        f' and course.course_key == "C{2 * i + 1}"\n'
        "}\n"
        for i in range(count)
    )


def _prepare(sessions: sessionmaker[Session], templates: int) -> None:
    now = datetime.now(UTC)
    with sessions() as session, session.begin():
        append_rules(session, [("bench.badge", _rules(templates))], now)
        ensure_templates(session, [("credly", f"t{i}", f"b{i}", "") for i in range(templates)], now)
        for i in range(templates):
            set_template_active(session, f"credly:t{i}", True, now)


def _event(i: int, learner: int, type_: str, payload: dict[str, Any]) -> event_pb2.Event:
    person = event_pb2.Learner(id=f"learner-{learner}", email=f"l{learner}@example.org")
    return event_pb2.Event(
        id=f"ev-{i}", type=type_, learner=person, payload_json=payload_json(payload)
    )


def _passed(course: str) -> dict[str, Any]:
    return {"is_passing": True, "course": {"course_key": course}}


def _pairs(count: int, templates: int, learners: int) -> list[event_pb2.Event]:
    """All-advance as bench builds it: (learner, badge) pairs pass course a, then 500
    pairs later course b, which earns the badge; half the events award."""
    chooser = random.Random(7)
    events: list[event_pb2.Event] = []
    while len(events) < count:
        pairs = [(chooser.randrange(learners), chooser.randrange(templates)) for _ in range(500)]
        for part in (0, 1):
            for learner, badge in pairs:
                course = f"C{2 * badge + part}"
                events.append(_event(len(events), learner, PASSED, _passed(course)))
    return events[:count]


def _events(workload: str, count: int, templates: int, learners: int) -> list[event_pb2.Event]:
    if workload == "pairs":
        return _pairs(count, templates, learners)
    chooser = random.Random(7)
    events = []
    for i in range(count):
        learner = chooser.randrange(learners)
        kind = chooser.random()
        if workload == "advance" or kind < 0.2:
            payload = _passed(f"C{chooser.randrange(2 * templates)}")
            events.append(_event(i, learner, PASSED, payload))
        elif kind < 0.6:
            grade = {"quiz": {"id": f"q{i % 50}"}, "score": 0.8, "passed": True}
            events.append(_event(i, learner, GRADED, grade))
        else:
            events.append(_event(i, learner, PASSED, _passed(f"other-{i % 997}")))
    return events


async def _requests(
    events: Sequence[event_pb2.Event], batch: int
) -> AsyncIterator[event_service_pb2.StreamEventsRequest]:
    for sequence, start in enumerate(range(0, len(events), batch), 1):
        yield event_service_pb2.StreamEventsRequest(
            sequence=sequence, events=events[start : start + batch]
        )


async def _run(
    servicer: EventServiceServicer, events: Sequence[event_pb2.Event], batch: int
) -> int:
    """One stream, as the SDK sends it (the context is only used on errors)."""
    accepted = 0
    if _SEQUENTIAL:
        for start in range(0, len(events), batch):
            results = await servicer._process(events[start : start + batch])
            accepted += sum(r.outcome == event_pb2.EVENT_OUTCOME_ACCEPTED for r in results)
        return accepted
    replies = servicer.StreamEvents(_requests(events, batch), None)  # type: ignore[arg-type]
    async for reply in replies:
        accepted += sum(1 for r in reply.results if r.outcome == event_pb2.EVENT_OUTCOME_ACCEPTED)
    return accepted


def _raw_upserts_per_s(db: Path) -> float:
    """Progress-like rows upserted with plain sqlite3, 500 per transaction (WAL)."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE raw (learner_id TEXT, template_id TEXT, requirements TEXT,"
        " updated_at TEXT, PRIMARY KEY (learner_id, template_id))"
    )
    rows = [(f"learner-{i}", f"t{i % 997}", '{"a": 1}', "2026-01-01") for i in range(RAW_ROWS)]
    start = time.perf_counter()
    for offset in range(0, RAW_ROWS, RAW_CHUNK):
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO raw VALUES (?, ?, ?, ?) ON CONFLICT (learner_id, template_id)"
            " DO UPDATE SET requirements = excluded.requirements,"
            " updated_at = excluded.updated_at",
            rows[offset : offset + RAW_CHUNK],
        )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return RAW_ROWS / elapsed


class _ProfiledRunner(TransactionRunner):
    """Profiles the writer thread's transactions too (cProfile sees one thread)."""

    def __init__(self, sessions: sessionmaker[Session], profiler: cProfile.Profile) -> None:
        super().__init__(sessions)
        self.profiler = profiler

    def _in_transaction(self, work: Any) -> Any:
        self.profiler.enable()
        try:
            return super()._in_transaction(work)
        finally:
            self.profiler.disable()


@contextlib.contextmanager
def _postgres_database(server_url: str) -> Iterator[str]:
    """A fresh, uniquely named database on the server, dropped afterwards."""
    admin = create_engine(make_url(server_url), isolation_level="AUTOCOMMIT")
    name = f"badgeflow_profile_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


def _measure(options: argparse.Namespace, url: str) -> dict[str, Any]:
    engine = create_engine_for(url)
    for pragma in options.pragma:
        # Runs after the server's own connection settings, so it can override them.
        event.listen(engine, "connect", lambda conn, _r, p=pragma: conn.execute(f"PRAGMA {p}"))
    migrate(engine)
    sessions = make_session_factory(engine)
    _prepare(sessions, options.templates)
    writer_profile = cProfile.Profile() if options.profile else None
    runner = (
        _ProfiledRunner(sessions, writer_profile) if writer_profile else TransactionRunner(sessions)
    )
    with sessions() as session:
        holder = RulesHolder(load_active_rules(session))
    ingestor = Ingestor(runner, SqlBatchStore, holder, AwardBroadcaster())
    servicer = EventServiceServicer(ingestor, max_batch_events=1000)
    events = _events(options.workload, options.events, options.templates, options.learners)
    profiler = cProfile.Profile() if options.profile else None
    start, cpu_start = time.perf_counter(), time.process_time()
    if profiler is not None:
        profiler.enable()
    accepted = asyncio.run(_run(servicer, events, options.batch))
    if profiler is not None:
        profiler.disable()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    runner.close()
    engine.dispose()
    if profiler is not None:
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.add(writer_profile)
        _print_profile(stats, options.profile, len(events))
    return {
        "workload": options.workload,
        "templates": options.templates,
        "events": len(events),
        "accepted": accepted,
        "events_per_s": round(len(events) / elapsed),
        "us_per_event": round(elapsed / len(events) * 1e6, 1),
        # CPU of all threads: steadier than wall time on a shared machine.
        "cpu_us_per_event": round(cpu / len(events) * 1e6, 1),
    }


def _print_profile(stats: pstats.Stats, top: int, events: int) -> None:
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    print(f"(divide seconds by {events} events for the cost per event)", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=("mixed", "advance", "pairs"), default="mixed")
    parser.add_argument("--templates", type=int, default=DEFAULT_TEMPLATES)
    parser.add_argument("--learners", type=int, default=DEFAULT_LEARNERS)
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS)
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH)
    parser.add_argument("--profile", type=int, default=0, help="print the top N functions")
    parser.add_argument(
        "--postgres", metavar="URL", help="a PostgreSQL server to use instead of SQLite"
    )
    parser.add_argument(
        "--pragma",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra SQLite pragma per connection, to try settings (repeatable)",
    )
    parser.add_argument(
        "--sequential",
        action="store_true",
        help="one batch at a time (no read-ahead, no overlap): cleaner per-function times",
    )
    options = parser.parse_args(argv)
    global _SEQUENTIAL  # noqa: PLW0603 - a command-line switch of this tool
    _SEQUENTIAL = options.sequential
    if options.postgres:
        with _postgres_database(options.postgres) as url:
            result = _measure(options, url)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            result = _measure(options, f"sqlite:///{Path(tmp) / 'ingest.db'}")
            result["raw_upserts_per_s"] = round(_raw_upserts_per_s(Path(tmp) / "raw.db"))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
