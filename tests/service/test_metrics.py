"""Metrics and request ids through a real server: events, awards and issuance calls,
then `GET /metrics` over real HTTP, with exact values."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import httpx
import pytest
from badgeflow.v1 import (
    event_pb2,
    event_service_pb2,
    rule_service_pb2,
    rules_pb2,
    template_service_pb2,
)
from prometheus_client.parser import text_string_to_metric_families

from server.app import App, build_server
from server.logs import RequestIdFilter
from server.settings import Settings
from server.worker.issuance import IssuanceWorker
from tests.conftest import TEST_SECRET_KEY
from tests.service.stubs import DEMO_RULES, apply_and_activate, passed, stubs

CREDLY_TEMPLATE = "00000000-0000-4000-8000-000000000002"
CREDLY_RULES = (
    f'badge "skill" {{\n template credly "{CREDLY_TEMPLATE}"\n'
    " require on course_passed where is_passing\n}\n"
)

PENALTY_RULES = (
    f'badge "skill" {{\n template credly "{CREDLY_TEMPLATE}"\n'
    " require pass: on course_passed where is_passing\n"
    " penalty on course_passed where is_passing == false resets pass\n}\n"
)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "grpc_port": 0,
        "http_port": 0,
        "database_url": f"sqlite:///{tmp_path / 'metrics.db'}",
        "secret_key": TEST_SECRET_KEY,
        "issuance_worker": False,
        "reconcile_interval_seconds": 0,
        "replica_sync_seconds": 0,
        "shutdown_grace_seconds": 1.0,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def quiet_app(tmp_path: Path) -> AsyncIterator[App]:
    """No worker, no emulator: the outbox keeps what awards write."""
    app = await build_server(_settings(tmp_path))
    try:
        yield app
    finally:
        await app.stop(1.0)


@pytest.fixture
async def demo_app(tmp_path: Path) -> AsyncIterator[App]:
    app = await build_server(_settings(tmp_path, provider_emulator="demo"))
    try:
        yield app
    finally:
        await app.stop(1.0)


async def scrape(app: App) -> tuple[httpx.Response, Samples]:
    assert app.providers.http is not None
    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{app.providers.http.port}/metrics")
    samples = {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }
    return response, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def no_learner(event_id: str) -> event_pb2.Event:
    event = passed(event_id, "x")
    event.ClearField("learner")
    return event


async def test_events_awards_batches_and_outbox_are_counted(quiet_app: App) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{quiet_app.port}") as channel:
        s = stubs(channel)
        await apply_and_activate(s)
        await s.events.PublishEvents(
            event_service_pb2.PublishEventsRequest(
                events=[passed("e1", "ada"), passed("e2", "ben", passing=False), no_learner("e3")]
            )
        )
        await s.events.PublishEvents(
            event_service_pb2.PublishEventsRequest(events=[passed("e1", "ada")])
        )
    response, samples = await scrape(quiet_app)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    events = {
        (dict(labels)["outcome"], dict(labels)["reason_code"]): v
        for (name, labels), v in samples.items()
        if name == "badgeflow_events_total"
    }
    assert events == {
        ("accepted", ""): 2.0,
        ("duplicate", ""): 1.0,
        ("rejected", "MISSING_LEARNER"): 1.0,
    }
    assert value(samples, "badgeflow_award_changes_total", kind="awarded") == 1.0
    assert [
        value(samples, "badgeflow_outbox_items", state=state)
        for state in ("pending", "sent", "failed")
    ] == [1.0, 0.0, 0.0]
    assert value(samples, "badgeflow_event_batch_duration_seconds_count") == 2.0
    assert value(samples, "badgeflow_ingest_group_duration_seconds_count") == 2.0
    assert value(samples, "badgeflow_rule_evaluation_duration_seconds_count") == 2.0
    assert value(samples, "badgeflow_rules_version") == 1.0
    assert value(samples, "badgeflow_active_templates") == 1.0
    assert value(samples, "badgeflow_database_up") == 1.0


async def test_a_revocation_is_counted_as_revoked(quiet_app: App) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{quiet_app.port}") as channel:
        s = stubs(channel)
        await apply_and_activate(s, PENALTY_RULES, f"credly:{CREDLY_TEMPLATE}")
        for event in (passed("e1", "ada"), passed("e2", "ada", passing=False)):
            await s.events.PublishEvents(event_service_pb2.PublishEventsRequest(events=[event]))
    _, samples = await scrape(quiet_app)
    assert [
        value(samples, "badgeflow_award_changes_total", kind=kind)
        for kind in ("awarded", "revoked")
    ] == [1.0, 1.0]


async def test_issuance_calls_are_timed_by_provider_and_outcome(demo_app: App) -> None:
    emulator = demo_app.providers.emulator
    assert emulator is not None and demo_app.metrics is not None
    async with grpc.aio.insecure_channel(f"127.0.0.1:{demo_app.port}") as channel:
        s = stubs(channel)
        await apply_and_activate(s, CREDLY_RULES, f"credly:{CREDLY_TEMPLATE}")
        await s.events.PublishEvents(
            event_service_pb2.PublishEventsRequest(
                events=[passed("e1", "ada"), passed("e2", "ben"), passed("e3", "cy")]
            )
        )
    emulator.faults.error_next = 1  # type: ignore[attr-defined]
    worker = IssuanceWorker(
        demo_app.runner,
        demo_app.providers.registry,
        breaker=demo_app.providers.breaker,
        metrics=demo_app.metrics,
        concurrency=1,
    )
    assert await worker.run_once() == 3
    _, samples = await scrape(demo_app)

    calls = "badgeflow_issuance_call_duration_seconds_count"
    assert value(samples, calls, provider="credly", outcome="sent") == 2.0
    assert value(samples, calls, provider="credly", outcome="transport_error") == 1.0
    assert [
        value(samples, "badgeflow_outbox_items", state=state)
        for state in ("pending", "sent", "failed")
    ] == [1.0, 2.0, 0.0]
    assert (
        value(
            samples,
            "badgeflow_provider_circuit_state",
            connection_id="credly:7d3c1f0e-5b1a-4c47-9a51-0e2f3b6d8a10",
            provider="credly",
            state="closed",
        )
        == 1.0
    )


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        pytest.param((("x-request-id", "deploy-42"),), "deploy-42", id="from-the-caller"),
        pytest.param((("x-request-id", "not sane!"),), None, id="insane-replaced"),
        pytest.param((), None, id="generated"),
    ],
)
async def test_every_rpc_gets_a_request_id_back(
    quiet_app: App, sent: tuple[tuple[str, str], ...], expected: str | None
) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{quiet_app.port}") as channel:
        call = stubs(channel).templates.ListTemplates(
            template_service_pb2.ListTemplatesRequest(), metadata=sent
        )
        await call
        trailers = dict(await call.trailing_metadata())
    got = trailers["x-request-id"]
    if expected is None:
        assert len(got) == 24 and all(c in "0123456789abcdef" for c in got)
    else:
        assert got == expected


async def test_an_error_keeps_its_details_and_carries_the_request_id(quiet_app: App) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{quiet_app.port}") as channel:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await stubs(channel).templates.GetTemplate(
                template_service_pb2.GetTemplateRequest(template_id="credly:nope"),
                metadata=(("x-request-id", "req-404"),),
            )
    trailers = dict(raised.value.trailing_metadata())
    assert raised.value.code() is grpc.StatusCode.NOT_FOUND
    assert trailers["x-request-id"] == "req-404"
    assert "grpc-status-details-bin" in trailers


async def test_log_lines_of_an_rpc_carry_its_request_id(
    quiet_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="badgeflow")
    caplog.handler.addFilter(RequestIdFilter())
    async with grpc.aio.insecure_channel(f"127.0.0.1:{quiet_app.port}") as channel:
        s = stubs(channel)
        await s.rules.ApplyRules(
            rule_service_pb2.ApplyRulesRequest(
                files=[rules_pb2.RuleFile(name="demo.badge", content=DEMO_RULES)]
            ),
            metadata=(("x-request-id", "apply-1"),),
        )
        await s.events.PublishEvents(
            event_service_pb2.PublishEventsRequest(events=[no_learner("bad")]),
            metadata=(("x-request-id", "publish-1"),),
        )
    lines = {
        (r.getMessage(), getattr(r, "request_id", None))
        for r in caplog.records
        if r.getMessage() in ("rules in force", "event rejected")
    }
    assert lines == {("rules in force", "apply-1"), ("event rejected", "publish-1")}
