"""Scenario (e): the server process's resident memory (VmRSS from /proc) with 100,000
learners × 100 templates of progress — 10 million progress rows on SQLite.

Ingesting that much progress would take far longer than the whole bench (each event
moves one row), so the rows are written straight into the `progress` table in one
transaction by this process (stdlib sqlite3, executemany) while no server runs; every
learner has requirement `a` of every template fulfilled. The server's RSS is read:
started on the same rules with no progress (before), started on the 10 million rows
(after loading), at its peak while ingesting events for learners spread over all of
them, and at its peak while serving reads of them (learner dashboards and template
pages, from 4 client threads). Baseline: the RSS of the server with no progress."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from badgeflow_client import BadgeflowClient

from bench.context import Context
from bench.ingest import BATCH
from bench.measure import progress, rss_mb, stream_events
from bench.provisioning import prepare_in_store, running_server
from bench.workloads import WORKLOADS, template_ids

__all__ = ["GOAL_MB", "run"]

GOAL_MB = 300.0
TEMPLATES = 100
_SAMPLE_S = 0.1
HOW_LOADED = (
    "rows written straight into the progress table by the bench (sqlite3 executemany, one"
    " transaction) while no server ran; not by ingest, which moves one row per event"
)
_LEARNER = (
    "INSERT INTO learners (id, email, first_name, last_name, created_at, updated_at)"
    " VALUES (?, ?, 'Bench', 'Learner', ?, ?)"
)
_INSERT = (
    "INSERT INTO progress (learner_id, template_id, requirements, partial, fulfilled_groups,"
    " total_groups, completed, times_awarded, updated_at) VALUES (?, ?, ?, '{}', 1, 2, 0, 0, ?)"
)


def run(ctx: Context) -> dict[str, Any]:
    learners = 1_000 if ctx.quick else 100_000
    reads = 50 if ctx.quick else 4_000
    settle = 0.1 if ctx.quick else 1.0
    with ctx.database("sqlite", "memory") as url:
        prepare_in_store(url, TEMPLATES)
        progress("server with no progress")
        before = _idle_rss(url, settle)
        progress(f"writing {learners * TEMPLATES:,} progress rows")
        load = _write_progress(url.removeprefix("sqlite:///"), learners)
        result = _with_progress(url, learners, reads, settle)
    return {
        "name": "memory",
        "learners": learners,
        "templates": TEMPLATES,
        "progress_rows": learners * TEMPLATES,
        "how_loaded": HOW_LOADED,
        "load": load,
        "rss_mb": {"no_progress": before, **result},
        "goal_mb": GOAL_MB,
    }


def _idle_rss(url: str, settle: float) -> float:
    with running_server(url) as server:
        time.sleep(settle)  # let start-up work finish
        return rss_mb(server.process.pid)


def _write_progress(path: str, learners: int) -> dict[str, Any]:
    start = time.perf_counter()
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("BEGIN")
        stored = (
            datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
        )  # as UtcDateTime writes it
        connection.executemany(
            _LEARNER,
            ((f"learner-{n}", f"learner-{n}@example.org", stored, stored) for n in range(learners)),
        )
        connection.executemany(_INSERT, _progress_rows(learners, stored))
        connection.execute("COMMIT")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 1), "rows_per_s": round(learners * TEMPLATES / seconds)}


def _progress_rows(learners: int, stored: str) -> Iterator[tuple[str, str, str, str]]:
    at = datetime.fromisoformat(stored).replace(tzinfo=UTC).isoformat()
    requirements = f'{{"a": {{"at": "{at}", "events": ["bulk"], "evidence": []}}}}'
    ids = template_ids(TEMPLATES)
    for learner in range(learners):
        for template_id in ids:
            yield f"learner-{learner}", template_id, requirements, stored


def _with_progress(url: str, learners: int, reads: int, settle: float) -> dict[str, float]:
    with running_server(url) as server:
        pid, target = server.process.pid, server.target
        time.sleep(settle)
        after = rss_mb(pid)
        progress("ingesting over the loaded learners")
        events = WORKLOADS["mixed"](5_000 if learners > 1_000 else 500, TEMPLATES)
        ingest_peak = _peak(pid, lambda: stream_events(target, events, BATCH))
        progress(f"{reads:,} reads")
        read_peak = _peak(pid, lambda: _read(target, learners, reads))
        final = rss_mb(pid)
    return {
        "after_loading": after,
        "peak_while_ingesting": ingest_peak,
        "peak_while_reading": read_peak,
        "at_end": final,
    }


def _peak(pid: int, work: Callable[[], Any]) -> float:
    """The highest RSS sampled every 0.1 s while `work` runs."""
    samples = [rss_mb(pid)]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(_SAMPLE_S):
            samples.append(rss_mb(pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        work()
    finally:
        done.set()
        sampler.join()
    return max(samples)


def _read(target: str, learners: int, reads: int) -> None:
    """Learner dashboards spread over every learner, and a page of each template."""
    with BadgeflowClient(target, timeout=120) as client, ThreadPoolExecutor(4) as pool:
        step = max(1, learners // reads)
        list(pool.map(lambda n: client.learner_progress(f"learner-{n * step}"), range(reads)))
        for template_id in template_ids(TEMPLATES):
            next(iter(client.template_progress(template_id)), None)
