"""Metrics, request ids, log stamping and circuit states, without I/O."""

from __future__ import annotations

import json
import logging

import pytest

from server.engine.events import EventAck, Outcome
from server.health import CircuitState, ReportingCircuitBreaker
from server.logs import JsonFormatter, RequestIdFilter, current_request_id
from server.metrics import Metrics
from server.request_ids import request_id_from


def test_acks_are_counted_by_outcome_and_reason_code() -> None:
    metrics = Metrics()
    metrics.count_acks(
        [
            EventAck("a", Outcome.ACCEPTED),
            EventAck("b", Outcome.ACCEPTED),
            EventAck("c", Outcome.DUPLICATE),
            EventAck("d", Outcome.REJECTED, "MISSING_LEARNER", "no learner"),
        ]
    )
    counted = {
        (sample.labels["outcome"], sample.labels["reason_code"]): sample.value
        for family in metrics.registry.collect()
        for sample in family.samples
        if sample.name == "badgeflow_events_total"
    }
    assert counted == {
        ("accepted", ""): 2.0,
        ("duplicate", ""): 1.0,
        ("rejected", "MISSING_LEARNER"): 1.0,
    }


def test_two_servers_in_one_process_count_apart() -> None:
    first, second = Metrics(), Metrics()
    first.count_acks([EventAck("a", Outcome.ACCEPTED)])
    assert (
        first.registry.get_sample_value(
            "badgeflow_events_total", {"outcome": "accepted", "reason_code": ""}
        )
        == 1.0
    )
    assert (
        second.registry.get_sample_value(
            "badgeflow_events_total", {"outcome": "accepted", "reason_code": ""}
        )
        is None
    )


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        pytest.param((("x-request-id", "abc-123"),), "abc-123", id="sane"),
        pytest.param((("x-request-id", b"bytes.id"),), "bytes.id", id="bytes"),
        pytest.param((("x-request-id", "a" * 128),), "a" * 128, id="longest"),
        pytest.param((("x-request-id", "a" * 129),), None, id="too-long"),
        pytest.param((("x-request-id", "has space"),), None, id="space"),
        pytest.param((("x-request-id", "-leading"),), None, id="leading-dash"),
        pytest.param((("x-request-id", "a"), ("x-request-id", "b")), None, id="two"),
        pytest.param((("other", "x"),), None, id="absent"),
        pytest.param(None, None, id="no-metadata"),
    ],
)
def test_a_request_id_is_the_callers_when_sane(
    metadata: tuple[tuple[str, str | bytes], ...] | None, expected: str | None
) -> None:
    got = request_id_from(metadata)
    if expected is None:
        assert len(got) == 24 and set(got) <= set("0123456789abcdef")
    else:
        assert got == expected


def _record(**extra: object) -> logging.LogRecord:
    record = logging.makeLogRecord({"name": "badgeflow.test", "msg": "hello", **extra})
    RequestIdFilter().filter(record)
    return record


def test_records_logged_during_an_rpc_carry_its_request_id() -> None:
    token = current_request_id.set("req-7")
    try:
        inside, own = _record(), _record(request_id="batch-owner")
    finally:
        current_request_id.reset(token)
    outside = _record()
    assert json.loads(JsonFormatter().format(inside))["request_id"] == "req-7"
    assert (own.request_id, hasattr(outside, "request_id")) == ("batch-owner", False)


def test_a_circuit_goes_closed_open_half_open_closed() -> None:
    now = [0.0]
    breaker = ReportingCircuitBreaker(clock=lambda: now[0], threshold=2, cooldown=30.0)
    states = [breaker.state("c")]
    breaker.failure("c")
    states.append(breaker.state("c"))
    breaker.failure("c")
    states.append(breaker.state("c"))
    now[0] = 31.0
    states.append(breaker.state("c"))
    breaker.success("c")
    states.append(breaker.state("c"))
    assert states == [
        CircuitState.CLOSED,
        CircuitState.CLOSED,
        CircuitState.OPEN,
        CircuitState.HALF_OPEN,
        CircuitState.CLOSED,
    ]
