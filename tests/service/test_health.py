"""Health follows the database, and reports the providers' circuits without letting a
provider outage take the server out of service.

The database goes away deterministically: its directory is renamed and the pool
emptied, so the next connection cannot open the SQLite file; renamed back, it opens."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import pytest
from badgeflow.v1 import event_service_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from server.app import ALL_SERVICE_NAMES, App, build_server
from server.settings import Settings
from server.worker.issuance import IssuanceWorker
from tests.conftest import TEST_SECRET_KEY
from tests.service.stubs import apply_and_activate, passed, stubs

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
CREDLY_CONNECTION = "credly:7d3c1f0e-5b1a-4c47-9a51-0e2f3b6d8a10"
CREDLY_TEMPLATE = "00000000-0000-4000-8000-000000000002"
CREDLY_RULES = (
    f'badge "skill" {{\n template credly "{CREDLY_TEMPLATE}"\n'
    " require on course_passed where is_passing\n}\n"
)
WATCH_DEADLINE_SECONDS = 20.0


@dataclass
class Served:
    app: App
    database_dir: Path

    def database_away(self) -> None:
        self.database_dir.rename(self.database_dir.with_name("away"))
        self.app.engine.dispose()

    def database_back(self) -> None:
        self.database_dir.with_name("away").rename(self.database_dir)


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "grpc_port": 0,
        "http_port": 0,
        "database_url": f"sqlite:///{tmp_path / 'db' / 'health.db'}",
        "secret_key": TEST_SECRET_KEY,
        "issuance_worker": False,
        "reconcile_interval_seconds": 0,
        "replica_sync_seconds": 0,
        "shutdown_grace_seconds": 1.0,
        "health_check_seconds": 0,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def served(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Served]:
    overrides = getattr(request, "param", {})
    app = await build_server(_settings(tmp_path, **overrides))
    try:
        yield Served(app, tmp_path / "db")
    finally:
        await app.stop(1.0)


async def statuses(app: App) -> dict[str, int]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        return {
            name: (await stub.Check(health_pb2.HealthCheckRequest(service=name))).status
            for name in ("", *ALL_SERVICE_NAMES)
        }


async def healthz(app: App, path: str = "/healthz") -> httpx.Response:
    assert app.providers.http is not None
    async with httpx.AsyncClient() as client:
        return await client.get(f"http://127.0.0.1:{app.providers.http.port}{path}")


async def test_a_database_that_does_not_answer_turns_every_service_not_serving(
    served: Served,
) -> None:
    app = served.app
    assert app.monitor is not None
    assert set((await statuses(app)).values()) == {SERVING}

    served.database_away()
    report = await app.monitor.check()
    assert report.database_error == "OperationalError"
    assert set((await statuses(app)).values()) == {NOT_SERVING}
    down = await healthz(app)
    assert (down.status_code, down.json()["status"], down.json()["database"]) == (
        503,
        "not_serving",
        {"status": "error", "error": "OperationalError"},
    )
    scraped = (await healthz(app, "/metrics")).text.splitlines()
    assert "badgeflow_database_up 0.0" in scraped
    assert [line for line in scraped if line.startswith("badgeflow_outbox_items{")] == []

    served.database_back()
    assert (await app.monitor.check()).database_ok
    assert set((await statuses(app)).values()) == {SERVING}
    up = await healthz(app)
    assert (up.status_code, up.json()["status"], up.json()["database"]) == (
        200,
        "serving",
        {"status": "ok"},
    )


@pytest.mark.parametrize(
    "served", [pytest.param({"health_check_seconds": 0.05}, id="every-50ms")], indirect=True
)
async def test_the_periodic_check_follows_the_database_and_watchers_see_it(
    served: Served,
) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{served.app.port}") as channel:
        watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest())
        seen = [(await asyncio.wait_for(watch.read(), WATCH_DEADLINE_SECONDS)).status]
        served.database_away()
        seen.append((await asyncio.wait_for(watch.read(), WATCH_DEADLINE_SECONDS)).status)
        served.database_back()
        seen.append((await asyncio.wait_for(watch.read(), WATCH_DEADLINE_SECONDS)).status)
        watch.cancel()
    assert seen == [SERVING, NOT_SERVING, SERVING]


@pytest.mark.parametrize(
    "served", [pytest.param({"provider_emulator": "demo"}, id="demo-providers")], indirect=True
)
async def test_an_open_circuit_shows_in_healthz_and_grpc_stays_serving(served: Served) -> None:
    app = served.app
    emulator = app.providers.emulator
    assert emulator is not None and app.monitor is not None
    async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
        s = stubs(channel)
        await apply_and_activate(s, CREDLY_RULES, f"credly:{CREDLY_TEMPLATE}")
        await s.events.PublishEvents(
            event_service_pb2.PublishEventsRequest(
                events=[passed(f"e{n}", f"learner-{n}") for n in range(5)]
            )
        )
    await app.monitor.check()  # the connections the demo made
    emulator.faults.error_next = 5  # type: ignore[attr-defined]
    worker = IssuanceWorker(app.runner, app.providers.registry, breaker=app.providers.breaker)
    assert await worker.run_once() == 5  # five 503s: the breaker's threshold

    body = (await healthz(app)).json()
    assert body["status"] == "serving"
    assert body["providers"] == [
        {"connection_id": "accredible:demo", "provider": "accredible", "circuit": "closed"},
        {"connection_id": CREDLY_CONNECTION, "provider": "credly", "circuit": "open"},
    ]
    assert set((await statuses(app)).values()) == {SERVING}
