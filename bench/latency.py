"""Scenario (f): single-event latency at a light load — a paced sender offers 1,000
events/s, one `EventPublisher.publish(event)` each (the SDK batches them: up to 100 per
message, sealed after 5 ms), and each event's ack is timed from publish to its future's
result. The mixed workload, 100 active templates. Baseline: the same paced sender
against the null sink.

(Without the publisher's batching, one event per stream message, the server saturates
at a few hundred messages a second here and latency grows without bound.)"""

from __future__ import annotations

from typing import Any

from bench import null_sink
from bench.backends import BACKENDS
from bench.context import Context
from bench.measure import progress, publish_events
from bench.provisioning import running_server
from bench.workloads import WORKLOADS

__all__ = ["RATE", "run"]

RATE = 1_000  # events/s offered
TEMPLATES = 100
WARM_UP = RATE // 2  # the first half second is not counted
SENDER = "EventPublisher.publish, one event per call, paced; batch_size=100, linger_ms=5"
BATCH = 100
LINGER_MS = 5.0


def run(ctx: Context) -> dict[str, Any]:
    seconds, warm_up = (0.3, RATE // 10) if ctx.quick else (10, WARM_UP)
    events = WORKLOADS["mixed"](warm_up + int(RATE * seconds), TEMPLATES)
    progress(f"null sink at {RATE:,} events/s")
    sink = null_sink.measure(events, BATCH, RATE, warm_up, sender=publish_events)
    return {
        "name": "latency",
        "offered_events_per_s": RATE,
        "events": len(events) - warm_up,
        "warm_up_events": warm_up,
        "sender": SENDER,
        "active_templates": TEMPLATES,
        "null_sink": sink,
        "backends": {b: _on_backend(ctx, b, events, warm_up) for b in BACKENDS},
    }


def _on_backend(ctx: Context, backend: str, events: list[Any], warm_up: int) -> dict[str, Any]:
    if (reason := ctx.unavailable(backend)) is not None:
        return {"skipped": reason}
    with ctx.prepared_copy(backend, TEMPLATES, "latency", services=False) as (url, _):
        with running_server(url) as server:
            progress(f"{backend} at {RATE:,} events/s")
            return {"badgeflow": publish_events(server.target, events, BATCH, RATE, warm_up)}
