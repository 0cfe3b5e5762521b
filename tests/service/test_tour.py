"""The README tour, as a test: a server with the bundled demo emulator, the tour's rule
file and events, and the credential issued on the (emulated) Accredible account."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from badgeflow.v1 import (
    event_pb2,
    event_service_pb2,
    provider_pb2,
    provider_service_pb2,
    provider_service_pb2_grpc,
)
from google.protobuf import json_format

from server.app import App, build_server
from server.settings import Settings
from server.worker.issuance import IssuanceWorker
from tests.conftest import TEST_SECRET_KEY
from tests.service.stubs import apply_and_activate, stubs

TOUR = Path(__file__).resolve().parents[2] / "docs" / "tour"


@pytest.fixture
async def demo_app(tmp_path: Path) -> AsyncIterator[App]:
    settings = Settings(
        grpc_port=0,
        database_url=f"sqlite:///{tmp_path / 'tour.db'}",
        secret_key=TEST_SECRET_KEY,
        http_port=0,
        provider_emulator="demo",
        issuance_worker=False,
        shutdown_grace_seconds=1.0,
    )
    app = await build_server(settings)
    try:
        yield app
    finally:
        await app.stop(1.0)


async def test_the_tour_issues_the_demo_credential(demo_app: App) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{demo_app.port}") as channel:
        providers = provider_service_pb2_grpc.ProviderServiceStub(channel)
        listed = await providers.ListProviders(provider_service_pb2.ListProvidersRequest())
        assert [(c.id, c.name) for c in listed.connections] == [
            ("accredible:demo", "Demo Academy"),
            ("credly:7d3c1f0e-5b1a-4c47-9a51-0e2f3b6d8a10", "Demo Academy"),
        ]
        s = stubs(channel)
        await apply_and_activate(s, (TOUR / "demo-course.badge").read_text(), "accredible:1001")
        lines = (TOUR / "demo-events.jsonl").read_text().splitlines()
        events = [
            json_format.ParseDict(json.loads(line), event_pb2.Event()) for line in lines if line
        ]
        await s.events.PublishEvents(event_service_pb2.PublishEventsRequest(events=events))

        worker = IssuanceWorker(demo_app.runner, demo_app.providers.registry)
        while await worker.run_once():
            pass
        issuances = (
            await providers.ListIssuances(provider_service_pb2.ListIssuancesRequest())
        ).issuances
    assert [i.state for i in issuances] == [provider_pb2.ISSUANCE_STATE_SENT] * 2  # ada and ben
    emulator = demo_app.providers.emulator
    credentials = emulator.state.accredible_credentials("demo-accredible-key")  # type: ignore[union-attr]
    assert sorted(c["recipient"]["email"] for c in credentials) == [
        "ada@example.org",
        "ben@example.org",
    ]
