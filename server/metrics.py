"""Prometheus metrics, served as text at `GET /metrics` on the HTTP port.

One `Metrics` per server, each with its own `CollectorRegistry` (never the process-wide
default: tests run several servers in one process). The composition root builds it and
hands each instrument to the part that feeds it. Counters are fed once per batch or group
with counts, never once per event, so the ingest hot path pays a few dictionary
operations per batch. What only the database or the live objects know (outbox depth,
rules in force, circuit states) is read at scrape time; the outbox count runs on the
runner's read pool, never on the event loop.

Every metric, its labels and its meaning are listed in docs/operations.md.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter as Tally
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from server.domain import OutboxState
from server.engine.awarding import AwardChange
from server.engine.broadcast import AwardBroadcaster
from server.engine.events import EventAck

__all__ = [
    "DEFAULT_SCRAPE_READ_SECONDS",
    "MeteredBroadcaster",
    "Metrics",
    "MetricsApp",
    "ScrapeState",
]

_log = logging.getLogger("badgeflow.metrics")

#: Longest a scrape waits for the outbox count before answering without it.
DEFAULT_SCRAPE_READ_SECONDS = 2.0
#: What `generate_latest` writes: the classic text format, which every Prometheus reads.
CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"
#: Ingest runs in milliseconds; provider calls in tens of milliseconds to seconds.
_INGEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_CALL_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    """The instruments of one server, registered in `registry`.

    Example::

        metrics = Metrics()
        metrics.count_acks(acks)
        text = generate_latest(metrics.registry)
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.events = Counter(
            "badgeflow_events",
            "Events acknowledged, by outcome (accepted, duplicate, rejected) and reason code "
            "(empty unless rejected).",
            ["outcome", "reason_code"],
            registry=r,
        )
        self.batch_seconds = Histogram(
            "badgeflow_event_batch_duration_seconds",
            "Seconds from a batch's arrival at EventService to its acks (queueing for the "
            "group commit included).",
            buckets=_INGEST_BUCKETS,
            registry=r,
        )
        self.group_seconds = Histogram(
            "badgeflow_ingest_group_duration_seconds",
            "Seconds one group commit took: its write transaction (learner locks, duplicate "
            "check, rule evaluation, progress and award writes, commit).",
            buckets=_INGEST_BUCKETS,
            registry=r,
        )
        self.evaluation_seconds = Histogram(
            "badgeflow_rule_evaluation_duration_seconds",
            "Seconds spent processing the batches of one group against the rules in force "
            "(matching, progress and awards with their reads and writes; without the learner "
            "locks and the commit).",
            buckets=_INGEST_BUCKETS,
            registry=r,
        )
        self.award_changes = Counter(
            "badgeflow_award_changes",
            "Committed award changes, by kind (awarded, revoked), from rules, grants, "
            "revocations and backfills alike.",
            ["kind"],
            registry=r,
        )
        self.issuance_seconds = Histogram(
            "badgeflow_issuance_call_duration_seconds",
            "Seconds one issuance attempt spent with the provider, by provider and outcome "
            "(sent, rejected, rate_limited, transport_error, outcome_unknown, error); its "
            "_count is the number of attempts.",
            ["provider", "outcome"],
            buckets=_CALL_BUCKETS,
            registry=r,
        )

    def count_acks(self, acks: Sequence[EventAck]) -> None:
        """One increment per distinct (outcome, reason code) of a batch."""
        for (outcome, code), n in Tally((a.outcome, a.reason_code) for a in acks).items():
            self.events.labels(outcome.value, code).inc(n)

    def count_award_changes(self, changes: Sequence[AwardChange]) -> None:
        for kind, n in Tally(c.kind.value for c in changes).items():
            self.award_changes.labels(kind).inc(n)

    def observe_issuance(self, provider: str, outcome: str, seconds: float) -> None:
        self.issuance_seconds.labels(provider, outcome).observe(seconds)


class MeteredBroadcaster(AwardBroadcaster):
    """The award fan-out, counting every change it publishes: every committed award
    change in this process goes through it (ingest, grants, revocations, backfills)."""

    def __init__(self, metrics: Metrics, queue_size: int | None = None) -> None:
        if queue_size is None:
            super().__init__()
        else:
            super().__init__(queue_size)
        self._metrics = metrics

    def publish(self, changes: Iterable[AwardChange]) -> None:
        changes = changes if isinstance(changes, Sequence) else list(changes)
        if changes:
            self._metrics.count_award_changes(changes)
            super().publish(changes)


class ScrapeState(Collector):
    """Gauges computed at scrape time from live state. `sample()` (async) reads what needs
    the database; `collect()` (sync, called by the exposition) only reports."""

    def __init__(
        self,
        *,
        outbox_counts: Callable[[], Awaitable[Mapping[str, int]]],
        rules: Callable[[], tuple[int, int]],
        database_up: Callable[[], bool],
        circuits: Callable[[], Iterable[tuple[str, str, str]]],
        circuit_states: Sequence[str],
        read_timeout: float = DEFAULT_SCRAPE_READ_SECONDS,
    ) -> None:
        self._outbox_counts = outbox_counts
        self._rules = rules
        self._database_up = database_up
        self._circuits = circuits
        self._circuit_states = circuit_states
        self._read_timeout = read_timeout
        self._outbox: Mapping[str, int] | None = None
        self._pending: asyncio.Future[Mapping[str, int]] | None = None

    async def sample(self) -> None:
        # A count stuck on a hung database keeps its read thread; later scrapes wait for
        # that one rather than take the other read threads too.
        if self._pending is None or self._pending.done():
            self._pending = asyncio.ensure_future(self._outbox_counts())
        try:
            self._outbox = await asyncio.wait_for(asyncio.shield(self._pending), self._read_timeout)
        except Exception as error:  # noqa: BLE001 - the scrape answers without the depth
            _log.warning("outbox depth unavailable", extra={"error": type(error).__name__})
            self._outbox = None

    def collect(self) -> Iterator[Metric]:
        version, active = self._rules()
        yield _gauge("badgeflow_rules_version", "Version of the rule set in force.", version)
        yield _gauge(
            "badgeflow_active_templates", "Active templates in the rules in force.", active
        )
        yield _gauge(
            "badgeflow_database_up",
            "1 when the last health check reached the database, else 0.",
            1 if self._database_up() else 0,
        )
        yield self._outbox_family()
        yield self._circuit_family()

    def _outbox_family(self) -> Metric:
        family = GaugeMetricFamily(
            "badgeflow_outbox_items",
            "Outbox items by state (pending, sent, failed); absent when the database could "
            "not be read during this scrape.",
            labels=["state"],
        )
        if self._outbox is not None:
            for state in OutboxState:
                family.add_metric([state.value], self._outbox.get(state.value, 0))
        return family

    def _circuit_family(self) -> Metric:
        family = GaugeMetricFamily(
            "badgeflow_provider_circuit_state",
            "1 for the current circuit state (closed, half_open, open) of each active "
            "provider connection's breaker in this process's issuance worker, 0 for the others.",
            labels=["connection_id", "provider", "state"],
        )
        for connection_id, provider, current in self._circuits():
            for state in self._circuit_states:
                family.add_metric([connection_id, provider, state], 1 if state == current else 0)
        return family


def _gauge(name: str, documentation: str, value: float) -> Metric:
    return GaugeMetricFamily(name, documentation, value=value)


Scope = Mapping[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class MetricsApp:
    """ASGI: `GET /metrics` in the Prometheus text format (version 0.0.4)."""

    def __init__(self, metrics: Metrics, state: ScrapeState) -> None:
        self._metrics = metrics
        self._state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            await respond(send, 405, b"method not allowed: GET only\n", b"text/plain")
            return
        await self._state.sample()
        body = generate_latest(self._metrics.registry)
        await respond(send, 200, body, CONTENT_TYPE)


async def respond(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
