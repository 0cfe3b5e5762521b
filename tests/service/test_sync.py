"""Template sync against the emulated Credly and Accredible over real HTTP, with the real
clients and a temporary SQLite store.

The helpers at the top (store, emulator, connections, awarding through the real issuance
worker) are shared with test_webhooks.py and test_reconcile.py, which import the fixtures
by their function names (`store_fixture`, ...)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import dsl
from server.domain import AwardRecord, ConnectionRecord, LearnerRecord, OutboxItem, OutboxState
from server.engine.events import IncomingEvent
from server.engine.processor import process_batch
from server.engine.ruleset import ActiveRules
from server.providers.accredible import AccredibleClient
from server.providers.base import BadgeProvider
from server.providers.credly import CredlyClient
from server.providers.emulator import EmulatorServer, EmulatorState
from server.providers.emulator.credly_store import CredlyOrganization
from server.store import (
    ensure_templates,
    learner_awards,
    list_outbox,
    list_templates,
    make_session_factory,
    save_connection,
    set_template_active,
    template_connections,
)
from server.store.batch_store import SqlBatchStore
from server.store.db import create_engine_for, migrate
from server.store.models import Template
from server.sync import SyncReport, sync_connection
from server.transactions import TransactionRunner
from server.worker.issuance import IssuanceWorker

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
PASSING = "org.openedx.learning.course.passing.status.updated.v1"
WAIT_SECONDS = 5.0

T = TypeVar("T")


class StepClock:
    """The emulator's clock: every reading is one second after the previous one, so
    provider timestamps are strictly ordered."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@dataclass
class Store:
    runner: TransactionRunner
    sessions: sessionmaker[Session]

    def read(self, work: Callable[[Session], T]) -> T:
        """Read outside the runner, straight from the file (what another process sees)."""
        with self.sessions() as session:
            return work(session)


@pytest.fixture(name="store")
def store_fixture(tmp_path: Path) -> Iterator[Store]:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'sync.db'}")
    migrate(engine)
    sessions = make_session_factory(engine)
    runner = TransactionRunner(sessions)
    try:
        yield Store(runner, sessions)
    finally:
        runner.close()
        engine.dispose()


@pytest.fixture(name="emulator")
async def emulator_fixture() -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer(EmulatorState(clock=StepClock())) as server:
        yield server


@pytest.fixture(name="clients")
async def clients_fixture() -> AsyncIterator[list[BadgeProvider]]:
    """Every client a test opens is closed after it."""
    opened: list[BadgeProvider] = []
    yield opened
    for client in opened:
        await client.aclose()


async def connect_credly(
    store: Store, emulator: EmulatorServer, org: CredlyOrganization, opened: list[BadgeProvider]
) -> tuple[ConnectionRecord, CredlyClient]:
    record = _connection(f"credly:{org.id}", "credly", org.name, org.id, emulator.credly_url)
    await store.runner.write(lambda s: save_connection(s, record))
    client = CredlyClient(org.id, org.token, base_url=emulator.credly_url)
    opened.append(client)
    return record, client


async def connect_accredible(
    store: Store, emulator: EmulatorServer, name: str, key: str, opened: list[BadgeProvider]
) -> tuple[ConnectionRecord, AccredibleClient]:
    record = _connection(f"accredible:{name}", "accredible", name, "", emulator.accredible_url)
    await store.runner.write(lambda s: save_connection(s, record))
    client = AccredibleClient(key, base_url=emulator.accredible_url)
    opened.append(client)
    return record, client


def _connection(id_: str, kind: str, name: str, org: str, base_url: str) -> ConnectionRecord:
    return ConnectionRecord(id_, kind, name, org, base_url, "sealed", True, START, START)


class OneConnection:
    """The issuance worker's resolver: every template is served by one client."""

    def __init__(self, connection_id: str, client: BadgeProvider) -> None:
        self.connection_id = connection_id
        self.client = client

    def for_template(self, template_id: str) -> tuple[str, BadgeProvider] | None:
        return self.connection_id, self.client


def rules_for(template_id: str) -> ActiveRules:
    """Passing awards the badge; a failing regrade resets it (a penalty)."""
    external = template_id.split(":", 1)[1]
    text = (
        f'badge "b" {{\n template credly "{external}"\n'
        " require passed: on course_passed where is_passing\n"
        " penalty failing: on course_passed where is_passing == false resets all\n}\n"
    )
    return ActiveRules(1, dsl.compile_rules([dsl.SourceFile("r", text)]), [template_id])


def passing(event_id: str, learner: str, is_passing: bool = True) -> IncomingEvent:
    record = LearnerRecord(learner, f"{learner}@example.org", learner.title(), "Learner")
    return IncomingEvent(event_id, PASSING, record, START, {"is_passing": is_passing})


async def process(store: Store, template_id: str, events: list[IncomingEvent]) -> None:
    rules = rules_for(template_id)

    def run(session: Session) -> None:
        ensure_templates(session, [tuple(template_id.split(":", 1)) + ("b", "")], START)
        set_template_active(session, template_id, True, START)
        process_batch(rules, events, SqlBatchStore(session), START)

    await store.runner.write(run)


async def issue_all(store: Store, connection_id: str, client: BadgeProvider) -> None:
    """Drain the outbox into the emulator with the real issuance worker."""
    worker = IssuanceWorker(
        store.runner, OneConnection(connection_id, client), rng=random.Random(1)
    )
    for _ in range(20):
        if await worker.run_once() == 0:
            break
    assert {i.state for i in await store.runner.read(list_outbox)} == {OutboxState.SENT}


async def award(
    store: Store, template_id: str, learners: list[str], connection_id: str, client: BadgeProvider
) -> None:
    events = [passing(f"pass-{learner}", learner) for learner in learners]
    await process(store, template_id, events)
    await issue_all(store, connection_id, client)


def awards_of(store: Store, learner: str) -> list[AwardRecord]:
    return store.read(lambda s: learner_awards(s, learner))


def outbox(store: Store) -> list[OutboxItem]:
    return store.read(list_outbox)


def templates(store: Store) -> dict[str, tuple[str, str, bool, str]]:
    """id → (name, description, active, connection_id) of every template."""
    return store.read(
        lambda s: {
            row.id: (row.name, row.description, row.active, row.connection_id)
            for row in s.scalars(select(Template))
        }
    )


# -- tests -----------------------------------------------------------------------------


async def test_sync_reads_every_page_of_active_templates_and_skips_draft_and_archived(
    store: Store, emulator: EmulatorServer, clients: list[BadgeProvider]
) -> None:
    org = emulator.state.credly.add_organization("Paging Academy")
    active = [emulator.state.credly.add_template(org.id, f"T{i:03d}") for i in range(57)]
    emulator.state.credly.add_template(org.id, "Draft one", state="draft")
    emulator.state.credly.add_template(org.id, "Archived one", state="archived")
    connection, client = await connect_credly(store, emulator, org, clients)

    report = await sync_connection(store.runner, connection, client, NOW)

    expected = {f"credly:{t.id}": (t.name, t.description, False, connection.id) for t in active}
    assert sorted(report.created) == sorted(expected)
    assert (report.updated, report.deactivated) == ([], [])
    assert templates(store) == expected


async def test_a_template_archived_on_the_provider_becomes_inactive_and_its_awards_stay(
    store: Store, emulator: EmulatorServer, clients: list[BadgeProvider]
) -> None:
    org = emulator.state.credly.add_organization("Archive Academy")
    kept = emulator.state.credly.add_template(org.id, "Kept")
    archived = emulator.state.credly.add_template(org.id, "Archived later")
    connection, client = await connect_credly(store, emulator, org, clients)
    await sync_connection(store.runner, connection, client, NOW)
    archived_id = f"credly:{archived.id}"
    await award(store, archived_id, ["ada"], connection.id, client)
    before_awards, before_outbox = awards_of(store, "ada"), outbox(store)

    emulator.state.credly.update_template(org.id, archived.id, state="archived")
    report = await sync_connection(store.runner, connection, client, NOW + timedelta(hours=1))

    assert report == SyncReport(created=[], updated=[], deactivated=[archived_id])
    assert templates(store) == {
        f"credly:{kept.id}": ("Kept", "Kept description", False, connection.id),
        archived_id: ("Archived later", "Archived later description", False, connection.id),
    }
    assert awards_of(store, "ada") == before_awards
    assert [a.state.value for a in before_awards] == ["awarded"]
    assert outbox(store) == before_outbox


async def test_syncs_of_different_connections_do_not_touch_each_others_templates(
    store: Store, emulator: EmulatorServer, clients: list[BadgeProvider]
) -> None:
    state = emulator.state
    org_a = state.credly.add_organization("Org A")
    org_b = state.credly.add_organization("Org B")
    a1, a2 = (state.credly.add_template(org_a.id, name) for name in ("A1", "A2"))
    b1 = state.credly.add_template(org_b.id, "B1")
    config = state.accredible.add_configuration("Config C", key="accredible-key-c")
    design = state.accredible.add_design(config.key, "Badge design")
    group = state.accredible.add_group(config.key, "Group C1", design_id=design.id)
    conn_a, client_a = await connect_credly(store, emulator, org_a, clients)
    conn_b, client_b = await connect_credly(store, emulator, org_b, clients)
    conn_c, client_c = await connect_accredible(store, emulator, "c", config.key, clients)
    for connection, client in ((conn_a, client_a), (conn_b, client_b), (conn_c, client_c)):
        await sync_connection(store.runner, connection, client, NOW)
    for id_ in (f"credly:{b1.id}", f"accredible:{group.id}", f"credly:{a1.id}"):
        await store.runner.write(lambda s, i=id_: set_template_active(s, i, True, NOW))
    others = {k: v for k, v in templates(store).items() if not k.startswith(f"credly:{a1.id}")}
    others.pop(f"credly:{a2.id}")

    state.credly.update_template(org_a.id, a1.id, state="archived")
    state.credly.update_template(org_a.id, a2.id, name="A2 renamed")
    later = NOW + timedelta(hours=1)
    report_a = await sync_connection(store.runner, conn_a, client_a, later)
    report_c = await sync_connection(store.runner, conn_c, client_c, later)

    assert report_a == SyncReport([], [f"credly:{a2.id}"], [f"credly:{a1.id}"])
    assert report_c == SyncReport([], [], [])
    after = templates(store)
    assert after[f"credly:{a1.id}"] == ("A1", "A1 description", False, conn_a.id)
    assert after[f"credly:{a2.id}"] == ("A2 renamed", "A2 description", False, conn_a.id)
    assert {k: v for k, v in after.items() if k in others} == others
    assert others == {
        f"credly:{b1.id}": ("B1", "B1 description", True, conn_b.id),
        f"accredible:{group.id}": ("Group C1", "Group C1 description", True, conn_c.id),
    }


@pytest.mark.parametrize(
    "active", [pytest.param(True, id="active-stays-active"), pytest.param(False, id="stays-off")]
)
async def test_a_resync_updates_a_renamed_template_without_changing_active(
    store: Store, emulator: EmulatorServer, clients: list[BadgeProvider], active: bool
) -> None:
    org = emulator.state.credly.add_organization("Rename Academy")
    template = emulator.state.credly.add_template(org.id, "Old name")
    connection, client = await connect_credly(store, emulator, org, clients)
    await sync_connection(store.runner, connection, client, NOW)
    id_ = f"credly:{template.id}"
    await store.runner.write(lambda s: set_template_active(s, id_, active, NOW))

    emulator.state.credly.update_template(
        org.id, template.id, name="New name", description="New text"
    )
    report = await sync_connection(store.runner, connection, client, NOW + timedelta(hours=1))
    unchanged = await sync_connection(store.runner, connection, client, NOW + timedelta(hours=2))

    assert report == SyncReport(created=[], updated=[id_], deactivated=[])
    assert unchanged == SyncReport()
    assert templates(store) == {id_: ("New name", "New text", active, connection.id)}
    record = store.read(lambda s: list_templates(s, after_id=None, limit=10, active_only=False))
    assert record[0].updated_at == NOW + timedelta(hours=1)


async def test_a_rule_created_template_found_by_a_sync_joins_the_connection_and_stays_active(
    store: Store, emulator: EmulatorServer, clients: list[BadgeProvider]
) -> None:
    org = emulator.state.credly.add_organization("Rules First Academy")
    template = emulator.state.credly.add_template(org.id, "Provider name")
    id_ = f"credly:{template.id}"

    def from_rules(session: Session) -> None:
        ensure_templates(session, [("credly", template.id, "rule-name", "")], START)
        set_template_active(session, id_, True, START)

    await store.runner.write(from_rules)
    assert store.read(template_connections) == {}
    connection, client = await connect_credly(store, emulator, org, clients)

    report = await sync_connection(store.runner, connection, client, NOW)

    assert report == SyncReport(created=[], updated=[id_], deactivated=[])
    assert templates(store) == {
        id_: ("Provider name", "Provider name description", True, connection.id)
    }
    assert store.read(template_connections) == {id_: connection.id}


async def test_an_accredible_sync_reads_every_group_page(
    store: Store, emulator: EmulatorServer, clients: list[BadgeProvider]
) -> None:
    config = emulator.state.accredible.add_configuration("Many groups", key="accredible-many")
    groups = [emulator.state.accredible.add_group(config.key, f"G{i:02d}") for i in range(53)]
    connection, client = await connect_accredible(store, emulator, "many", config.key, clients)

    report = await sync_connection(store.runner, connection, client, NOW)

    assert sorted(report.created) == sorted(f"accredible:{g.id}" for g in groups)
    assert templates(store) == {
        f"accredible:{g.id}": (g.name, f"{g.name} description", False, connection.id)
        for g in groups
    }
