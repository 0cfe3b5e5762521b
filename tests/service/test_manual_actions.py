"""Manual actions end to end: GrantAward and ReissueAward against a real server, with
issuance to the emulated Credly over real HTTP (the test drives the worker itself)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest
from badgeflow.v1 import (
    award_service_pb2,
    award_service_pb2_grpc,
    event_pb2,
    event_service_pb2,
    progress_pb2,
    progress_service_pb2,
    provider_pb2,
    provider_service_pb2,
    provider_service_pb2_grpc,
)
from google.rpc import error_details_pb2

from server.app import App, build_server
from server.domain import AwardRecord
from server.providers.emulator import EmulatorServer, EmulatorState
from server.providers.emulator.credly_store import CredlyOrganization
from server.reconcile import reconcile_connection
from server.settings import Settings
from server.store import awards as awards_repo
from server.store import connections as connections_repo
from server.worker.issuance import IssuanceWorker
from server.worker.policy import RetryPolicy
from tests.conftest import TEST_SECRET_KEY
from tests.service.stubs import Stubs, apply_and_activate, passed, rich_status, stubs, unpack

GRANT_REASON = "passed the course before the LMS was connected"


@pytest.fixture
async def emulator() -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer(EmulatorState()) as server:
        yield server


@pytest.fixture
async def quiet_app(tmp_path: Path) -> AsyncIterator[App]:
    """A server whose issuance the test drives itself (no background worker)."""
    settings = Settings(
        grpc_port=0,
        database_url=f"sqlite:///{tmp_path / 'm.db'}",
        secret_key=TEST_SECRET_KEY,
        http_port=0,
        issuance_worker=False,
        reconcile_interval_seconds=0,
        shutdown_grace_seconds=1.0,
    )
    app = await build_server(settings)
    try:
        yield app
    finally:
        await app.stop(1.0)


@dataclass
class Env:
    app: App
    emulator: EmulatorServer
    org: CredlyOrganization
    connection_id: str
    template_id: str  # bound to the rules and active
    unbound_id: str  # synced, named by no rule
    s: Stubs
    awards: award_service_pb2_grpc.AwardServiceStub
    providers: provider_service_pb2_grpc.ProviderServiceStub
    worker: IssuanceWorker

    def badges(self) -> list[tuple[str, str, str]]:
        """(id, recipient email, state) of every badge the emulated Credly holds."""
        return [
            (b["id"], b["recipient_email"], b["state"])
            for b in self.emulator.state.credly_badges(self.org.id)
        ]

    async def awards_of(self, learner: str) -> list[AwardRecord]:
        return await self.app.runner.read(lambda s: awards_repo.learner_awards(s, learner))

    async def issuances(self) -> list[provider_pb2.Issuance]:
        reply = await self.providers.ListIssuances(provider_service_pb2.ListIssuancesRequest())
        return list(reply.issuances)

    async def reconcile(self) -> None:
        record = await self.app.runner.read(
            lambda s: connections_repo.get_connection(s, self.connection_id)
        )
        client = self.app.providers.registry.client(self.connection_id)
        assert record is not None and client is not None
        await reconcile_connection(self.app.runner, record, client, None, datetime.now(UTC))


def _rules(template: str, repeatable: bool) -> str:
    return (
        f'badge "skill" {{\n template credly "{template}"\n'
        + (" repeatable\n" if repeatable else "")
        + " require on course_passed where is_passing\n}\n"
    )


async def _env(
    app: App, emulator: EmulatorServer, channel: grpc.aio.Channel, repeatable: bool = False
) -> Env:
    org = emulator.state.credly.add_organization("Manual Academy")
    bound = emulator.state.credly.add_template(org.id, "Granted Skill")
    unbound = emulator.state.credly.add_template(org.id, "Unbound Skill")
    providers = provider_service_pb2_grpc.ProviderServiceStub(channel)
    reply = await providers.ConnectProvider(
        provider_service_pb2.ConnectProviderRequest(
            kind="credly", organization_id=org.id, token=org.token, base_url=emulator.credly_url
        )
    )
    s = stubs(channel)
    await apply_and_activate(s, _rules(bound.id, repeatable), f"credly:{bound.id}")
    worker = IssuanceWorker(app.runner, app.providers.registry, policy=RetryPolicy(base_delay=0.0))
    return Env(
        app,
        emulator,
        org,
        reply.connection.id,
        f"credly:{bound.id}",
        f"credly:{unbound.id}",
        s,
        award_service_pb2_grpc.AwardServiceStub(channel),
        providers,
        worker,
    )


@pytest.fixture
async def env(quiet_app: App, emulator: EmulatorServer) -> AsyncIterator[Env]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{quiet_app.port}") as channel:
        yield await _env(quiet_app, emulator, channel)


def _ada(email: str = "ada@example.org") -> event_pb2.Learner:
    return event_pb2.Learner(email=email, first_name="Ada", last_name="Lovelace")


def _grant(
    template_id: str, learner: event_pb2.Learner | None = None, reason: str = GRANT_REASON
) -> award_service_pb2.GrantAwardRequest:
    request = award_service_pb2.GrantAwardRequest(
        template_id=template_id, learner_id="ada", reason=reason
    )
    if learner is not None:
        request.learner.CopyFrom(learner)
    return request


async def _refused(call: object) -> tuple[str, str, error_details_pb2.PreconditionFailure | None]:
    """(code name, ErrorInfo reason, PreconditionFailure if any) of a failing call."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    status = rich_status(caught.value)
    reason = unpack(status, error_details_pb2.ErrorInfo).reason
    failure = None
    if caught.value.code() is grpc.StatusCode.FAILED_PRECONDITION:
        failure = unpack(status, error_details_pb2.PreconditionFailure)
    return caught.value.code().name, reason, failure


async def _publish(env: Env, *event_ids: str) -> None:
    await env.s.events.PublishEvents(
        event_service_pb2.PublishEventsRequest(events=[passed(i, "ada") for i in event_ids])
    )


async def test_a_grant_is_an_award_with_its_reason_issued_exactly_once(env: Env) -> None:
    watch = env.s.progress.WatchAwards(progress_service_pb2.WatchAwardsRequest(learner_id="ada"))
    assert dict(await watch.initial_metadata())["badgeflow-watch"] == "subscribed"
    code, reason, _ = await _refused(env.awards.GrantAward(_grant(env.template_id)))
    assert (code, reason) == ("FAILED_PRECONDITION", "LEARNER_UNKNOWN")

    granted = (await env.awards.GrantAward(_grant(env.template_id, _ada()))).award
    assert (
        granted.template_id,
        granted.learner_id,
        granted.state,
        granted.origin,
        granted.grant_reason,
        list(granted.event_ids),
    ) == (
        env.template_id,
        "ada",
        progress_pb2.AWARD_STATE_AWARDED,
        progress_pb2.AWARD_ORIGIN_GRANT,
        GRANT_REASON,
        [],
    )
    change = await asyncio.wait_for(watch.read(), timeout=10)
    watch.cancel()
    assert (change.kind, change.award.id) == (progress_pb2.AWARD_EVENT_KIND_AWARDED, granted.id)

    assert await env.worker.run_once() == 1
    ((badge_id, email, state),) = env.badges()
    assert (email, state) == ("ada@example.org", "pending")
    (issuance,) = await env.issuances()
    assert (issuance.award_id, issuance.state, issuance.provider_badge_id) == (
        granted.id,
        provider_pb2.ISSUANCE_STATE_SENT,
        badge_id,
    )

    # Meeting the rules afterwards earns nothing more: the learner holds the badge.
    await _publish(env, "e1", "e2")
    assert await env.worker.run_once() == 0
    assert [(a.id, a.origin.value) for a in await env.awards_of("ada")] == [
        (int(granted.id), "grant")
    ]
    assert len(env.badges()) == 1

    code, reason, failure = await _refused(env.awards.GrantAward(_grant(env.template_id)))
    assert (code, reason) == ("FAILED_PRECONDITION", "AWARD_ALREADY_HELD")
    assert failure is not None
    assert [(v.type, v.subject) for v in failure.violations] == [("AWARD_ALREADY_HELD", granted.id)]


@pytest.mark.parametrize(
    ("request_for", "expected"),
    [
        pytest.param(
            lambda env: _grant("credly:no-such-template", _ada()),
            ("NOT_FOUND", "TEMPLATE_NOT_FOUND"),
            id="unknown-template",
        ),
        pytest.param(
            lambda env: _grant(env.unbound_id, _ada()),
            ("FAILED_PRECONDITION", "TEMPLATE_NOT_BOUND"),
            id="template-bound-to-no-rule",
        ),
        pytest.param(
            lambda env: _grant(env.template_id, _ada(), reason=" "),
            ("INVALID_ARGUMENT", "MISSING_REASON"),
            id="no-reason",
        ),
        pytest.param(
            lambda env: _grant(env.template_id, event_pb2.Learner(id="ben", email="b@x.org")),
            ("INVALID_ARGUMENT", "LEARNER_ID_MISMATCH"),
            id="learner-id-differs",
        ),
        pytest.param(
            lambda env: _grant(env.template_id, event_pb2.Learner(first_name="Ada")),
            ("FAILED_PRECONDITION", "LEARNER_UNKNOWN"),
            id="unknown-learner-without-email",
        ),
        pytest.param(
            lambda env: _grant(env.template_id, event_pb2.Learner(email="a@x.org")),
            ("FAILED_PRECONDITION", "LEARNER_HAS_NO_NAME"),
            id="unknown-learner-without-name-on-credly",
        ),
        pytest.param(
            lambda env: _grant(
                env.template_id, event_pb2.Learner(email="a@x.org", first_name="Ada")
            ),
            ("FAILED_PRECONDITION", "LEARNER_HAS_NO_NAME"),
            id="unknown-learner-without-last-name-on-credly",
        ),
    ],
)
async def test_a_grant_that_cannot_stand_is_refused_and_writes_nothing(
    env: Env,
    request_for: Callable[[Env], award_service_pb2.GrantAwardRequest],
    expected: tuple[str, str],
) -> None:
    code, reason, _ = await _refused(env.awards.GrantAward(request_for(env)))
    assert (code, reason) == expected
    assert await env.awards_of("ada") == []
    assert await env.issuances() == []


async def test_a_repeatable_badge_held_is_not_granted_again(
    quiet_app: App, emulator: EmulatorServer
) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{quiet_app.port}") as channel:
        env = await _env(quiet_app, emulator, channel, repeatable=True)
        await _publish(env, "e1")
        code, reason, _ = await _refused(env.awards.GrantAward(_grant(env.template_id)))
    assert (code, reason) == ("FAILED_PRECONDITION", "AWARD_ALREADY_HELD")
    assert [a.sequence for a in await env.awards_of("ada")] == [1]


async def test_a_grant_after_an_admin_revocation_stands_again_on_the_same_award(
    env: Env,
) -> None:
    await _publish(env, "e1")
    await env.worker.run_once()
    (earned,) = await env.awards_of("ada")
    await env.awards.RevokeAward(
        award_service_pb2.RevokeAwardRequest(award_id=str(earned.id), reason="issued in error")
    )
    await env.worker.run_once()

    granted = (await env.awards.GrantAward(_grant(env.template_id))).award
    assert (granted.id, granted.state, granted.origin, granted.revoke_reason) == (
        str(earned.id),
        progress_pb2.AWARD_STATE_AWARDED,
        progress_pb2.AWARD_ORIGIN_GRANT,
        "",
    )
    assert await env.worker.run_once() == 1
    assert sorted(state for _, _, state in env.badges()) == ["pending", "revoked"]


async def test_a_reissue_after_the_provider_refused_the_issuance_creates_the_badge(
    env: Env,
) -> None:
    env.emulator.faults.error_status = 422
    env.emulator.faults.error_next = 1
    env.emulator.faults.methods = frozenset({"POST"})
    await _publish(env, "e1")
    assert await env.worker.run_once() == 1
    (failed,) = await env.issuances()
    assert failed.state == provider_pb2.ISSUANCE_STATE_FAILED
    assert env.badges() == []

    reply = await env.awards.ReissueAward(
        award_service_pb2.ReissueAwardRequest(award_id=failed.award_id)
    )
    assert (reply.award.id, reply.award.state) == (
        failed.award_id,
        progress_pb2.AWARD_STATE_AWARDED,
    )
    assert reply.issuance_id != failed.id
    code, reason, failure = await _refused(
        env.awards.ReissueAward(award_service_pb2.ReissueAwardRequest(award_id=failed.award_id))
    )
    assert (code, reason) == ("FAILED_PRECONDITION", "ISSUANCE_UNDER_WAY")
    assert failure is not None and failure.violations[0].subject == failed.award_id

    assert await env.worker.run_once() == 1
    ((badge_id, _, state),) = env.badges()
    assert state == "pending"
    assert [(i.id, i.state, i.provider_badge_id) for i in await env.issuances()] == [
        (failed.id, provider_pb2.ISSUANCE_STATE_FAILED, ""),
        (reply.issuance_id, provider_pb2.ISSUANCE_STATE_SENT, badge_id),
    ]
    code, reason, _ = await _refused(
        env.awards.ReissueAward(award_service_pb2.ReissueAwardRequest(award_id=failed.award_id))
    )
    assert (code, reason) == ("FAILED_PRECONDITION", "PROVIDER_BADGE_LIVE")


async def test_a_reissue_after_the_earner_declined_issues_a_new_badge(env: Env) -> None:
    await _publish(env, "e1")
    await env.worker.run_once()
    ((declined, _, _),) = env.badges()
    env.emulator.state.credly.set_badge_state(env.org.id, declined, "rejected")
    (award,) = await env.awards_of("ada")
    request = award_service_pb2.ReissueAwardRequest(award_id=str(award.id))
    code, reason, _ = await _refused(env.awards.ReissueAward(request))
    assert (code, reason) == ("FAILED_PRECONDITION", "PROVIDER_BADGE_LIVE")  # not known yet

    await env.reconcile()
    reply = await env.awards.ReissueAward(request)
    assert await env.worker.run_once() == 1
    badges = {badge_id: state for badge_id, _, state in env.badges()}
    (fresh,) = set(badges) - {declined}
    assert badges == {declined: "revoked", fresh: "pending"}
    assert [(i.id, i.provider_badge_id) for i in await env.issuances()][-1] == (
        reply.issuance_id,
        fresh,
    )

    await env.reconcile()  # the declined badge, now revoked, does not take the award back
    assert [a.state.value for a in await env.awards_of("ada")] == ["awarded"]


async def test_a_declined_badge_issued_on_the_provider_is_never_taken_as_the_award(
    env: Env,
) -> None:
    direct = env.emulator.state.credly.issue(
        env.org.id,
        {
            "badge_template_id": env.template_id.split(":", 1)[1],
            "recipient_email": "ada@example.org",
            "issued_to_first_name": "Ada",
            "issued_to_last_name": "Lovelace",
            "issued_at": datetime.now(UTC),
        },
    )
    env.emulator.state.credly.set_badge_state(env.org.id, direct.id, "rejected")
    await _publish(env, "e1")
    assert await env.worker.run_once() == 1
    (issuance,) = await env.issuances()
    assert (issuance.state, issuance.provider_badge_id) == (
        provider_pb2.ISSUANCE_STATE_FAILED,
        "",
    )
    assert env.badges() == [(direct.id, "ada@example.org", "rejected")]  # not ours to revoke


@pytest.mark.parametrize(
    ("award_id", "expected"),
    [
        pytest.param("999", ("NOT_FOUND", "AWARD_NOT_FOUND"), id="unknown"),
        pytest.param("abc", ("INVALID_ARGUMENT", "INVALID_AWARD_ID"), id="not-a-number"),
        pytest.param("revoked", ("FAILED_PRECONDITION", "AWARD_REVOKED"), id="revoked-here"),
    ],
)
async def test_a_reissue_of_what_is_not_a_standing_award_is_refused(
    env: Env, award_id: str, expected: tuple[str, str]
) -> None:
    await _publish(env, "e1")
    (award,) = await env.awards_of("ada")
    await env.awards.RevokeAward(
        award_service_pb2.RevokeAwardRequest(award_id=str(award.id), reason="issued in error")
    )
    target = str(award.id) if award_id == "revoked" else award_id
    code, reason, _ = await _refused(
        env.awards.ReissueAward(award_service_pb2.ReissueAwardRequest(award_id=target))
    )
    assert (code, reason) == expected
    assert len(await env.issuances()) == 2  # the issue and the revoke; nothing more
