"""Scenario (a): ingest end to end — the SDK (`BadgeflowClient.stream_events`, 100 events
per message) → gRPC stream → evaluate → persist progress → award — into a real server
process on SQLite and on PostgreSQL, with 10,000 active templates (applied through
RuleService, activated through TemplateService) and learners out of 100,000.

Two workloads, each with the baseline its goal is stated against, measured in the same
run: *mixed* (80% of events match no requirement) against the null sink (same SDK, same
batching, a server that only acks); *all-advance* (every event moves progress, half
award) against the raw store (the backend's own upsert rate, see `bench.raw_store`)."""

from __future__ import annotations

import time
from typing import Any

from badgeflow.v1 import event_pb2

from bench import null_sink
from bench.backends import BACKENDS
from bench.context import Context
from bench.measure import progress, stream_events
from bench.provisioning import activate_through_service, running_server
from bench.raw_store import upsert_rate
from bench.workloads import LEARNERS, WORKLOADS

__all__ = ["BATCH", "run_all_advance", "run_mixed", "sizes"]

BATCH = 100
CLIENT = "BadgeflowClient.stream_events"


def sizes(quick: bool) -> tuple[int, int]:
    """(events, active templates) of one run."""
    return (1_000, 100) if quick else (20_000, 10_000)


def run_mixed(ctx: Context) -> dict[str, Any]:
    return _run(ctx, "mixed")


def run_all_advance(ctx: Context) -> dict[str, Any]:
    return _run(ctx, "all-advance")


def _run(ctx: Context, workload: str) -> dict[str, Any]:
    count, templates = sizes(ctx.quick)
    events = WORKLOADS[workload](count, templates)
    result: dict[str, Any] = {
        "name": f"ingest_{workload.replace('-', '_')}",
        "workload": workload,
        "events": len(events),
        "batch": BATCH,
        "client": CLIENT,
        "learners": LEARNERS,
        "active_templates": templates,
    }
    if workload == "mixed":
        progress("null sink")
        result["null_sink"] = null_sink.measure(events, BATCH)
    result["backends"] = {b: _on_backend(ctx, b, workload, events, templates) for b in BACKENDS}
    for outcome in result["backends"].values():
        if "badgeflow" in outcome:
            _add_ratio(outcome, result.get("null_sink"))
    return result


def _add_ratio(outcome: dict[str, Any], sink: dict[str, Any] | None) -> None:
    """The figure the goal is stated on: events/s over the baseline's rate."""
    rate = outcome["badgeflow"]["events_per_s"]
    if sink is not None:
        outcome["throughput_vs_null_sink"] = round(rate / sink["events_per_s"], 3)
    else:
        outcome["throughput_vs_raw_store"] = round(rate / outcome["raw_store"]["rows_per_s"], 3)


def _on_backend(
    ctx: Context, backend: str, workload: str, events: list[event_pb2.Event], templates: int
) -> dict[str, Any]:
    if (reason := ctx.unavailable(backend)) is not None:
        progress(f"{backend} skipped: {reason}")
        return {"skipped": reason}
    with ctx.prepared_copy(backend, templates, f"ingest-{workload}") as (url, setup):
        started = time.perf_counter()
        with running_server(url) as server:
            setup = {**setup, "server_start_s": round(time.perf_counter() - started, 2)}
            setup.update(activate_through_service(server.target, templates))
            progress(f"{workload} on {backend}: {len(events):,} events")
            figures = stream_events(server.target, events, BATCH)
    outcome: dict[str, Any] = {"setup": setup, "badgeflow": figures}
    if workload == "all-advance":
        with ctx.database(backend, "raw-store") as raw_url:
            progress(f"raw store upserts on {backend}")
            outcome["raw_store"] = upsert_rate(raw_url, len(events), templates)
    return outcome
