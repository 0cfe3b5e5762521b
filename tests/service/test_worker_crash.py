"""SIGKILL the server while its worker issues 300 badges to the emulated Credly (a
separate process, with latency and dropped connections); after a restart every award
has exactly one provider badge. The template allows duplicates, so only badgeflow's own
bookkeeping (leases, look-up before resend) prevents a second badge for an award.

The test polls the two processes it runs (there is no event to await across them)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from badgeflow.v1 import (
    event_service_pb2,
    provider_pb2,
    provider_service_pb2,
    provider_service_pb2_grpc,
)

from server.providers.credly import CredlyClient
from server.providers.emulator import DEMO_CREDLY_ORG_ID, DEMO_CREDLY_TOKEN
from tests.service.serverproc import REPO_ROOT, ServerProcess, start_server
from tests.service.stubs import apply_and_activate, passed, stubs

AWARDS = 300
TEMPLATE = "00000000-0000-4000-8000-000000000001"  # allows duplicate badges
RULES = (
    f'badge "any-pass" {{\n template credly "{TEMPLATE}"\n'
    " require on course_passed where is_passing\n}\n"
)
POLL = 0.05
DEADLINE = 120.0


@pytest.fixture
def credly_url() -> Iterator[str]:
    command = [
        sys.executable, "-m", "server.providers.emulator", "--seed-demo",
        "--latency-ms", "30", "--drop-rate", "0.05", "--fault-seed", "4", "--fault-methods", "POST",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    first = process.stdout.readline()
    try:
        assert first.startswith("credly:"), first
        yield first.split()[-1]
    finally:
        process.terminate()
        process.wait(30)
        process.stdout.close()


async def _sent(target: str) -> int:
    async with grpc.aio.insecure_channel(target) as channel:
        reply = await provider_service_pb2_grpc.ProviderServiceStub(channel).ListIssuances(
            provider_service_pb2.ListIssuancesRequest(limit=1000)
        )
    return sum(i.state == provider_pb2.ISSUANCE_STATE_SENT for i in reply.issuances)


async def _wait_for_sent(target: str, at_least: int) -> int:
    loop = asyncio.get_running_loop()
    until = loop.time() + DEADLINE
    while (sent := await _sent(target)) < at_least:
        assert loop.time() < until, f"only {sent} of {at_least} issuances sent"
        await asyncio.sleep(POLL)
    return sent


def _server(db: Path) -> ServerProcess:
    return start_server(
        f"sqlite:///{db}", issuance_lease_seconds="1", reconcile_interval_seconds="0"
    )


async def test_sigkill_of_the_worker_loses_and_doubles_nothing(
    credly_url: str, tmp_path: Path
) -> None:
    db = tmp_path / "crash.db"
    server = _server(db)
    try:
        async with grpc.aio.insecure_channel(server.target) as channel:
            providers = provider_service_pb2_grpc.ProviderServiceStub(channel)
            await providers.ConnectProvider(
                provider_service_pb2.ConnectProviderRequest(
                    kind="credly",
                    organization_id=DEMO_CREDLY_ORG_ID,
                    token=DEMO_CREDLY_TOKEN,
                    base_url=credly_url,
                )
            )
            s = stubs(channel)
            await apply_and_activate(s, RULES, f"credly:{TEMPLATE}")
            events = [passed(f"e{i}", f"learner{i}") for i in range(AWARDS)]
            for start in range(0, AWARDS, 100):
                await s.events.PublishEvents(
                    event_service_pb2.PublishEventsRequest(events=events[start : start + 100])
                )
        sent_before = await _wait_for_sent(server.target, 60)
        server.kill()
    finally:
        if server.process.poll() is None:
            server.kill()

    restarted = _server(db)
    try:
        await _wait_for_sent(restarted.target, AWARDS)
    finally:
        assert restarted.terminate() == 0

    client = CredlyClient(DEMO_CREDLY_ORG_ID, DEMO_CREDLY_TOKEN, base_url=credly_url)
    try:
        badges = [b async for b in client.badges(None)]
    finally:
        await client.aclose()
    print(
        f"worker crash: {sent_before} sent before SIGKILL; {len(badges)} badges for {AWARDS} awards"
    )
    assert sent_before < AWARDS
    assert len(badges) == AWARDS
    assert len({b.recipient_email for b in badges}) == AWARDS
