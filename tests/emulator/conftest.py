"""The emulator on loopback, clients for both APIs, a controllable clock and a webhook receiver."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn

from server.providers.emulator import EmulatorServer, EmulatorState, Faults
from server.providers.emulator.credly_store import CredlyOrganization

CREDLY_TOKEN = "credly-token-a"
OTHER_CREDLY_TOKEN = "credly-token-b"
ACCREDIBLE_KEY = "accredible-key-a"
OTHER_ACCREDIBLE_KEY = "accredible-key-b"
WAIT_SECONDS = 5.0
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class StepClock:
    """Starts at START; every reading is one second after the previous one."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@dataclass
class Credly:
    org: CredlyOrganization
    client: httpx.AsyncClient  # based at {credly_url}/organizations/{org}


@pytest.fixture
def clock() -> StepClock:
    return StepClock()


@pytest.fixture
def state(clock: StepClock) -> EmulatorState:
    state = EmulatorState(clock=clock)
    state.credly.add_organization("Org A", token=CREDLY_TOKEN)
    state.credly.add_organization("Org B", token=OTHER_CREDLY_TOKEN)
    state.accredible.add_configuration("Config A", key=ACCREDIBLE_KEY)
    state.accredible.add_configuration("Config B", key=OTHER_ACCREDIBLE_KEY)
    return state


@pytest.fixture
def faults() -> Faults:
    return Faults(seed=1234)


@pytest.fixture
async def emulator(state: EmulatorState, faults: Faults) -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer(state, faults) as server:
        yield server


@pytest.fixture
def org_a(state: EmulatorState) -> CredlyOrganization:
    return next(o for o in state.credly.organizations.values() if o.token == CREDLY_TOKEN)


@pytest.fixture
async def credly(emulator: EmulatorServer, org_a: CredlyOrganization) -> AsyncIterator[Credly]:
    async with httpx.AsyncClient(
        base_url=f"{emulator.credly_url}/organizations/{org_a.id}",
        auth=(CREDLY_TOKEN, ""),
        headers={"Accept": "application/json"},
    ) as client:
        yield Credly(org_a, client)


@pytest.fixture
async def accredible(emulator: EmulatorServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=emulator.accredible_url,
        headers={"Authorization": f"Token token={ACCREDIBLE_KEY}"},
    ) as client:
        yield client


class WebhookReceiver:
    """A real HTTP endpoint (uvicorn on port 0) that records the JSON bodies POSTed to it."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self._changed = asyncio.Condition()
        self.url = ""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        async with self._changed:
            self.received.append(json.loads(body))
            self._changed.notify_all()

    async def wait_for(self, count: int) -> list[dict[str, Any]]:
        """Until at least `count` bodies arrived (fails after WAIT_SECONDS)."""
        async with asyncio.timeout(WAIT_SECONDS), self._changed:
            await self._changed.wait_for(lambda: len(self.received) >= count)
        return list(self.received)


class _QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    hook = WebhookReceiver()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    hook.url = f"http://127.0.0.1:{sock.getsockname()[1]}/hooks/credly"
    config = uvicorn.Config(hook, lifespan="off", log_config=None, ws="none", http="h11")
    server = _QuietServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    async with asyncio.timeout(WAIT_SECONDS):
        while not server.started:
            await asyncio.sleep(0)
    try:
        yield hook
    finally:
        server.should_exit = True
        await task
