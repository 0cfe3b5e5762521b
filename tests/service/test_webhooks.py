"""The Credly webhook receiver over real HTTP: the emulator POSTs its events to the
receiver served by uvicorn on loopback; the receiver re-fetches each event from the
emulator with the real Credly client and writes to a temporary SQLite store.

No sleeps: a test waits for the emulator's deliveries and then the receiver's background
work (`drain`), each under a timeout."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from server.domain import AwardState, OutboxAction, RevokedBy
from server.providers.base import BadgeProvider, ProviderEvent
from server.providers.emulator import EmulatorServer
from server.providers.emulator.credly_store import CredlyOrganization
from server.store import get_connection, provider_badges_for_award
from server.store.models import WebhookEvent
from server.sync import sync_connection
from server.webhooks import CREDLY_WEBHOOK_PATH, WebhookApp, build_webhook_app
from tests.service.test_sync import (
    NOW,
    WAIT_SECONDS,
    Store,
    award,
    awards_of,
    clients_fixture,  # noqa: F401  (fixture)
    connect_credly,
    emulator_fixture,  # noqa: F401  (fixture)
    outbox,
    passing,
    process,
    store_fixture,  # noqa: F401  (fixture)
    templates,
)

#: The URL's secret segment (BADGEFLOW_WEBHOOK_TOKEN); a wrong or missing one is a 404.
TOKEN = "t0k3n-" + "w" * 40
TOKEN_PATH = f"{CREDLY_WEBHOOK_PATH}/{TOKEN}"
#: Replaced by the receiver's organisation id: a webhook that would be accepted.
KNOWN_ORG = "__known_org__"
KNOWN_ORG_BODY = b'{"id": "e1", "organization_id": "__known_org__", "event_type": "badge.created"}'


class CountingClient:
    """The real client, counting re-fetches (to prove an event is processed once)."""

    def __init__(self, client: BadgeProvider) -> None:
        self.inner = client
        self.kind = client.kind
        self.fetched: list[str] = []

    async def fetch_event(self, event_id: str) -> ProviderEvent:
        self.fetched.append(event_id)
        return await self.inner.fetch_event(event_id)

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self.inner, name)


@dataclass
class Receiver:
    app: WebhookApp
    url: str
    client: CountingClient
    connection_id: str
    org: CredlyOrganization
    changes: list[str] = field(default_factory=list)
    known: dict[str, str] = field(default_factory=dict)

    async def settle(self, emulator: EmulatorServer) -> None:
        """Every delivery sent so far answered, and every event it started processed."""
        await _within(emulator.state.webhooks.drain())
        await _within(self.app.drain())


async def _within(work: Awaitable[None]) -> None:
    await asyncio.wait_for(work, WAIT_SECONDS)


class _Registry:
    def __init__(self, clients: dict[str, BadgeProvider]) -> None:
        self.clients = clients

    def client(self, connection_id: str) -> BadgeProvider | None:
        return self.clients.get(connection_id)


@contextlib.asynccontextmanager
async def serve(app: WebhookApp) -> AsyncIterator[str]:
    """Serve `app`; yields the webhook URL with its secret token."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="on", log_config=None, access_log=False, ws="none")
    server = uvicorn.Server(config)
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0)
        yield f"http://127.0.0.1:{port}{CREDLY_WEBHOOK_PATH}/{TOKEN}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture
async def receiver(
    store: Store, emulator: EmulatorServer, clients: list[BadgeProvider]
) -> AsyncIterator[Receiver]:
    org = emulator.state.credly.add_organization("Hooked Academy")
    connection, client = await connect_credly(store, emulator, org, clients)
    counting = CountingClient(client)
    known = {org.id: connection.id}
    changes: list[str] = []

    async def on_change() -> None:
        changes.append("rebuilt")

    app = build_webhook_app(
        store.runner,
        _Registry({connection.id: counting}),
        lambda: known,
        on_change,
        clock=lambda: NOW,
        token=TOKEN,
    )
    async with serve(app) as url:
        emulator.state.set_webhook(org.id, url)
        yield Receiver(app, url, counting, connection.id, org, changes, known)


def processed_events(store: Store) -> list[tuple[str, str]]:
    return store.read(
        lambda s: [(r.event_id, r.event_type) for r in s.scalars(select(WebhookEvent))]
    )


def stored_badges(store: Store, award_id: int) -> list[tuple[str, str]]:
    return [
        (b.external_id, b.state)
        for b in store.read(lambda s: provider_badges_for_award(s, award_id))
    ]


# -- what the endpoint answers ----------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "answer"),
    [
        pytest.param(
            "POST",
            TOKEN_PATH,
            b"{not json",
            400,
            {"error": "body is not JSON"},
            id="not-json",
        ),
        pytest.param(
            "POST",
            TOKEN_PATH,
            b"[1, 2]",
            400,
            {"error": "body is not a JSON object"},
            id="array",
        ),
        pytest.param(
            "POST",
            TOKEN_PATH,
            b'{"organization_id": "x", "event_type": "badge.created"}',
            400,
            {"error": "missing or invalid 'id'"},
            id="no-id",
        ),
        pytest.param(
            "POST",
            TOKEN_PATH,
            b'{"id": "e", "organization_id": 7, "event_type": "b"}',
            400,
            {"error": "missing or invalid 'organization_id'"},
            id="org-not-a-string",
        ),
        pytest.param(
            "POST",
            TOKEN_PATH,
            b'{"id": "e", "organization_id": "not-ours", "event_type": "badge.created"}',
            404,
            {"error": "unknown organization"},
            id="unknown-org",
        ),
        pytest.param(
            "GET",
            TOKEN_PATH,
            b"",
            405,
            {"error": "method not allowed: POST only"},
            id="get",
        ),
        pytest.param(
            "POST", "/webhooks/other", b"{}", 404, {"error": "not found"}, id="other-path"
        ),
        pytest.param(
            "POST",
            CREDLY_WEBHOOK_PATH,
            KNOWN_ORG_BODY,
            404,
            {"error": "not found"},
            id="no-token",
        ),
        pytest.param(
            "POST",
            f"{CREDLY_WEBHOOK_PATH}/{'x' * len(TOKEN)}",
            KNOWN_ORG_BODY,
            404,
            {"error": "not found"},
            id="wrong-token",
        ),
        pytest.param(
            "POST",
            f"{TOKEN_PATH}x",
            KNOWN_ORG_BODY,
            404,
            {"error": "not found"},
            id="token-with-a-suffix",
        ),
        pytest.param(
            "GET",
            f"{CREDLY_WEBHOOK_PATH}/wrong",
            b"",
            404,
            {"error": "not found"},
            id="get-wrong-token",
        ),
        pytest.param(
            "POST",
            TOKEN_PATH,
            b"{" + b" " * 70_000 + b"}",
            413,
            {"error": "body too large"},
            id="too-large",
        ),
    ],
)
async def test_the_endpoint_refuses_what_is_not_a_webhook_of_a_known_organisation(
    receiver: Receiver, store: Store, method: str, path: str, body: bytes, status: int, answer: dict
) -> None:
    url = receiver.url.replace(TOKEN_PATH, path)
    body = body.replace(KNOWN_ORG.encode(), receiver.org.id.encode())
    async with httpx.AsyncClient() as http:
        response = await http.request(method, url, content=body)
    await _within(receiver.app.drain())

    assert (response.status_code, response.json()) == (status, answer)
    assert receiver.client.fetched == []
    assert processed_events(store) == []


async def test_a_known_organisation_whose_client_is_not_loaded_is_asked_to_retry(
    store: Store, emulator: EmulatorServer
) -> None:
    app = build_webhook_app(
        store.runner, _Registry({}), lambda: {"org-1": "credly:org-1"}, None, token=TOKEN
    )
    body = {"id": "e1", "organization_id": "org-1", "event_type": "badge.created"}
    async with serve(app) as url, httpx.AsyncClient() as http:
        response = await http.post(url, json=body)

    assert (response.status_code, response.json()) == (503, {"error": "connection not loaded"})


async def test_an_event_type_badgeflow_ignores_is_answered_200_and_not_fetched(
    receiver: Receiver, store: Store
) -> None:
    body = {
        "id": "n1",
        "organization_id": receiver.org.id,
        "event_type": "pending_badge_notification.sent",
    }
    async with httpx.AsyncClient() as http:
        response = await http.post(receiver.url, json=body)
    await _within(receiver.app.drain())

    assert (response.status_code, response.json()) == (200, {"status": "ignored"})
    assert receiver.client.fetched == []


# -- what processing does ------------------------------------------------------------


async def test_the_refetched_event_wins_over_a_forged_body(
    receiver: Receiver, store: Store, emulator: EmulatorServer
) -> None:
    state = emulator.state
    template = state.credly.add_template(receiver.org.id, "Forgery")
    template_id = f"credly:{template.id}"
    await receiver.settle(emulator)
    await award(store, template_id, ["ada"], receiver.connection_id, receiver.client.inner)
    await receiver.settle(emulator)
    (award_record,) = awards_of(store, "ada")
    ((badge_id, _),) = stored_badges(store, award_record.id or 0)
    state.set_webhook(receiver.org.id, None)
    state.credly.set_badge_state(receiver.org.id, badge_id, "accepted")
    accepted = state.credly_events(receiver.org.id)[-1]

    forged = {
        "id": accepted.id,
        "organization_id": receiver.org.id,
        "event_type": "badge.deleted",
        "badge": {"id": badge_id, "state": "revoked", "badge_template": {"id": template.id}},
    }
    unknown = {**forged, "id": "00000000-0000-0000-0000-000000000000"}
    async with httpx.AsyncClient() as http:
        answers = [(await http.post(receiver.url, json=b)).status_code for b in (forged, unknown)]
    await receiver.settle(emulator)

    assert answers == [200, 200]
    assert stored_badges(store, award_record.id or 0) == [(badge_id, "accepted")]
    assert [a.state for a in awards_of(store, "ada")] == [AwardState.AWARDED]
    assert (accepted.id, "badge.state.changed") in processed_events(store)
    assert "00000000-0000-0000-0000-000000000000" not in dict(processed_events(store))


async def test_a_redelivered_event_is_processed_once(
    receiver: Receiver, store: Store, emulator: EmulatorServer
) -> None:
    state = emulator.state
    template = state.credly.add_template(receiver.org.id, "Twice")
    await award(
        store, f"credly:{template.id}", ["ben"], receiver.connection_id, receiver.client.inner
    )
    await receiver.settle(emulator)
    (award_record,) = awards_of(store, "ben")
    ((badge_id, _),) = stored_badges(store, award_record.id or 0)
    state.credly.set_badge_state(receiver.org.id, badge_id, "accepted")
    await receiver.settle(emulator)
    event = state.credly_events(receiver.org.id)[-1]
    fetched_before = receiver.client.fetched.count(event.id)

    state.resend_webhook(receiver.org.id, event.id)
    state.resend_webhook(receiver.org.id, event.id)
    await receiver.settle(emulator)

    deliveries = [d.status for d in state.webhooks.deliveries if d.event_id == event.id]
    assert deliveries == [200, 200, 200]
    assert (fetched_before, receiver.client.fetched.count(event.id)) == (1, 1)
    assert [e for e in processed_events(store) if e[0] == event.id] == [
        (event.id, "badge.state.changed")
    ]
    assert stored_badges(store, award_record.id or 0) == [(badge_id, "accepted")]


@pytest.mark.parametrize(
    "withdraw",
    [
        pytest.param("revoke", id="revoked-on-credly"),
        pytest.param("delete", id="deleted-on-credly"),
    ],
)
async def test_a_badge_withdrawn_on_credly_revokes_the_award_which_processing_never_restores(
    receiver: Receiver, store: Store, emulator: EmulatorServer, withdraw: str
) -> None:
    state = emulator.state
    template = state.credly.add_template(receiver.org.id, "Withdrawn")
    template_id = f"credly:{template.id}"
    await award(store, template_id, ["cy"], receiver.connection_id, receiver.client.inner)
    await receiver.settle(emulator)
    (award_record,) = awards_of(store, "cy")
    ((badge_id, _),) = stored_badges(store, award_record.id or 0)
    outbox_before = outbox(store)

    if withdraw == "revoke":
        state.credly.revoke(receiver.org.id, badge_id, "misconduct")
    else:
        state.credly.delete(receiver.org.id, badge_id)
    await receiver.settle(emulator)
    await process(store, template_id, [passing("fail-cy", "cy", False), passing("again-cy", "cy")])

    (revoked,) = awards_of(store, "cy")
    assert (revoked.state, revoked.revoked_by, revoked.revoke_reason, revoked.revoked_at) == (
        AwardState.REVOKED,
        RevokedBy.ADMIN,
        "revoked on Credly",
        NOW,
    )
    expected_state = "revoked" if withdraw == "revoke" else "deleted"
    assert stored_badges(store, award_record.id or 0) == [(badge_id, expected_state)]
    assert outbox(store) == outbox_before
    assert [i.action for i in outbox(store)] == [OutboxAction.ISSUE]


async def test_a_template_event_resyncs_the_connection_and_rebuilds_the_rules(
    receiver: Receiver, store: Store, emulator: EmulatorServer
) -> None:
    state = emulator.state
    renamed = state.credly.add_template(receiver.org.id, "Before")
    archived = state.credly.add_template(receiver.org.id, "Soon archived")
    await receiver.settle(emulator)
    assert receiver.changes == ["rebuilt", "rebuilt"]
    receiver.changes.clear()

    state.credly.update_template(receiver.org.id, renamed.id, name="After")
    await receiver.settle(emulator)
    state.credly.update_template(receiver.org.id, archived.id, state="archived")
    await receiver.settle(emulator)
    created = state.credly.add_template(receiver.org.id, "Brand new")
    await receiver.settle(emulator)

    assert receiver.changes == ["rebuilt", "rebuilt", "rebuilt"]
    assert templates(store) == {
        f"credly:{renamed.id}": ("After", "Before description", False, receiver.connection_id),
        f"credly:{archived.id}": (
            "Soon archived",
            "Soon archived description",
            False,
            receiver.connection_id,
        ),
        f"credly:{created.id}": (
            "Brand new",
            "Brand new description",
            False,
            receiver.connection_id,
        ),
    }
    events = [e.id for e in state.credly_events(receiver.org.id)]
    assert sorted(e for e, _ in processed_events(store)) == sorted(events)


async def test_an_active_template_archived_on_credly_is_deactivated_by_its_webhook(
    receiver: Receiver, store: Store, emulator: EmulatorServer
) -> None:
    state = emulator.state
    template = state.credly.add_template(receiver.org.id, "Live")
    await receiver.settle(emulator)
    template_id = f"credly:{template.id}"
    await award(store, template_id, ["dee"], receiver.connection_id, receiver.client.inner)
    await receiver.settle(emulator)
    assert templates(store)[template_id][2] is True

    state.credly.update_template(receiver.org.id, template.id, state="archived")
    await receiver.settle(emulator)

    assert templates(store)[template_id] == (
        "Live",
        "Live description",
        False,
        receiver.connection_id,
    )
    assert [a.state for a in awards_of(store, "dee")] == [AwardState.AWARDED]


async def test_events_of_a_disconnected_organisation_are_refused(
    receiver: Receiver, store: Store, emulator: EmulatorServer
) -> None:
    receiver.known.clear()
    emulator.state.credly.add_template(receiver.org.id, "After disconnect")
    await receiver.settle(emulator)

    assert [d.status for d in emulator.state.webhooks.deliveries] == [404]
    assert processed_events(store) == []
    assert templates(store) == {}


async def test_sync_connection_is_what_the_template_webhook_runs(
    receiver: Receiver, store: Store, emulator: EmulatorServer
) -> None:
    """A direct sync after the webhook's finds nothing left to do."""
    template = emulator.state.credly.add_template(receiver.org.id, "Same")
    await receiver.settle(emulator)
    connection = store.read(lambda s: get_connection(s, receiver.connection_id))

    report = await sync_connection(store.runner, connection, receiver.client.inner, NOW)

    assert (report.created, report.updated, report.deactivated) == ([], [], [])
    assert list(templates(store)) == [f"credly:{template.id}"]


async def test_events_delivered_out_of_order_leave_the_newest_state(
    receiver: Receiver, store: Store, emulator: EmulatorServer
) -> None:
    state = emulator.state
    template = state.credly.add_template(receiver.org.id, "Reordered")
    await award(
        store, f"credly:{template.id}", ["eve"], receiver.connection_id, receiver.client.inner
    )
    await receiver.settle(emulator)
    (award_record,) = awards_of(store, "eve")
    ((badge_id, _),) = stored_badges(store, award_record.id or 0)
    state.webhooks.paused = True
    state.credly.set_badge_state(receiver.org.id, badge_id, "accepted")
    state.credly.set_badge_state(receiver.org.id, badge_id, "rejected")
    accepted, rejected = state.credly_events(receiver.org.id)[-2:]

    state.resend_webhook(receiver.org.id, rejected.id)
    await receiver.settle(emulator)
    state.resend_webhook(receiver.org.id, accepted.id)
    await receiver.settle(emulator)

    assert stored_badges(store, award_record.id or 0) == [(badge_id, "rejected")]
    assert {accepted.id, rejected.id} <= {e for e, _ in processed_events(store)}
