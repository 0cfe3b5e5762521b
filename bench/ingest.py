"""Scenario: ingest end to end — a client streams batches of 100 events to a real server
(separate process, SQLite), which evaluates, persists progress and awards, and acks —
against the null sink (same protocol and batching, no work)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc
from badgeflow.v1 import (
    event_pb2,
    event_service_pb2,
    event_service_pb2_grpc,
    rule_service_pb2,
    rule_service_pb2_grpc,
    rules_pb2,
    template_service_pb2,
    template_service_pb2_grpc,
)
from google.protobuf import struct_pb2

from tests.service.serverproc import start_server

BATCH = 100
RULES = """
badge "a-and-b" {
    template credly "bench"
    require on course_passed where is_passing and course.course_key == "A"
    require on course_passed where is_passing and course.course_key == "B"
}
"""


def _events(count: int, learners: int) -> list[event_pb2.Event]:
    events = []
    for i in range(count):
        payload = struct_pb2.Struct()
        payload.update({"is_passing": True, "course": {"course_key": "AB"[i // learners % 2]}})
        learner = event_pb2.Learner(
            id=f"learner-{i % learners}", email=f"l{i % learners}@example.org"
        )
        events.append(
            event_pb2.Event(
                id=f"ev-{i}",
                type="org.openedx.learning.course.passing.status.updated.v1",
                learner=learner,
                payload=payload,
            )
        )
    return events


def _stream(target: str, events: list[event_pb2.Event]) -> dict[str, Any]:
    sent_at: dict[int, float] = {}

    def batches():  # noqa: ANN202
        for seq, start in enumerate(range(0, len(events), BATCH), 1):
            sent_at[seq] = time.perf_counter()
            yield event_service_pb2.StreamEventsRequest(
                sequence=seq, events=events[start : start + BATCH]
            )

    latencies = []
    with grpc.insecure_channel(target) as channel:
        stub = event_service_pb2_grpc.EventServiceStub(channel)
        start = time.perf_counter()
        acked = 0
        for reply in stub.StreamEvents(batches()):
            latencies.append(time.perf_counter() - sent_at[reply.sequence])
            acked += sum(1 for r in reply.results if r.outcome == event_pb2.EVENT_OUTCOME_ACCEPTED)
        elapsed = time.perf_counter() - start
    assert acked == len(events), f"only {acked} of {len(events)} accepted"
    latencies.sort()
    return {
        "events_per_s": round(len(events) / elapsed),
        "ack_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "ack_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
    }


def _prepare(target: str) -> None:
    with grpc.insecure_channel(target) as channel:
        rule_service_pb2_grpc.RuleServiceStub(channel).ApplyRules(
            rule_service_pb2.ApplyRulesRequest(
                files=[rules_pb2.RuleFile(name="bench.badge", content=RULES)]
            )
        )
        template_service_pb2_grpc.TemplateServiceStub(channel).ActivateTemplate(
            template_service_pb2.ActivateTemplateRequest(template_id="credly:bench")
        )


def _null_sink() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.null_sink"], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    return proc, f"127.0.0.1:{proc.stdout.readline().strip()}"


def run(quick: bool) -> dict[str, Any]:
    count = 2_000 if quick else 20_000
    events = _events(count, learners=count // 2)
    sink, sink_target = _null_sink()
    try:
        baseline = _stream(sink_target, events)
    finally:
        sink.terminate()
        sink.wait(30)
        if sink.stdout is not None:
            sink.stdout.close()
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(f"sqlite:///{Path(tmp) / 'bench.db'}")
        try:
            _prepare(server.target)
            ours = _stream(server.target, events)
        finally:
            server.terminate()
    return {
        "name": "ingest_sqlite",
        "events": count,
        "batch": BATCH,
        "null_sink": baseline,
        "badgeflow": ours,
        "throughput_vs_null_sink": round(ours["events_per_s"] / baseline["events_per_s"], 3),
    }
