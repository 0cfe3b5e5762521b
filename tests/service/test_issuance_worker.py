"""The issuance worker over a real SQLite store and an in-memory provider with faults:
every award reaches the provider exactly once, whatever the provider does."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

import dsl
from dsl.ruleset import IssueMethod
from server.domain import LearnerRecord, OutboxState
from server.engine.events import IncomingEvent
from server.engine.processor import process_batch
from server.engine.ruleset import ActiveRules
from server.providers.base import BadgeProvider, ProviderBadgeState
from server.store import (
    ensure_templates,
    list_outbox,
    make_session_factory,
    provider_badges_for_award,
    retry_failed,
)
from server.store.batch_store import SqlBatchStore
from server.store.db import create_engine_for, migrate
from server.transactions import TransactionRunner
from server.worker.issuance import IssuanceWorker
from server.worker.policy import CircuitBreaker, RetryPolicy
from tests.service.fake_provider import FakeProvider, Faults

TEMPLATE = "credly:t-1"
RULES = """
badge "b" {
    template credly "t-1"
    require on course_passed where is_passing
    penalty on course_passed where is_passing == false resets all
}
"""
NOW = datetime(2026, 1, 1, tzinfo=UTC)  # in the past: items are due at once
PASSED = "org.openedx.learning.course.passing.status.updated.v1"


class Resolver:
    def __init__(self, provider: BadgeProvider) -> None:
        self.provider = provider

    def for_template(self, template_id: str) -> tuple[str, BadgeProvider] | None:
        return ("credly:org", self.provider) if template_id.startswith("credly:") else None


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[TransactionRunner]:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'w.db'}")
    migrate(engine)
    runner = TransactionRunner(make_session_factory(engine))
    try:
        yield runner
    finally:
        runner.close()
        engine.dispose()


async def _award(
    runner: TransactionRunner, learners: int, passing: bool = True, start: int = 0
) -> None:
    rules = ActiveRules(1, dsl.compile_rules([dsl.SourceFile("b", RULES)]), [TEMPLATE])
    events = [
        IncomingEvent(
            f"e-{passing}-{start + i}",
            PASSED,
            LearnerRecord(f"l{i}", f"l{i}@example.org", "L", str(i)),
            NOW,
            {"is_passing": passing},
        )
        for i in range(learners)
    ]

    def work(session):  # noqa: ANN001, ANN202
        ensure_templates(session, [("credly", "t-1", "b", "")], NOW)
        for chunk in range(0, len(events), 200):
            process_batch(rules, events[chunk : chunk + 200], SqlBatchStore(session), NOW)

    await runner.write(work)


def _worker(runner: TransactionRunner, provider: FakeProvider, **kwargs: object) -> IssuanceWorker:
    policy = RetryPolicy(max_attempts=50, base_delay=0.0)
    breaker = CircuitBreaker(clock=lambda: 0.0, threshold=10_000)
    return IssuanceWorker(
        runner, Resolver(provider), policy=policy, breaker=breaker, rng=random.Random(3), **kwargs
    )  # type: ignore[arg-type]


async def _drain(worker: IssuanceWorker, limit: int = 10_000) -> int:
    rounds = 0
    while await worker.run_once():
        rounds += 1
        assert rounds < limit, "the outbox never drained"
    return rounds


async def test_faults_never_double_or_lose_an_issuance(runner: TransactionRunner) -> None:
    await _award(runner, 1000)
    provider = FakeProvider(faults=Faults(server_errors=0.2, drops=0.1, rate_limits=0.05))
    await _drain(_worker(runner, provider, batch=100))
    items = await runner.read(list_outbox)
    assert {i.state for i in items} == {OutboxState.SENT}
    assert len(provider.badges) == 1000
    assert len({b.recipient_email for b in provider.badges.values()}) == 1000
    assert sum(i.outcome_unknown for i in items) > 0  # drops happened and were resolved by lookup
    held = await runner.read(lambda s: provider_badges_for_award(s, items[0].award_id))
    assert [b.external_id for b in held] == [items[0].provider_badge_id]


async def test_revocation_follows_the_issue_of_the_same_award(runner: TransactionRunner) -> None:
    await _award(runner, 3)
    await _award(runner, 3, passing=False)
    provider = FakeProvider(faults=Faults(server_errors=0.3), seed=9)
    await _drain(_worker(runner, provider))
    assert len(provider.badges) == 3
    assert {b.state for b in provider.badges.values()} == {ProviderBadgeState.REVOKED}


async def test_rejected_calls_fail_visibly_and_can_be_retried(runner: TransactionRunner) -> None:
    await _award(runner, 2)
    provider = FakeProvider(faults=Faults(reject_all=True))
    worker = _worker(runner, provider)
    await _drain(worker)
    items = await runner.read(list_outbox)
    assert [(i.state, i.last_error) for i in items] == [
        (OutboxState.FAILED, "rejected (400): 400: template not issuable")
    ] * 2
    provider.faults.reject_all = False
    for item in items:
        assert await runner.write(lambda s, i=item: retry_failed(s, i.id, datetime.now(UTC)))
    await _drain(worker)
    assert {i.state for i in await runner.read(list_outbox)} == {OutboxState.SENT}
    assert len(provider.badges) == 2


async def test_out_of_retries_is_a_failure_that_names_the_last_error(
    runner: TransactionRunner,
) -> None:
    await _award(runner, 1)
    provider = FakeProvider(faults=Faults(server_errors=1.0))
    worker = IssuanceWorker(
        runner, Resolver(provider), policy=RetryPolicy(max_attempts=3, base_delay=0.0)
    )
    await _drain(worker)
    (item,) = await runner.read(list_outbox)
    assert (item.state, item.attempts) == (OutboxState.FAILED, 3)
    assert item.last_error == "gave up after 3 attempts: transport: 503 from the fake provider"
    assert provider.badges == {}


async def test_an_open_circuit_holds_calls_without_spending_attempts(
    runner: TransactionRunner,
) -> None:
    await _award(runner, 1)
    provider = FakeProvider(faults=Faults(server_errors=1.0))
    breaker = CircuitBreaker(clock=lambda: 0.0, threshold=2, cooldown=60.0)
    worker = IssuanceWorker(
        runner, Resolver(provider), policy=RetryPolicy(base_delay=0.0), breaker=breaker
    )
    await worker.run_once()
    await worker.run_once()
    assert breaker.is_open("credly:org")
    calls = provider.calls
    (item,) = await runner.read(list_outbox)
    assert item.attempts == 2 and item.last_error.startswith("transport")
    assert provider.calls == calls


async def test_a_template_no_connection_serves_waits_visibly(runner: TransactionRunner) -> None:
    await _award(runner, 1)
    worker = IssuanceWorker(runner, Resolver(FakeProvider()), policy=RetryPolicy(base_delay=0.0))
    await runner.write(lambda s: s.execute(text("UPDATE outbox SET template_id = 'accredible:9'")))
    await _drain(worker)
    (item,) = await runner.read(list_outbox)
    assert (item.state, item.attempts, item.last_error) == (
        OutboxState.PENDING,
        0,
        "no provider connection serves accredible:9",
    )
    assert item.next_attempt_at is not None and item.next_attempt_at > datetime.now(UTC)


async def test_an_item_whose_lease_ran_out_is_left_to_the_next_claim(
    runner: TransactionRunner,
) -> None:
    """A worker slow enough that its claim expired before it reached an item must not
    call the provider for it: another worker may hold the row by then."""
    await _award(runner, 3)
    provider = FakeProvider()
    times = iter([datetime.now(UTC)])  # the claim; every later reading is past the lease

    def clock() -> datetime:
        return next(times, datetime.now(UTC) + timedelta(hours=1))

    slow = _worker(runner, provider, clock=clock, lease=timedelta(seconds=60))
    assert await slow.run_once() == 3
    assert provider.calls == 0
    items = await runner.read(list_outbox)
    assert [(i.state, i.attempts) for i in items] == [(OutboxState.PENDING, 0)] * 3

    await _drain(_worker(runner, provider, clock=lambda: datetime.now(UTC) + timedelta(hours=2)))
    items = await runner.read(list_outbox)
    assert [i.state for i in items] == [OutboxState.SENT] * 3
    assert len(provider.badges) == 3


REPEATABLE = """
badge "again" {
    template credly "t-1"
    repeatable
    expires after 1 year
    require on course_passed where is_passing
}
"""


async def _award_repeatable(runner: TransactionRunner, times: int) -> None:
    rules = ActiveRules(1, dsl.compile_rules([dsl.SourceFile("b", REPEATABLE)]), [TEMPLATE])
    events = [
        IncomingEvent(
            f"r{i}",
            PASSED,
            LearnerRecord("l0", "l0@example.org", "L", "0"),
            NOW,
            {"is_passing": True},
        )
        for i in range(times)
    ]

    def work(session):  # noqa: ANN001, ANN202
        ensure_templates(session, [("credly", "t-1", "b", "")], NOW)
        process_batch(rules, events, SqlBatchStore(session), NOW)

    await runner.write(work)


@pytest.mark.parametrize(
    ("method", "duplicates", "badges", "updates", "live"),
    [
        pytest.param(IssueMethod.ISSUE, True, 3, 0, 3, id="issue-each-time"),
        pytest.param(IssueMethod.ISSUE, False, 1, 0, 1, id="issue-template-forbids-duplicates"),
        pytest.param(IssueMethod.ISSUE_OR_UPDATE, True, 3, 2, 1, id="issue-then-update"),
    ],
)
async def test_issue_methods_for_a_repeatable_badge(
    runner: TransactionRunner,
    method: IssueMethod,
    duplicates: bool,
    badges: int,
    updates: int,
    live: int,
) -> None:
    await _award_repeatable(runner, 3)
    provider = FakeProvider(allow_duplicates=duplicates)
    await _drain(_worker(runner, provider, methods=lambda template_id: method))
    assert {i.state for i in await runner.read(list_outbox)} == {OutboxState.SENT}
    assert (len(provider.badges), provider.updates, len(provider.live())) == (badges, updates, live)


async def test_update_only_needs_a_badge_to_update(runner: TransactionRunner) -> None:
    await _award(runner, 1)
    provider = FakeProvider()
    await _drain(_worker(runner, provider, methods=lambda template_id: IssueMethod.UPDATE))
    (item,) = await runner.read(list_outbox)
    assert (item.state, item.last_error) == (
        OutboxState.FAILED,
        "rejected (0): method update: the learner holds no badge of this template to update",
    )
    assert provider.badges == {}


async def test_a_second_badge_the_template_forbids_links_to_the_one_held(
    runner: TransactionRunner,
) -> None:
    await _award(runner, 1)
    provider = FakeProvider()
    await _drain(_worker(runner, provider))
    await runner.write(lambda s: s.execute(text("UPDATE awards SET state = 'revoked'")))
    await _award(runner, 1, start=1)  # same learner earns again after an admin-side change
    await _drain(_worker(runner, provider))
    assert len(provider.badges) == 1
