"""Two replicas (`python -m server` processes) on one PostgreSQL database, both running
the issuance worker against one emulated Credly (a separate process, with latency):

- the provider is connected, rules applied and templates activated through replica 1
  after both started, and replica 2 follows (`replica_sync_seconds`);
- 20,000 events over 1,000 learners are streamed through both at once, every learner's
  events split between them (course A through one, course B through the other), so a
  lost update would leave a learner without the A-and-B badge;
- at the end: exactly one award per learner and badge, progress complete, and exactly
  one Credly badge per award, issued by whichever worker claimed it.

The test polls the processes it runs (there is no event to await across them)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest
from badgeflow.v1 import event_pb2, progress_pb2, provider_pb2
from badgeflow_client import BadgeflowClient, payload_json

from server.providers.base import ProviderBadge
from server.providers.credly import CredlyClient
from server.providers.emulator import DEMO_CREDLY_ORG_ID, DEMO_CREDLY_TOKEN
from tests.service.serverproc import ServerProcess, start_server

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

LEARNERS = 1_000
COURSES = 18  # distinct "other" courses per learner, besides A and B
PASSED = "org.openedx.learning.course.passing.status.updated.v1"
BOTH = "00000000-0000-4000-8000-000000000001"  # allows duplicate badges: only we prevent them
TEN = "00000000-0000-4000-8000-000000000002"
RULES = f"""
badge "a-and-b" {{
    template credly "{BOTH}"
    require a: on course_passed where is_passing and course.course_key == "A"
    require b: on course_passed where is_passing and course.course_key == "B"
}}
badge "ten-courses" {{
    template credly "{TEN}"
    require count distinct course.course_key >= 10 of (on course_passed where is_passing)
}}
"""
DEADLINE = 180.0
POLL = 0.2


def _event(event_id: str, learner: str, course: str) -> event_pb2.Event:
    who = event_pb2.Learner(
        id=learner, email=f"{learner}@example.org", first_name="Learner", last_name=learner
    )
    payload = payload_json({"is_passing": True, "course": {"course_key": course}})
    return event_pb2.Event(id=event_id, type=PASSED, learner=who, payload_json=payload)


def _split_events() -> tuple[list[event_pb2.Event], list[event_pb2.Event]]:
    """Each learner's 20 events, half through each replica, in rounds over all 1,000
    learners: first A through one replica while B goes through the other, then the
    other courses. Every batch of one stream shares learners with the batches the other
    replica commits at the same moment, so an unlocked read-modify-write loses updates."""
    first: list[event_pb2.Event] = []
    second: list[event_pb2.Event] = []
    for r in range(COURSES // 2 + 1):
        for n in range(LEARNERS):
            learner = f"learner-{n}"
            if r == 0:
                first.append(_event(f"a-{n}", learner, "A"))
                second.append(_event(f"b-{n}", learner, "B"))
            else:
                first.append(_event(f"c{2 * r - 1}-{n}", learner, f"C{2 * r - 1}"))
                second.append(_event(f"c{2 * r - 2}-{n}", learner, f"C{2 * r - 2}"))
    return first, second


def _stream(target: str, events: list[event_pb2.Event], outcomes: Counter[int]) -> None:
    with BadgeflowClient(target, timeout=120) as client:
        outcomes.update(r.outcome for r in client.stream_events(events, batch_size=100))


def _wait(what: str, check) -> None:  # noqa: ANN001 - a zero-argument predicate
    until = time.monotonic() + DEADLINE
    while not check():
        assert time.monotonic() < until, f"timed out waiting for {what}"
        time.sleep(POLL)


def _follows(target: str, probe: int) -> bool:
    """Whether the replica now counts events for the A-and-B badge (a probe learner, who
    never completes a badge)."""
    with BadgeflowClient(target) as client:
        client.publish_events([_event(f"probe-{probe}", f"probe-{probe}", "A")])
        progress = client.learner_progress(f"probe-{probe}").progress
    return any(p.template_id == f"credly:{BOTH}" for p in progress)


def _unfinished(target: str) -> int:
    """Issuances pending or failed (listed by state: a listing holds at most 1,000)."""
    with BadgeflowClient(target) as client:
        states = (provider_pb2.ISSUANCE_STATE_PENDING, provider_pb2.ISSUANCE_STATE_FAILED)
        return sum(len(client.list_issuances(state=state, limit=1_000)) for state in states)


def test_two_replicas_give_exactly_one_award_and_badge_per_learner(
    schema_url: str, credly_process: Callable[..., str]
) -> None:
    credly_url = credly_process("--latency-ms", "5")
    settings = {"replica_sync_seconds": "0.2", "reconcile_interval_seconds": "0"}
    replicas: list[ServerProcess] = [start_server(schema_url, **settings) for _ in range(2)]
    try:
        one, two = (r.target for r in replicas)
        with BadgeflowClient(one) as client:
            client.connect_provider(
                "credly", DEMO_CREDLY_ORG_ID, DEMO_CREDLY_TOKEN, base_url=credly_url
            )
            client.apply_rules({"replicas.badge": RULES})
            client.activate_template(f"credly:{BOTH}")
            client.activate_template(f"credly:{TEN}")
        probes = iter(range(1_000))
        _wait(
            "replica 2 to follow the rules applied on replica 1",
            lambda: _follows(two, next(probes)),
        )

        first, second = _split_events()
        outcomes: Counter[int] = Counter()
        started = time.perf_counter()
        threads = [
            threading.Thread(target=_stream, args=(target, events, outcomes))
            for target, events in ((one, first), (two, second))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        ingest_s = time.perf_counter() - started
        assert outcomes == {event_pb2.EVENT_OUTCOME_ACCEPTED: 2 * LEARNERS * (COURSES // 2 + 1)}

        expected = 2 * LEARNERS  # both badges for every learner; probes earn neither
        # Ingest is over, so every award and its outbox row exist: wait for the workers.
        _wait("every issuance sent", lambda: _unfinished(one) == 0)
        issue_s = time.perf_counter() - started - ingest_s

        with BadgeflowClient(two) as client:
            for template in (BOTH, TEN):
                records = list(client.template_progress(f"credly:{template}", completed_only=True))
                assert len({r.learner_id for r in records}) == LEARNERS, template
                assert all(r.award.state == progress_pb2.AWARD_STATE_AWARDED for r in records)
    finally:
        for replica in replicas:
            assert replica.terminate() == 0

    badges = _provider_badges(credly_url)
    per_earner = Counter((b.template_external_id, b.recipient_email) for b in badges)
    print(
        f"replicas: {2 * LEARNERS * (COURSES // 2 + 1):,} events in {ingest_s:.1f} s, "
        f"{len(badges):,} Credly badges {issue_s:.1f} s later"
    )
    assert len(badges) == expected
    assert set(per_earner.values()) == {1}
    assert {t for t, _ in per_earner} == {BOTH, TEN}


def _provider_badges(credly_url: str) -> list[ProviderBadge]:
    async def fetch() -> list[ProviderBadge]:
        client = CredlyClient(DEMO_CREDLY_ORG_ID, DEMO_CREDLY_TOKEN, base_url=credly_url)
        try:
            return [b async for b in client.badges(None)]
        finally:
            await client.aclose()

    return asyncio.run(fetch())
