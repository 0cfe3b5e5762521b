"""Health that follows reality: the database and the providers' circuits.

Every `interval` seconds a check runs `SELECT 1` (and lists the active provider
connections) through the runner's read pool. When the database does not answer, the
gRPC health service reports NOT_SERVING for the server as a whole and for every badgeflow
service (each one reads or writes the database), and SERVING again once it answers.

A provider outage does not change gRPC health: events are still accepted and awarded,
and the issuance worker holds their outbox items until the circuit closes, so taking
the server out of a load balancer would only refuse work it can do. The circuit state
of each connection is reported instead, at `GET /healthz` and as metrics.

`GET /healthz` answers JSON: 200 while the database answers, 503 when it does not,
whatever the circuits; the body says why. A database error shows only its kind (the
details, which may name hosts, are logged), since the HTTP port may face the internet
for webhooks.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from grpc_health.v1 import health, health_pb2
from sqlalchemy import text
from sqlalchemy.orm import Session

from server.metrics import Receive, Scope, Send, respond
from server.store import connections as connections_repo
from server.transactions import TransactionRunner
from server.worker.policy import CircuitBreaker

__all__ = [
    "DEFAULT_HEALTH_CHECK_SECONDS",
    "CircuitState",
    "HealthApp",
    "HealthMonitor",
    "HealthReport",
    "ReportingCircuitBreaker",
]

_log = logging.getLogger("badgeflow.health")

DEFAULT_HEALTH_CHECK_SECONDS = 5.0
_OVERALL = ""  # the health service's name for the server as a whole


class CircuitState(enum.StrEnum):
    CLOSED = "closed"  # calls go through
    OPEN = "open"  # calls wait out the cooldown
    HALF_OPEN = "half_open"  # the cooldown is over; the next success closes it


@dataclass
class ReportingCircuitBreaker(CircuitBreaker):
    """The worker's breaker, able to say which state a connection's circuit is in."""

    _tripped: set[str] = field(default_factory=set)

    def failure(self, key: str) -> None:
        super().failure(key)
        if self.is_open(key):
            self._tripped.add(key)

    def success(self, key: str) -> None:
        super().success(key)
        self._tripped.discard(key)

    def state(self, key: str) -> CircuitState:
        if self.is_open(key):
            return CircuitState.OPEN
        return CircuitState.HALF_OPEN if key in self._tripped else CircuitState.CLOSED


@dataclass(frozen=True, slots=True)
class HealthReport:
    """The last check: whether the database answered, and the active connections."""

    checked_at: datetime
    database_error: str = ""  # the error's kind; empty when the database answered
    connections: tuple[tuple[str, str], ...] = ()  # (connection id, provider)

    @property
    def database_ok(self) -> bool:
        return not self.database_error


def _probe(session: Session) -> tuple[tuple[str, str], ...]:
    session.execute(text("SELECT 1"))
    return tuple(
        (c.id, c.kind) for c in connections_repo.list_connections(session, active_only=True)
    )


class HealthMonitor:
    """Runs the checks and sets the gRPC health statuses of `services` (and overall)."""

    def __init__(
        self,
        runner: TransactionRunner,
        servicer: health.aio.HealthServicer,
        services: Sequence[str],
        breaker: ReportingCircuitBreaker,
        *,
        timeout: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._runner = runner
        self._servicer = servicer
        self._services = (_OVERALL, *services)
        self.breaker = breaker
        self._timeout = timeout
        self._clock = clock
        self._pending: asyncio.Future[tuple[tuple[str, str], ...]] | None = None
        self.report = HealthReport(clock())
        self._serving: bool | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def check(self) -> HealthReport:
        """Probe the database once and update the statuses; returns the new report."""
        previous = self.report.connections
        try:
            connections = await self._probe()
            report = HealthReport(self._clock(), "", connections)
        except Exception as error:  # noqa: BLE001 - any failure means "not answering"
            kind = type(error).__name__
            _log.warning("database health check failed", extra={"error": str(error)[:500]})
            report = HealthReport(self._clock(), kind, previous)
        self.report = report
        await self._publish(report.database_ok)
        return report

    async def _probe(self) -> tuple[tuple[str, str], ...]:
        # A probe stuck in a hung connection keeps its reader thread: the next checks
        # wait for that one instead of taking the other readers too.
        if self._pending is None or self._pending.done():
            self._pending = asyncio.ensure_future(self._runner.read(_probe))
        try:
            return await asyncio.wait_for(asyncio.shield(self._pending), self._timeout)
        except TimeoutError:
            raise TimeoutError("the database did not answer in time") from None

    async def _publish(self, ok: bool) -> None:
        if ok == self._serving:
            return
        if self._serving is not None:
            log = _log.info if ok else _log.error
            log("database " + ("answers again: serving" if ok else "not answering: not serving"))
        self._serving = ok
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if ok
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in self._services:
            await self._servicer.set(name, status)

    def circuits(self) -> Iterable[tuple[str, str, str]]:
        """(connection id, provider, circuit state) of each active connection."""
        for connection_id, provider in self.report.connections:
            yield connection_id, provider, self.breaker.state(connection_id).value

    def start(self, interval: float) -> HealthMonitor:
        if interval > 0:
            self._task = asyncio.create_task(self._every(interval), name="health-check")
        return self

    async def _every(self, interval: float) -> None:
        while True:
            try:
                await asyncio.wait_for(self._stop.wait(), interval)
                return
            except TimeoutError:
                pass
            await self.check()

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None

    def as_json(self) -> dict[str, object]:
        report = self.report
        database: dict[str, str] = {"status": "ok" if report.database_ok else "error"}
        if not report.database_ok:
            database["error"] = report.database_error
        return {
            "status": "serving" if report.database_ok else "not_serving",
            "checked_at": report.checked_at.isoformat(timespec="milliseconds"),
            "database": database,
            "providers": [
                {"connection_id": cid, "provider": kind, "circuit": state}
                for cid, kind, state in self.circuits()
            ],
        }


class HealthApp:
    """ASGI: `GET /healthz`, the last check and the circuits as JSON."""

    def __init__(self, monitor: HealthMonitor) -> None:
        self._monitor = monitor

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            await respond(
                send, 405, b'{"error": "method not allowed: GET only"}', b"application/json"
            )
            return
        body = self._monitor.as_json()
        status = 200 if body["status"] == "serving" else 503
        await respond(send, status, json.dumps(body).encode(), b"application/json")
