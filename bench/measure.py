"""Measuring tools shared by the scenarios: a clocked event stream through the SDK,
percentiles, and a process's resident memory."""

from __future__ import annotations

import contextlib
import gc
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from badgeflow.v1 import event_pb2
from badgeflow_client import BadgeflowClient

__all__ = [
    "StreamClock",
    "harness_frozen",
    "percentile_ms",
    "progress",
    "rss_mb",
    "stream_events",
    "summarise",
]

ACCEPTED = event_pb2.EVENT_OUTCOME_ACCEPTED


def progress(message: str) -> None:
    """Long steps say what they do on stderr, so a 10-minute run is never silent."""
    print(f"  … {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def harness_frozen() -> Iterator[None]:
    """The harness's own long-lived objects (every scenario's events, the server modules
    it imported to prepare stores) left out of the collector while the SDK is timed. A
    full collection of them took 70-95 ms here, mid-run, and showed as ack latency of
    whichever server was measured; an application using the SDK does not hold them. The
    SDK's own garbage is collected as usual."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def percentile_ms(ordered: Sequence[float], share: float) -> float:
    """The nearest-rank percentile of sorted seconds, in milliseconds."""
    if not ordered:
        return 0.0
    rank = max(1, min(len(ordered), round(share * len(ordered))))
    return round(ordered[rank - 1] * 1000, 2)


def summarise(count: int, elapsed: float, latencies: list[float]) -> dict[str, Any]:
    latencies.sort()
    return {
        "events_per_s": round(count / elapsed),
        "ack_p50_ms": round(statistics.median(latencies) * 1000, 2) if latencies else 0.0,
        "ack_p99_ms": percentile_ms(latencies, 0.99),
    }


class StreamClock:
    """Wraps the events the SDK reads lazily and notes when each one was taken, so an
    ack's latency is measured from the moment the SDK put the event in a message —
    through the SDK's own batching, not a hand-built stream."""

    def __init__(self, events: Sequence[event_pb2.Event], rate: float = 0.0) -> None:
        self._events = events
        self._rate = rate  # events/s to pace at; 0 sends as fast as the stream takes them
        self.taken = [0.0] * len(events)

    def __iter__(self) -> Iterator[event_pb2.Event]:
        start = time.perf_counter()
        for i, event in enumerate(self._events):
            if self._rate:
                _sleep_until(start + i / self._rate)
            self.taken[i] = time.perf_counter()
            yield event


def _sleep_until(moment: float) -> None:
    delay = moment - time.perf_counter()
    if delay > 0:
        time.sleep(delay)


def stream_events(
    target: str, events: Sequence[event_pb2.Event], batch: int, rate: float = 0.0, skip: int = 0
) -> dict[str, Any]:
    """Send `events` through `BadgeflowClient.stream_events` in messages of `batch`;
    events/s and p50/p99 ack latency (the first `skip` events are a warm-up, not counted)."""
    clock = StreamClock(events, rate)
    acked = [0.0] * len(events)
    accepted = 0
    with harness_frozen(), BadgeflowClient(target, timeout=600) as client:
        for i, result in enumerate(client.stream_events(clock, batch_size=batch)):
            acked[i] = time.perf_counter()
            accepted += result.outcome == ACCEPTED
    if accepted != len(events):
        raise RuntimeError(f"only {accepted} of {len(events)} events were accepted")
    latencies = [acked[i] - clock.taken[i] for i in range(skip, len(events))]
    elapsed = acked[-1] - clock.taken[skip]
    return summarise(len(events) - skip, elapsed, latencies)


def rss_mb(pid: int) -> float:
    """VmRSS of a process, in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for process {pid}")


def publish_events(
    target: str,
    events: Sequence[event_pb2.Event],
    batch: int,
    rate: float = 0.0,
    skip: int = 0,
    linger_ms: float = 5.0,
) -> dict[str, Any]:
    """Send `events` one `EventPublisher.publish` at a time (it batches up to `batch`
    events or `linger_ms`); each ack's latency runs from publish to its future's result."""
    taken, acked = [0.0] * len(events), [0.0] * len(events)
    futures = []
    with harness_frozen(), BadgeflowClient(target, timeout=600) as client:
        with client.publisher(batch_size=batch, linger_ms=linger_ms) as publisher:
            for i, event in enumerate(StreamClock(events, rate)):
                taken[i] = time.perf_counter()
                future = publisher.publish(event)
                future.add_done_callback(lambda _f, i=i: acked.__setitem__(i, time.perf_counter()))
                futures.append(future)
    accepted = sum(f.result().outcome == ACCEPTED for f in futures)
    if accepted != len(events):
        raise RuntimeError(f"only {accepted} of {len(events)} events were accepted")
    latencies = [acked[i] - taken[i] for i in range(skip, len(events))]
    return summarise(len(events) - skip, max(acked) - taken[skip], latencies)
