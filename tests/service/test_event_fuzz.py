"""Fuzzing the event entry point: random, often hostile batches sent to a real server
(`python -m server` on SQLite, and on PostgreSQL when configured) must each get exactly
one ack per event, in order, with a known reason for every rejection, and never an
RPC error; and a second send of the same batch must find every accepted event already
stored and reject the rejected ones again for the same reason (nothing half-applied)."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from badgeflow.v1 import event_pb2
from badgeflow_client import BadgeflowClient
from google.protobuf import struct_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import make_url

from server.store.db import create_engine_for
from tests.service.serverproc import ServerProcess, start_server
from tests.store.backends import postgres_url

PASSED = "org.openedx.learning.course.passing.status.updated.v1"
GRADED = "badgeflow.generic.quiz.graded.v1"
RULES = """
badge "fuzz-pass" {
    template credly "fuzz-pass"
    require on course_passed where is_passing and course.course_key == "C1"
    penalty on course_passed where not is_passing and course.course_key == "C1" resets all
}
badge "fuzz-count" {
    template credly "fuzz-count"
    require count distinct course.course_key >= 2 of (on course_passed where is_passing)
        within 30 days
    repeatable
}
"""
TEMPLATES = ("credly:fuzz-pass", "credly:fuzz-count")
REASON_CODES = {
    "MISSING_EVENT_ID",
    "EVENT_ID_TOO_LONG",
    "MISSING_EVENT_TYPE",
    "EVENT_TYPE_TOO_LONG",
    "MISSING_LEARNER",
    "LEARNER_ID_TOO_LONG",
    "INVALID_TEXT",
    "TEXT_TOO_LONG",
    "INVALID_PAYLOAD",
    "PAYLOAD_TOO_DEEP",
    "PAYLOAD_TOO_LARGE",
    "INVALID_OCCURRED_AT",
}
FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# ---- strategies ------------------------------------------------------------------------

TEXT = st.one_of(
    st.sampled_from(["", "a", "C1", "C2", "ada", "x" * 300, "nul\x00byte", "caf\u00e9"]),
    st.text(max_size=40),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)),
    max_leaves=20,
)
KEYS = ["C1", "C2", "C3"]
PLAUSIBLE = st.fixed_dictionaries(
    {
        "is_passing": st.one_of(st.booleans(), SCALARS),
        "course": st.one_of(
            st.fixed_dictionaries(
                {"course_key": st.one_of(st.sampled_from(["C1", "C2"]), SCALARS)}
            ),
            SCALARS,
        ),
    }
)


@st.composite
def payload_json(draw: st.DrawFn) -> bytes:
    kinds = ["json", "ascii", "garbage", "deep", "not-object", "lone-surrogate", "nul"]
    kind = draw(st.sampled_from(kinds))
    if kind == "lone-surrogate":
        return b'{"course": {"course_key": "\\ud800"}}'
    if kind == "nul":
        return b'{"is_passing": true, "k\\u0000": 1}'
    if kind == "garbage":
        return draw(st.binary(min_size=1, max_size=60))
    if kind == "deep":
        depth = draw(st.integers(1, 3000))
        return b'{"a":' + b"[" * depth + b"]" * depth + b"}"
    value = draw(st.one_of(PLAUSIBLE, st.dictionaries(TEXT, JSON_VALUES, max_size=5)))
    if kind == "not-object":
        value = draw(JSON_VALUES)
    text = json.dumps(value, ensure_ascii=kind == "ascii")
    return text.encode("utf-8", "surrogatepass")


@st.composite
def events(draw: st.DrawFn) -> event_pb2.Event:
    event = event_pb2.Event(
        id=draw(st.one_of(st.uuids().map(str), TEXT)),
        type=draw(st.one_of(st.sampled_from([PASSED, GRADED]), TEXT)),
        source=draw(TEXT),
    )
    if draw(st.booleans()):
        event.learner.CopyFrom(
            event_pb2.Learner(
                id=draw(st.one_of(st.sampled_from(["ada", "bo"]), TEXT)),
                email=draw(TEXT),
                first_name=draw(TEXT),
                last_name=draw(TEXT),
            )
        )
    if draw(st.booleans()):
        event.occurred_at.seconds = draw(st.integers(-(2**40), 2**40))
        event.occurred_at.nanos = draw(st.integers(-5, 1_500_000_000))
    if draw(st.booleans()):
        event.payload_json = draw(payload_json())
    if draw(st.booleans()):
        _fill_struct(event.payload, draw(st.one_of(PLAUSIBLE, st.dictionaries(TEXT, JSON_VALUES))))
    return event


def _fill_struct(struct: struct_pb2.Struct, value: dict[str, Any]) -> None:
    # A Struct holds numbers as doubles: integers past 2**63 cannot go in at all.
    struct.update(_as_doubles(value))


def _as_doubles(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value) if math.isfinite(float(value)) else value
    if isinstance(value, list):
        return [_as_doubles(v) for v in value]
    return {k: _as_doubles(v) for k, v in value.items()}


# ---- servers ---------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    with _database(request.param, tmp_path_factory.mktemp("fuzz")) as url:
        proc = start_server(url, issuance_worker="false")
        try:
            with BadgeflowClient(proc.target) as client:
                client.apply_rules({"fuzz.badge": RULES})
                for template in TEMPLATES:
                    client.activate_template(template)
            yield proc
        finally:
            assert proc.terminate() == 0


class _database:
    """A fresh SQLite file, or a fresh PostgreSQL schema (dropped afterwards)."""

    def __init__(self, backend: str, folder: Path) -> None:
        self.backend, self.folder = backend, folder
        self.schema = f"fuzz_{uuid.uuid4().hex[:12]}"

    def __enter__(self) -> str:
        if self.backend == "sqlite":
            return f"sqlite:///{self.folder / 'fuzz.db'}"
        base = postgres_url()  # skips the PostgreSQL run when none is configured
        _admin(f'CREATE SCHEMA "{self.schema}"')
        return (
            make_url(base)
            .update_query_dict({"options": f"-csearch_path={self.schema}"})
            .render_as_string(hide_password=False)
        )

    def __exit__(self, *_: object) -> None:
        if self.backend != "sqlite":
            _admin(f'DROP SCHEMA "{self.schema}" CASCADE')


def _admin(statement: str) -> None:
    engine = create_engine_for(postgres_url())
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(statement)
    finally:
        engine.dispose()


# ---- the property ----------------------------------------------------------------------


@FUZZ
@given(batch=st.lists(events(), min_size=1, max_size=12))
def test_every_event_gets_one_known_ack_and_a_resend_changes_nothing(
    server: ServerProcess, batch: list[event_pb2.Event]
) -> None:
    with BadgeflowClient(server.target) as client:
        first = client.publish_events(batch)
        again = client.publish_events(batch)
    assert [r.event_id for r in first] == [e.id for e in batch]
    for result in first:
        if result.outcome == event_pb2.EVENT_OUTCOME_REJECTED:
            assert result.reason_code in REASON_CODES, result
            assert result.reason
        else:
            assert result.outcome in (
                event_pb2.EVENT_OUTCOME_ACCEPTED,
                event_pb2.EVENT_OUTCOME_DUPLICATE,
            )
    for before, after in zip(first, again, strict=True):
        if before.outcome == event_pb2.EVENT_OUTCOME_REJECTED:
            assert (after.outcome, after.reason_code) == (before.outcome, before.reason_code)
        else:
            assert after.outcome == event_pb2.EVENT_OUTCOME_DUPLICATE
