"""ProviderService end to end: connect to the emulated Credly and Accredible, sync,
award through rules, issue through the worker, retry a failure; refused tokens and
unknown organisations are clear errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from badgeflow.v1 import (
    award_service_pb2,
    award_service_pb2_grpc,
    event_service_pb2,
    progress_pb2,
    provider_pb2,
    provider_service_pb2,
    provider_service_pb2_grpc,
    template_service_pb2,
)
from google.rpc import error_details_pb2

from server.app import App, build_server
from server.providers.emulator import EmulatorServer, EmulatorState, seed_demo
from server.settings import Settings
from server.worker.issuance import IssuanceWorker
from server.worker.policy import RetryPolicy
from tests.conftest import TEST_SECRET_KEY
from tests.service.stubs import apply_and_activate, passed, rich_status, stubs, unpack


@pytest.fixture
async def emulator() -> AsyncIterator[EmulatorServer]:
    state = EmulatorState()
    seed_demo(state)
    async with EmulatorServer(state) as server:
        yield server


@pytest.fixture
async def quiet_app(tmp_path: Path) -> AsyncIterator[App]:
    """A server whose issuance the test drives itself (no background worker)."""
    settings = Settings(
        grpc_port=0,
        database_url=f"sqlite:///{tmp_path / 'p.db'}",
        secret_key=TEST_SECRET_KEY,
        http_port=0,
        issuance_worker=False,
        shutdown_grace_seconds=1.0,
    )
    app = await build_server(settings)
    try:
        yield app
    finally:
        await app.stop(1.0)


@pytest.fixture
async def channel(quiet_app: App) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{quiet_app.port}") as ch:
        yield ch


def _connect(
    kind: str, org: str, token: str, url: str
) -> provider_service_pb2.ConnectProviderRequest:
    return provider_service_pb2.ConnectProviderRequest(
        kind=kind, organization_id=org, token=token, base_url=url
    )


async def test_connect_sync_award_issue(
    emulator: EmulatorServer, quiet_app: App, channel: grpc.aio.Channel
) -> None:
    providers = provider_service_pb2_grpc.ProviderServiceStub(channel)
    org = next(iter(emulator.state.credly.organizations.values()))
    reply = await providers.ConnectProvider(
        _connect("credly", org.id, org.token, emulator.credly_url)
    )
    assert (reply.connection.id, reply.connection.name, reply.connection.active) == (
        f"credly:{org.id}",
        "Demo Academy",
        True,
    )
    assert (
        len(reply.created_template_ids) == 55
    )  # every active template, two pages; none active yet
    listed = await providers.ListProviders(provider_service_pb2.ListProvidersRequest())
    assert "token" not in str(listed) and org.token not in str(listed)

    template = next(t for t in org.templates.values() if t.name == "Demo Skill 02")
    rules = (
        f'badge "skill" {{\n template credly "{template.id}"\n'
        " require on course_passed where is_passing\n}\n"
    )
    s = stubs(channel)
    await apply_and_activate(s, rules, f"credly:{template.id}")
    await s.events.PublishEvents(
        event_service_pb2.PublishEventsRequest(events=[passed("e1", "ada")])
    )

    worker = IssuanceWorker(
        quiet_app.runner, quiet_app.providers.registry, policy=RetryPolicy(base_delay=0.0)
    )
    assert await worker.run_once() == 1
    (issuance,) = (
        await providers.ListIssuances(provider_service_pb2.ListIssuancesRequest())
    ).issuances
    assert issuance.state == provider_pb2.ISSUANCE_STATE_SENT
    (badge,) = emulator.state.credly_badges(org.id)
    assert (badge["id"], badge["recipient_email"]) == (
        issuance.provider_badge_id,
        "ada@example.org",
    )

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await providers.RetryIssuance(
            provider_service_pb2.RetryIssuanceRequest(issuance_id=issuance.id)
        )
    assert caught.value.code() is grpc.StatusCode.FAILED_PRECONDITION

    by_learner = await providers.ListProviderBadges(
        provider_service_pb2.ListProviderBadgesRequest(learner_id="ada")
    )
    by_template = await providers.ListProviderBadges(
        provider_service_pb2.ListProviderBadgesRequest(template_id=f"credly:{template.id}")
    )
    assert [(b.external_id, b.state, b.award_id) for b in by_learner.badges] == [
        (issuance.provider_badge_id, "pending", issuance.award_id)
    ]
    assert list(by_template.badges) == list(by_learner.badges)
    with pytest.raises(grpc.aio.AioRpcError) as neither:
        await providers.ListProviderBadges(provider_service_pb2.ListProviderBadgesRequest())
    assert neither.value.code() is grpc.StatusCode.INVALID_ARGUMENT


async def test_a_refused_token_and_an_unknown_organisation_say_so(
    emulator: EmulatorServer, channel: grpc.aio.Channel
) -> None:
    providers = provider_service_pb2_grpc.ProviderServiceStub(channel)
    org = next(iter(emulator.state.credly.organizations.values()))
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await providers.ConnectProvider(
            _connect("credly", org.id, "wrong-token", emulator.credly_url)
        )
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert (
        unpack(rich_status(refused.value), error_details_pb2.ErrorInfo).reason
        == "PROVIDER_TOKEN_REFUSED"
    )
    assert "wrong-token" not in str(refused.value.details())
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await providers.ConnectProvider(
            _connect(
                "credly", "00000000-0000-4000-8000-000000000000", org.token, emulator.credly_url
            )
        )
    assert unknown.value.code() is grpc.StatusCode.NOT_FOUND
    reason = unpack(rich_status(unknown.value), error_details_pb2.ErrorInfo).reason
    assert reason == "PROVIDER_ORGANIZATION_NOT_FOUND"
    with pytest.raises(grpc.aio.AioRpcError) as bad_key:
        await providers.ConnectProvider(
            _connect("accredible", "demo", "nope", emulator.accredible_url)
        )
    assert bad_key.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    listed = await providers.ListProviders(provider_service_pb2.ListProvidersRequest())
    assert list(listed.connections) == []


async def test_disconnect_stops_issuing_and_keeps_the_record(
    emulator: EmulatorServer, quiet_app: App, channel: grpc.aio.Channel
) -> None:
    providers = provider_service_pb2_grpc.ProviderServiceStub(channel)
    reply = await providers.ConnectProvider(
        _connect("accredible", "demo", "demo-accredible-key", emulator.accredible_url)
    )
    assert reply.connection.name == "Demo Academy"
    assert len(reply.created_template_ids) == 3
    gone = await providers.DisconnectProvider(
        provider_service_pb2.DisconnectProviderRequest(connection_id=reply.connection.id)
    )
    assert gone.connection.active is False
    assert quiet_app.providers.registry.for_template(reply.created_template_ids[0]) is None
    template = await stubs(channel).templates.GetTemplate(
        template_service_pb2.GetTemplateRequest(template_id=reply.created_template_ids[0])
    )
    assert template.template.id == reply.created_template_ids[0]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await providers.SyncTemplates(
            provider_service_pb2.SyncTemplatesRequest(connection_id=reply.connection.id)
        )
    assert caught.value.code() is grpc.StatusCode.FAILED_PRECONDITION


async def test_an_admin_revocation_reaches_the_provider_and_sticks(
    emulator: EmulatorServer, quiet_app: App, channel: grpc.aio.Channel
) -> None:
    providers = provider_service_pb2_grpc.ProviderServiceStub(channel)
    org = next(iter(emulator.state.credly.organizations.values()))
    await providers.ConnectProvider(_connect("credly", org.id, org.token, emulator.credly_url))
    template = next(t for t in org.templates.values() if t.name == "Demo Skill 03")
    rules = (
        f'badge "skill" {{\n template credly "{template.id}"\n'
        " require on course_passed where is_passing\n}\n"
    )
    s = stubs(channel)
    await apply_and_activate(s, rules, f"credly:{template.id}")
    await s.events.PublishEvents(
        event_service_pb2.PublishEventsRequest(events=[passed("e1", "ada")])
    )
    worker = IssuanceWorker(
        quiet_app.runner, quiet_app.providers.registry, policy=RetryPolicy(base_delay=0.0)
    )
    await worker.run_once()
    (issuance,) = (
        await providers.ListIssuances(provider_service_pb2.ListIssuancesRequest())
    ).issuances

    awards = award_service_pb2_grpc.AwardServiceStub(channel)
    revoked = await awards.RevokeAward(
        award_service_pb2.RevokeAwardRequest(award_id=issuance.award_id, reason="issued in error")
    )
    assert (revoked.award.state, revoked.award.revoked_by, revoked.award.revoke_reason) == (
        progress_pb2.AWARD_STATE_REVOKED,
        progress_pb2.REVOKED_BY_ADMIN,
        "issued in error",
    )
    await worker.run_once()
    (badge,) = emulator.state.credly_badges(org.id)
    assert badge["state"] == "revoked"

    await s.events.PublishEvents(
        event_service_pb2.PublishEventsRequest(events=[passed("e2", "ada")])
    )
    await worker.run_once()
    assert len(emulator.state.credly_badges(org.id)) == 1  # processing never re-awards it

    for request, code in (
        (
            award_service_pb2.RevokeAwardRequest(award_id=issuance.award_id, reason="again"),
            "FAILED_PRECONDITION",
        ),
        (award_service_pb2.RevokeAwardRequest(award_id="999", reason="x"), "NOT_FOUND"),
        (
            award_service_pb2.RevokeAwardRequest(award_id=issuance.award_id, reason=" "),
            "INVALID_ARGUMENT",
        ),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await awards.RevokeAward(request)
        assert caught.value.code().name == code
