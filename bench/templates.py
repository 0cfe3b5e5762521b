"""Scenario (b): ingest as the number of active templates grows (10 → 10,000), for each
workload and backend.

The events are the same whatever the number of templates (same share of matching
events, learners out of 100,000), so a rules engine that checks every requirement of an
event's type slows down with every template, while the index from (event type, equality
constants) to triggers should keep events/s flat. The figure is each run's events/s
over the 10-template run of the same workload and backend, in the same process run; the
null sink's rate (same SDK batching) is recorded as the plot's reference line.

The databases are prepared directly in the store (rules stored, templates active) so
that setting up 10,000 templates does not dominate the run (see `bench.provisioning`);
the events then go through a real server process over the SDK's batched stream."""

from __future__ import annotations

from typing import Any

from bench import null_sink
from bench.backends import BACKENDS
from bench.context import Context
from bench.ingest import BATCH, CLIENT
from bench.measure import progress, stream_events
from bench.provisioning import running_server
from bench.workloads import LEARNERS, WORKLOADS

__all__ = ["run"]


def _sizes(quick: bool) -> tuple[int, tuple[int, ...]]:
    return (500, (10, 100)) if quick else (10_000, (10, 100, 1_000, 10_000))


def run(ctx: Context) -> dict[str, Any]:
    count, sizes = _sizes(ctx.quick)
    progress("null sink")
    sink = null_sink.measure(WORKLOADS["mixed"](count, sizes[0]), BATCH)
    series = {
        f"{workload}/{backend}": _series(ctx, workload, backend, count, sizes)
        for backend in BACKENDS
        for workload in WORKLOADS
    }
    return {
        "name": "ingest_by_templates",
        "events": count,
        "batch": BATCH,
        "client": CLIENT,
        "learners": LEARNERS,
        "null_sink": sink,
        "series": series,
    }


def _series(
    ctx: Context, workload: str, backend: str, count: int, sizes: tuple[int, ...]
) -> dict[str, Any]:
    if (reason := ctx.unavailable(backend)) is not None:
        return {"skipped": reason}
    if ctx.quick and workload != "all-advance":
        return {"skipped": "not run by --quick (one workload is enough for the smoke test)"}
    runs = {str(n): _measure(ctx, workload, backend, count, n) for n in sizes}
    base = runs[str(sizes[0])]["events_per_s"]
    return {
        "runs": runs,
        "slowdown_vs_10_templates": {
            n: round(base / r["events_per_s"], 2) for n, r in runs.items()
        },
    }


def _measure(
    ctx: Context, workload: str, backend: str, count: int, templates: int
) -> dict[str, Any]:
    events = WORKLOADS[workload](count, templates)
    with ctx.prepared_copy(backend, templates, f"by-templates-{templates}", services=False) as (
        url,
        _,
    ):
        with running_server(url) as server:
            progress(f"{workload} on {backend} with {templates:,} templates")
            return stream_events(server.target, events, BATCH)
