"""Scenario (d): issuance to the emulator — awards become provider badges through the
issuance worker (the server's own settings: retries with back-off and Retry-After, a
circuit breaker, 8 calls at a time) over real HTTP on loopback.

The awards are made the real way (a server process ingests one passing event per
learner, its own worker off), then the worker drains the outbox in this process against
the emulator, twice: with no faults (the baseline), and on a bad day (5xx answers, 429s
with Retry-After, connections dropped after the badge was made). Either way exactly one
provider badge per award must exist at the end."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from badgeflow.v1 import event_pb2
from badgeflow_client import BadgeflowClient, payload_json

from bench.context import Context
from bench.measure import progress
from bench.provisioning import running_server
from bench.workloads import PASSED
from server.domain import OutboxState
from server.providers.base import BadgeProvider
from server.providers.credly import CredlyClient
from server.providers.emulator import EmulatorServer, EmulatorState, Faults
from server.store import list_outbox, make_session_factory
from server.store.db import create_engine_for
from server.transactions import TransactionRunner
from server.worker.issuance import IssuanceWorker

__all__ = ["FAULTS", "run"]

FAULTS = {"error_rate": 0.1, "rate_limit_rate": 0.02, "retry_after_seconds": 1, "drop_rate": 0.02}
QUICK_FAULTS = {"error_next": 1, "drop_next": 1}
COURSE = "course-v1:Bench+Issuance+R"
_POLL = 0.05  # seconds between looks at the outbox when nothing is due


class _OneConnection:
    """Routes every template to the emulated Credly organisation."""

    def __init__(self, client: BadgeProvider) -> None:
        self.client = client

    def for_template(self, template_id: str) -> tuple[str, BadgeProvider] | None:
        return "credly:bench", self.client


def run(ctx: Context) -> dict[str, Any]:
    awards = 20 if ctx.quick else 1_000
    # --quick: one 5xx and one dropped connection, so the retry and look-up paths run
    # without random back-offs stretching the smoke test.
    faults = FAULTS if not ctx.quick else QUICK_FAULTS
    clean = _measure(ctx, awards, "clean", Faults())
    faulty = _measure(ctx, awards, "faulty", Faults(seed=11, **faults))
    return {
        "name": "issuance",
        "awards": awards,
        "worker": "IssuanceWorker with the server's defaults",
        "faults": faults,
        "no_faults": clean,
        "with_faults": faulty,
        "throughput_with_faults_vs_without": round(
            faulty["badges_per_s"] / clean["badges_per_s"], 3
        ),
    }


def _measure(ctx: Context, awards: int, name: str, faults: Faults) -> dict[str, Any]:
    with ctx.database("sqlite", f"issuance-{name}") as url:
        return asyncio.run(_issue(url, awards, faults))


async def _issue(url: str, awards: int, faults: Faults) -> dict[str, Any]:
    async with EmulatorServer(EmulatorState(), faults) as emulator:
        org = emulator.state.credly.add_organization("Bench Academy")
        template = emulator.state.credly.add_template(org.id, "Bench badge")
        progress(f"{awards:,} awards for credly:{template.id}")
        await asyncio.to_thread(_award, url, template.id, awards)
        client = CredlyClient(org.id, org.token, base_url=emulator.credly_url)
        try:
            seconds, states = await _drain(url, client)
        finally:
            await client.aclose()
        badges = emulator.state.credly_badges(org.id)
        return {
            "badges_per_s": round(awards / seconds, 1),
            "seconds": round(seconds, 2),
            "provider_badges": len(badges),
            "exactly_one_badge_per_award": len(badges) == awards and states == {"sent": awards},
            "outbox_states": states,
            "faults_injected": dict(emulator.faults.injected),
        }


def _award(url: str, template_external_id: str, awards: int) -> None:
    rules = (
        f'badge "issued" {{\n    template credly "{template_external_id}"\n'
        f'    require on course_passed where is_passing and course.course_key == "{COURSE}"\n}}\n'
    )
    with running_server(url) as server, BadgeflowClient(server.target, timeout=120) as client:
        client.apply_rules({"issuance.badge": rules})
        client.activate_template(f"credly:{template_external_id}")
        results = list(client.stream_events(_passing_events(awards)))
    if any(r.outcome != event_pb2.EVENT_OUTCOME_ACCEPTED for r in results):
        raise RuntimeError("an award event was not accepted")


def _passing_events(count: int) -> list[event_pb2.Event]:
    events = []
    for i in range(count):
        payload = payload_json({"is_passing": True, "course": {"course_key": COURSE}})
        learner = event_pb2.Learner(
            id=f"earner-{i}", email=f"earner-{i}@example.org", first_name="Earner", last_name=str(i)
        )
        event = event_pb2.Event(id=f"is-{i}", type=PASSED, learner=learner, payload_json=payload)
        events.append(event)
    return events


async def _drain(url: str, client: BadgeProvider) -> tuple[float, dict[str, int]]:
    """Run the worker until no outbox row is pending; seconds taken and final states."""
    engine = create_engine_for(url)
    runner = TransactionRunner(make_session_factory(engine))
    worker = IssuanceWorker(runner, _OneConnection(client))
    try:
        start = time.perf_counter()
        while True:
            if await worker.run_once():
                continue
            items = await runner.read(list_outbox)
            if not any(i.state is OutboxState.PENDING for i in items):
                break
            await asyncio.sleep(_POLL)
        seconds = time.perf_counter() - start
    finally:
        runner.close()
        engine.dispose()
    states: dict[str, int] = {}
    for item in items:
        states[item.state.value] = states.get(item.state.value, 0) + 1
    return seconds, states
