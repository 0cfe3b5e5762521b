"""Webhooks through the running server: the emulated Credly posts to badgeflow's HTTP
listener; a badge the earner rejects, then one the issuer revokes on Credly, show up here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from badgeflow.v1 import event_service_pb2, progress_pb2, progress_service_pb2

from server.app import App, build_server
from server.settings import Settings
from server.store import outbox as outbox_repo
from server.worker.issuance import IssuanceWorker
from tests.conftest import TEST_SECRET_KEY
from tests.service.stubs import apply_and_activate, passed, stubs

WEBHOOK_TOKEN = "server-webhook-token-" + "s" * 20
ORG = "7d3c1f0e-5b1a-4c47-9a51-0e2f3b6d8a10"
TEMPLATE = "00000000-0000-4000-8000-000000000002"
RULES = (
    f'badge "skill" {{\n template credly "{TEMPLATE}"\n'
    " require on course_passed where is_passing\n}\n"
)


@pytest.fixture
async def demo_app(tmp_path: Path) -> AsyncIterator[App]:
    settings = Settings(
        grpc_port=0,
        http_port=0,
        database_url=f"sqlite:///{tmp_path / 'wh.db'}",
        secret_key=TEST_SECRET_KEY,
        provider_emulator="demo",
        issuance_worker=False,
        shutdown_grace_seconds=1.0,
        webhook_token=WEBHOOK_TOKEN,
    )
    app = await build_server(settings)
    try:
        yield app
    finally:
        await app.stop(1.0)


async def test_provider_side_changes_arrive_by_webhook(demo_app: App) -> None:
    runtime = demo_app.providers
    emulator = runtime.emulator
    assert runtime.http is not None and runtime.webhooks is not None and emulator is not None
    url = f"http://127.0.0.1:{runtime.http.port}/webhooks/credly/{WEBHOOK_TOKEN}"
    emulator.state.set_webhook(ORG, url)  # type: ignore[attr-defined]
    async with grpc.aio.insecure_channel(f"127.0.0.1:{demo_app.port}") as channel:
        s = stubs(channel)
        await apply_and_activate(s, RULES, f"credly:{TEMPLATE}")
        await s.events.PublishEvents(
            event_service_pb2.PublishEventsRequest(events=[passed("e1", "ada"), passed("e2", "bo")])
        )
        worker = IssuanceWorker(demo_app.runner, runtime.registry)
        while await worker.run_once():
            pass
        items = await demo_app.runner.read(outbox_repo.list_outbox)
        ada, bo = (i.provider_badge_id for i in items)

        emulator.state.credly.set_badge_state(ORG, ada, "rejected")  # type: ignore[attr-defined]
        emulator.state.credly.revoke(ORG, bo, "issued in error")  # type: ignore[attr-defined]
        await emulator.state.webhooks.drain()  # type: ignore[attr-defined]
        await runtime.webhooks.drain()

        held = {
            i.award_id: await demo_app.runner.read(
                lambda sess, a=i.award_id: outbox_repo.provider_badges_for_award(sess, a)
            )
            for i in items
        }
        assert [b[0].state for b in held.values()] == ["rejected", "revoked"]
        progress = await s.progress.GetLearnerProgress(
            progress_service_pb2.GetLearnerProgressRequest(learner_id="bo")
        )
        award = progress.progress[0].award
        assert (award.state, award.revoked_by) == (
            progress_pb2.AWARD_STATE_REVOKED,
            progress_pb2.REVOKED_BY_ADMIN,
        )
