"""Fault tests on the local PostgreSQL, with `python -m server` processes and the Credly
emulator, each ending in exact counts:

- the database is restarted under a stream of events: the client sees UNAVAILABLE
  (DATABASE_UNAVAILABLE) only, its publisher resends, and every event is stored once,
  every award made once, every award issued once;
- one of two replicas is SIGKILLed while it holds claimed outbox rows: the other takes
  them over when their lease runs out, and no award gets a second Credly badge;
- the provider is down for a while: issuances wait (back-off, circuit breaker) without
  being marked failed, and when it is back the backlog drains to one badge per award.

The templates allow duplicate badges, so only badgeflow's own bookkeeping prevents a
second one. The tests poll the processes they run (there is no event to await across
them), each against a deadline."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from badgeflow.v1 import event_pb2, event_service_pb2_grpc, progress_pb2, provider_pb2
from badgeflow_client import AsyncBadgeflowClient, BadgeflowClient, payload_json
from badgeflow_client.errors import from_rpc_error
from badgeflow_client.publisher import EventPublisher
from sqlalchemy import text

from server.errors import DATABASE_UNAVAILABLE
from server.providers.base import ProviderBadge
from server.providers.credly import CredlyClient
from server.providers.emulator import (
    DEMO_CREDLY_ORG_ID,
    DEMO_CREDLY_TOKEN,
    EmulatorServer,
    EmulatorState,
    seed_demo,
)
from server.store.db import create_engine_for
from tests.postgres.conftest import PostgresControl
from tests.service.serverproc import ServerProcess, start_server

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PASSED = "org.openedx.learning.course.passing.status.updated.v1"
TEMPLATE = "00000000-0000-4000-8000-000000000001"  # allows duplicate badges
DEADLINE = 90.0
POLL = 0.1


def _rules(require: str) -> dict[str, str]:
    return {"faults.badge": f'badge "faults" {{\n template credly "{TEMPLATE}"\n {require}\n}}\n'}


def _event(event_id: str, learner: str, course: str, passing: bool = True) -> event_pb2.Event:
    who = event_pb2.Learner(
        id=learner, email=f"{learner}@example.org", first_name="Learner", last_name=learner
    )
    payload = payload_json({"is_passing": passing, "course": {"course_key": course}})
    return event_pb2.Event(id=event_id, type=PASSED, learner=who, payload_json=payload)


def _wait(what: str, check: Callable[[], bool], deadline: float = DEADLINE) -> None:
    until = time.monotonic() + deadline
    while not check():
        assert time.monotonic() < until, f"timed out waiting for {what}"
        time.sleep(POLL)


def _set_up(target: str, credly_url: str, rules: dict[str, str]) -> None:
    with BadgeflowClient(target) as client:
        client.connect_provider(
            "credly", DEMO_CREDLY_ORG_ID, DEMO_CREDLY_TOKEN, base_url=credly_url
        )
        client.apply_rules(rules)
        client.activate_template(f"credly:{TEMPLATE}")


def _issuances(target: str) -> Counter[int]:
    """How many issuances are in each state (listed by state: a listing holds 1,000)."""
    states = (
        provider_pb2.ISSUANCE_STATE_PENDING,
        provider_pb2.ISSUANCE_STATE_SENT,
        provider_pb2.ISSUANCE_STATE_FAILED,
    )
    with BadgeflowClient(target) as client:
        return Counter({s: len(client.list_issuances(state=s, limit=1_000)) for s in states})


def _provider_badges(credly_url: str) -> list[ProviderBadge]:
    return asyncio.run(_credly_badges(credly_url))


async def _credly_badges(credly_url: str) -> list[ProviderBadge]:
    client = CredlyClient(DEMO_CREDLY_ORG_ID, DEMO_CREDLY_TOKEN, base_url=credly_url)
    try:
        return [b async for b in client.badges(None)]
    finally:
        await client.aclose()


def _one_badge_each(badges: list[ProviderBadge], learners: int) -> None:
    per_earner = Counter(b.recipient_email for b in badges)
    assert (len(badges), len(per_earner), set(per_earner.values())) == (learners, learners, {1})
    assert {b.template_external_id for b in badges} == {TEMPLATE}


def _scalars(url: str, *queries: str) -> list[Any]:
    engine = create_engine_for(url)
    try:
        with engine.connect() as connection:
            return [connection.execute(text(q)).scalar_one() for q in queries]
    finally:
        engine.dispose()


# -- the database restarted under a stream -------------------------------------------

LEARNERS = 600
PASSES = 3  # distinct courses passed per learner: the badge needs all three
FAILS = 5  # failed attempts per learner besides: stored, counted nowhere


class _Recorded:
    """A StreamEvents call that records the (code, reason) of the error ending it."""

    def __init__(self, call: Any, seen: list[tuple[str, str]]) -> None:
        self._call = call
        self._seen = seen

    def __iter__(self) -> Iterator[Any]:
        try:
            yield from self._call
        except grpc.RpcError as error:
            typed = from_rpc_error(error)
            self._seen.append((typed.code.name, typed.reason))
            raise

    def cancel(self) -> bool:
        return self._call.cancel()


def _learner_events() -> list[event_pb2.Event]:
    """Each learner's failed attempts, then the three passes (the third awards)."""
    events = []
    for n in range(LEARNERS):
        learner = f"learner-{n}"
        events += [_event(f"f{k}-{n}", learner, f"C{k}", passing=False) for k in range(FAILS)]
        events += [_event(f"p{k}-{n}", learner, f"C{k}") for k in range(PASSES)]
    return events


def test_database_restart_under_a_stream_loses_and_doubles_nothing(
    schema_url: str, credly_process: Callable[..., str], postgres_control: PostgresControl
) -> None:
    credly_url = credly_process("--latency-ms", "5")
    settings = {"issuance_lease_seconds": "2", "reconcile_interval_seconds": "0"}
    server = start_server(schema_url, **settings)
    try:
        _set_up(
            server.target,
            credly_url,
            _rules(f"require count distinct course.course_key >= {PASSES} of (on course_passed"
                   " where is_passing)"),
        )  # fmt: skip
        events = _learner_events()
        half = len(events) // 2
        seen: list[tuple[str, str]] = []
        futures: list[Any] = []
        stopped = threading.Event()
        with grpc.insecure_channel(server.target) as channel:
            stub = event_service_pb2_grpc.EventServiceStub(channel)
            publisher = EventPublisher(
                lambda requests: _Recorded(stub.StreamEvents(requests), seen), batch_size=50
            )

            def publish() -> None:
                # The first half flows freely; the second waits for the database to go
                # down, so that some of it is sent while it is down.
                for index, event in enumerate(events):
                    if index == half:
                        stopped.wait(DEADLINE)
                    futures.append(publisher.publish(event))

            started = time.monotonic()
            thread = threading.Thread(target=publish)
            thread.start()
            try:
                _wait("a quarter of the events acknowledged", lambda: publisher.acked >= half // 2)
                acked_at_stop = publisher.acked
                down = time.monotonic()
                postgres_control.stop()
                stopped.set()
                # Down until the publisher has given up on two streams: the one the
                # shutdown broke, and one refused while the database was down.
                _wait("the publisher to retry twice", lambda: publisher.retries >= 2, 20.0)
            finally:
                stopped.set()
                postgres_control.start()
            down_s = time.monotonic() - down
            thread.join(DEADLINE)
            publisher.close(timeout=DEADLINE)
        stream_s = time.monotonic() - started
        results = [future.result(timeout=0) for future in futures]

        _wait("every award issued", lambda: _issuances(server.target) == {
            provider_pb2.ISSUANCE_STATE_SENT: LEARNERS,
            provider_pb2.ISSUANCE_STATE_PENDING: 0,
            provider_pb2.ISSUANCE_STATE_FAILED: 0,
        })  # fmt: skip
        with BadgeflowClient(server.target) as client:
            records = list(client.template_progress(f"credly:{TEMPLATE}", completed_only=True))
    finally:
        assert server.terminate() == 0

    outcomes = Counter(r.outcome for r in results)
    print(
        f"database restart: {len(events):,} events, {acked_at_stop:,} acknowledged before the "
        f"stop, down {down_s:.1f} s, {publisher.retries} new streams, {publisher.resent} events "
        f"resent, {outcomes[event_pb2.EVENT_OUTCOME_DUPLICATE]} answered DUPLICATE, "
        f"{len(seen)} stream errors {sorted(Counter(seen).items())}, all acknowledged "
        f"{stream_s:.1f} s after the first"
    )
    assert acked_at_stop <= half
    assert seen and set(seen) == {("UNAVAILABLE", DATABASE_UNAVAILABLE)}
    assert "unexpected error" not in server.messages()
    # Every event acknowledged once, as itself; a DUPLICATE only for an event resent
    # after its first batch was committed but not acknowledged.
    assert (publisher.failed, len(results)) == (0, len(events))
    assert [r.event_id for r in results] == [e.id for e in events]
    assert set(outcomes) <= {event_pb2.EVENT_OUTCOME_ACCEPTED, event_pb2.EVENT_OUTCOME_DUPLICATE}
    assert outcomes[event_pb2.EVENT_OUTCOME_DUPLICATE] <= publisher.resent
    stored = _scalars(
        schema_url,
        "SELECT count(*) FROM events",
        "SELECT count(DISTINCT id) FROM events",
        "SELECT count(*) FROM awards",
        "SELECT count(DISTINCT learner_id) FROM awards",
        "SELECT count(*) FROM outbox",
    )
    assert stored == [len(events), len(events), LEARNERS, LEARNERS, LEARNERS]
    assert len({r.learner_id for r in records}) == len(records) == LEARNERS
    assert {r.award.state for r in records} == {progress_pb2.AWARD_STATE_AWARDED}
    _one_badge_each(_provider_badges(credly_url), LEARNERS)


# -- a replica SIGKILLed while it holds outbox rows ------------------------------------

AWARDS = 400
LEASE_SECONDS = 2


def _held(url: str) -> int:
    """Pending outbox rows under a live lease (claimed by a worker, not finished)."""
    (held,) = _scalars(
        url, "SELECT count(*) FROM outbox WHERE state = 'pending' AND lease_until > now()"
    )
    return int(held)


def test_sigkill_of_a_replica_holding_outbox_rows_doubles_nothing(
    schema_url: str, credly_process: Callable[..., str]
) -> None:
    credly_url = credly_process("--latency-ms", "50")
    settings = {
        "issuance_lease_seconds": str(LEASE_SECONDS),
        "reconcile_interval_seconds": "0",
        "replica_sync_seconds": "0",
    }
    first = start_server(schema_url, **settings)
    replicas: list[ServerProcess] = [first]
    try:
        _set_up(first.target, credly_url, _rules("require on course_passed where is_passing"))
        # Started after the set-up, so it reads the connection and rules at start.
        second = start_server(schema_url, **settings)
        replicas.append(second)
        with BadgeflowClient(first.target) as client:
            events = [_event(f"e{n}", f"learner-{n}", "C0") for n in range(AWARDS)]
            for start in range(0, AWARDS, 100):
                client.publish_events(events[start : start + 100])

        held = 0

        def issuing() -> bool:
            # Each worker claims up to 50 rows a round while work is left over.
            nonlocal held
            sent = _issuances(second.target)[provider_pb2.ISSUANCE_STATE_SENT]
            held = _held(schema_url)
            return sent >= AWARDS // 10 and held >= 10

        _wait("the workers to hold claimed rows", issuing)
        first.kill()
        killed = time.monotonic()
        sent_at_kill = _issuances(second.target)[provider_pb2.ISSUANCE_STATE_SENT]
        _wait("the surviving replica to issue the rest", lambda: _issuances(second.target) == {
            provider_pb2.ISSUANCE_STATE_SENT: AWARDS,
            provider_pb2.ISSUANCE_STATE_PENDING: 0,
            provider_pb2.ISSUANCE_STATE_FAILED: 0,
        })  # fmt: skip
        finish_s = time.monotonic() - killed
    finally:
        for replica in replicas:
            if replica.process.poll() is None:
                assert replica.terminate() == 0

    (taken_over,) = _scalars(schema_url, "SELECT count(*) FROM outbox WHERE outcome_unknown")
    badges = _provider_badges(credly_url)
    print(
        f"replica SIGKILL: {AWARDS} awards, {sent_at_kill} sent and {held} rows leased when "
        f"one replica was killed, {taken_over} of its rows taken over after the "
        f"{LEASE_SECONDS} s lease, all sent {finish_s:.1f} s after the kill, "
        f"{len(badges)} Credly badges"
    )
    assert sent_at_kill < AWARDS
    # Rows the killed replica held keep their lease until it runs out; the survivor then
    # claims them as orphans and looks them up before sending again.
    assert taken_over >= 1
    _one_badge_each(badges, AWARDS)


# -- the provider down for a while ---------------------------------------------------

BACKLOG = 200


async def _states(client: AsyncBadgeflowClient) -> list[provider_pb2.Issuance]:
    return list(await client.list_issuances(limit=1_000))


async def _until(
    what: str,
    check: Callable[[], Any],
    deadline: float = DEADLINE,
    seen: Callable[[], str] = lambda: "",
) -> None:
    """Poll `check` until it holds; on time-out, say what was last seen (`seen`)."""
    until = time.monotonic() + deadline
    while not await check():
        assert time.monotonic() < until, f"timed out waiting for {what}; last seen: {seen()}"
        await asyncio.sleep(POLL)


async def test_provider_outage_backlog_drains_after_it_returns(schema_url: str) -> None:
    # In process, so it can be stopped and started again on the same port with the same
    # state (badges issued before the outage stay); the server is a separate process.
    state = EmulatorState()
    seed_demo(state)
    emulator = await EmulatorServer(state).start()
    port = emulator.port
    settings = {"issuance_lease_seconds": "5", "reconcile_interval_seconds": "0"}
    server = await asyncio.to_thread(start_server, schema_url, **settings)
    try:
        await asyncio.to_thread(
            _set_up,
            server.target,
            emulator.credly_url,
            _rules("require on course_passed where is_passing"),
        )
        await emulator.stop()
        down = time.monotonic()
        async with AsyncBadgeflowClient(server.target) as client:
            events = [_event(f"e{n}", f"learner-{n}", "C0") for n in range(BACKLOG)]
            for start in range(0, BACKLOG, 100):
                await client.publish_events(events[start : start + 100])
            failed: list[provider_pb2.Issuance] = []
            errors: set[str] = set()
            last_seen = ["nothing yet"]

            async def outage_seen() -> bool:
                issuances = await _states(client)
                failed.extend(i for i in issuances if i.state == provider_pb2.ISSUANCE_STATE_FAILED)
                tried = [i for i in issuances if i.last_error]
                errors.update(i.last_error.split(":")[0] for i in tried)
                retried = [i for i in tried if i.attempts >= 2]
                states = Counter(i.state for i in issuances)
                last_seen[0] = (
                    f"{len(issuances)} issuances, {len(tried)} tried, {len(retried)} retried,"
                    f" states {sorted(states.items())}, errors {sorted(errors)}"
                )
                return len(tried) == BACKLOG and bool(retried)

            # Down until every issuance was tried or held back, the breaker opened, and
            # after its cool-down let calls through again, which failed again.
            await _until(
                "every issuance to wait on the outage", outage_seen, seen=lambda: last_seen[0]
            )
            issuances = await _states(client)
            attempts = max(i.attempts for i in issuances)
            down_s = time.monotonic() - down

            emulator = await EmulatorServer(state, port=port).start()
            back = time.monotonic()

            async def drained() -> bool:
                issuances = await _states(client)
                failed.extend(i for i in issuances if i.state == provider_pb2.ISSUANCE_STATE_FAILED)
                return all(i.state == provider_pb2.ISSUANCE_STATE_SENT for i in issuances)

            await _until("the backlog to drain", drained)
            drain_s = time.monotonic() - back
        badges = await _credly_badges(emulator.credly_url)
    finally:
        await asyncio.to_thread(server.terminate)
        await emulator.stop()

    print(
        f"provider outage: {BACKLOG} awards during a {down_s:.1f} s outage (at most "
        f"{attempts} attempts an issuance, none failed; errors {sorted(errors)}), backlog "
        f"drained {drain_s:.1f} s after the provider returned, {len(badges)} Credly badges"
    )
    assert failed == []
    assert "circuit open for this provider connection" in errors
    assert len(issuances) == BACKLOG
    _one_badge_each(badges, BACKLOG)
