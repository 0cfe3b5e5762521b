"""The server end to end over real gRPC on a real port: health, reflection, rich errors,
rules → activation → events → awards."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import grpc
import pytest
from badgeflow.v1 import (
    event_pb2,
    event_service_pb2,
    progress_pb2,
    progress_service_pb2,
    rule_service_pb2,
    rules_pb2,
    template_service_pb2,
)
from google.protobuf import json_format
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from server.app import SERVICE_NAMES, App
from tests.service.stubs import (
    DEMO_COURSE,
    DEMO_RULES,
    DEMO_TEMPLATE,
    Stubs,
    apply_and_activate,
    passed,
    rich_status,
    stubs,
    undecodable_events,
    unpack,
)

REJECTED = event_pb2.EVENT_OUTCOME_REJECTED


@pytest.fixture
async def s(target: str) -> AsyncIterator[Stubs]:
    async with grpc.aio.insecure_channel(target) as channel:
        yield stubs(channel)


async def test_health_reports_serving_for_every_service(s: Stubs) -> None:
    health = health_pb2_grpc.HealthStub(s.channel)
    for name in ("", *SERVICE_NAMES):
        reply = await health.Check(health_pb2.HealthCheckRequest(service=name))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING, name


async def test_reflection_lists_the_services(s: Stubs) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(s.channel)
    call = stub.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    )
    async for reply in call:
        names = {svc.name for svc in reply.list_services_response.service}
        break
    assert names >= {
        *SERVICE_NAMES,
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    }
    assert "badgeflow.v1.EventService" in names


async def test_unknown_template_is_not_found_with_a_reason(s: Stubs) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await s.templates.GetTemplate(
            template_service_pb2.GetTemplateRequest(template_id="credly:nope")
        )
    assert caught.value.code() is grpc.StatusCode.NOT_FOUND
    info = unpack(rich_status(caught.value), error_details_pb2.ErrorInfo)
    assert (info.reason, info.domain, dict(info.metadata)) == (
        "TEMPLATE_NOT_FOUND",
        "badgeflow",
        {"template_id": "credly:nope"},
    )


async def test_bad_rules_are_invalid_argument_with_every_diagnostic(s: Stubs) -> None:
    text = (
        'badge "x" {\n    template credly "t"\n'
        "    require on course_passed where is_pasing == true and score == 1\n}\n"
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await s.rules.ApplyRules(
            rule_service_pb2.ApplyRulesRequest(
                files=[rules_pb2.RuleFile(name="bad.badge", content=text)]
            )
        )
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    status = rich_status(caught.value)
    diagnostics = unpack(status, rules_pb2.RuleDiagnostics).diagnostics
    assert len(diagnostics) == 2
    assert [(d.span.line, d.span.column) for d in diagnostics] == [(3, 36), (3, 58)]
    assert "did you mean 'is_passing'" in diagnostics[0].hint
    violations = unpack(status, error_details_pb2.BadRequest).field_violations
    assert [v.field for v in violations] == ["rules", "rules"]
    assert violations[0].description.startswith("bad.badge:3:36: error[")
    reply = await s.rules.GetRules(rule_service_pb2.GetRulesRequest())
    assert reply.version == 0  # nothing applied


async def test_new_templates_start_inactive_and_activation_needs_requirements(s: Stubs) -> None:
    applied = await s.rules.ApplyRules(
        rule_service_pb2.ApplyRulesRequest(
            files=[rules_pb2.RuleFile(name="demo.badge", content=DEMO_RULES)]
        )
    )
    assert (applied.version, list(applied.created_template_ids)) == (1, [DEMO_TEMPLATE])
    got = await s.templates.GetTemplate(
        template_service_pb2.GetTemplateRequest(template_id=DEMO_TEMPLATE)
    )
    assert (got.template.active, got.template.badge) == (False, "demo-graduate")
    # A second apply without the badge unbinds the template; activating it must fail.
    emptied = await s.rules.ApplyRules(
        rule_service_pb2.ApplyRulesRequest(files=[], expected_version=1)
    )
    assert list(emptied.unbound_template_ids) == [DEMO_TEMPLATE]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await s.templates.ActivateTemplate(
            template_service_pb2.ActivateTemplateRequest(template_id=DEMO_TEMPLATE)
        )
    assert caught.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    failure = unpack(rich_status(caught.value), error_details_pb2.PreconditionFailure)
    assert failure.violations[0].type == "TEMPLATE_HAS_NO_REQUIREMENTS"


async def test_stale_expected_version_is_refused(s: Stubs) -> None:
    request = rule_service_pb2.ApplyRulesRequest(
        files=[rules_pb2.RuleFile(name="demo.badge", content=DEMO_RULES)], expected_version=7
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await s.rules.ApplyRules(request)
    assert caught.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert (
        unpack(rich_status(caught.value), error_details_pb2.ErrorInfo).reason
        == "STALE_RULES_VERSION"
    )


async def test_streamed_events_award_a_badge_seen_on_watch_and_progress(
    s: Stubs, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="badgeflow.ingest")
    await apply_and_activate(s)
    watch = s.progress.WatchAwards(progress_service_pb2.WatchAwardsRequest(learner_id="ada"))
    assert dict(await watch.initial_metadata())["badgeflow-watch"] == "subscribed"

    batches = [
        event_service_pb2.StreamEventsRequest(
            sequence=1,
            events=[passed("e1", "ada", course="other"), passed("e2", "ada", passing=False)],
        ),
        event_service_pb2.StreamEventsRequest(
            sequence=2,
            events=[passed("e3", "ada"), passed("e3", "ada"), event_pb2.Event(id="e4", type="x")],
        ),
    ]
    acks = [reply async for reply in s.events.StreamEvents(iter(batches))]
    assert [a.sequence for a in acks] == [1, 2]
    assert [r.outcome for r in acks[1].results] == [
        event_pb2.EVENT_OUTCOME_ACCEPTED,
        event_pb2.EVENT_OUTCOME_DUPLICATE,
        event_pb2.EVENT_OUTCOME_REJECTED,
    ]
    assert acks[1].results[2].reason_code == "MISSING_LEARNER"
    rejected = [r for r in caplog.records if r.getMessage() == "event rejected"]
    assert [(r.event_id, r.reason_code) for r in rejected] == [("e4", "MISSING_LEARNER")]

    change = await asyncio.wait_for(watch.read(), timeout=10)
    watch.cancel()
    assert change.kind == progress_pb2.AWARD_EVENT_KIND_AWARDED
    assert (change.award.learner_id, change.award.template_id, list(change.award.event_ids)) == (
        "ada",
        DEMO_TEMPLATE,
        ["e3"],
    )

    progress = await s.progress.GetLearnerProgress(
        progress_service_pb2.GetLearnerProgressRequest(learner_id="ada")
    )
    assert progress.learner.email == "ada@example.org"
    (record,) = progress.progress
    assert (record.fulfilled_groups, record.total_groups, record.percent) == (1, 1, 100.0)
    assert record.award.state == progress_pb2.AWARD_STATE_AWARDED
    assert record.groups[0].requirements[0].event_ids == ["e3"]

    replay = await s.events.PublishEvents(
        event_service_pb2.PublishEventsRequest(events=[passed("e3", "ada")])
    )
    assert [r.outcome for r in replay.results] == [event_pb2.EVENT_OUTCOME_DUPLICATE]


async def test_oversized_batch_is_refused_whole(s: Stubs, app: App) -> None:
    events = [passed(f"e{i}", "ada") for i in range(1001)]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await s.events.PublishEvents(event_service_pb2.PublishEventsRequest(events=events))
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert (
        unpack(rich_status(caught.value), error_details_pb2.ErrorInfo).reason == "BATCH_TOO_LARGE"
    )
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await s.progress.GetLearnerProgress(
            progress_service_pb2.GetLearnerProgressRequest(learner_id="ada")
        )
    assert missing.value.code() is grpc.StatusCode.NOT_FOUND


async def test_template_progress_pages_through_every_learner(s: Stubs) -> None:
    await apply_and_activate(s)
    learners = [f"learner-{i:03d}" for i in range(7)]
    await s.events.PublishEvents(
        event_service_pb2.PublishEventsRequest(
            events=[passed(f"e-{name}", name) for name in learners]
        )
    )
    seen, token = [], ""
    while True:
        page = await s.progress.ListTemplateProgress(
            progress_service_pb2.ListTemplateProgressRequest(
                template_id=DEMO_TEMPLATE, page={"page_size": 3, "page_token": token}
            )
        )
        seen += [r.learner_id for r in page.records]
        token = page.next_page_token
        if not token:
            break
    assert seen == learners


async def test_graceful_stop_finishes_the_in_flight_batch(s: Stubs, app: App) -> None:
    await apply_and_activate(s)
    requests: asyncio.Queue = asyncio.Queue()

    async def feed():  # noqa: ANN202
        while (item := await requests.get()) is not None:
            yield item

    call = s.events.StreamEvents(feed())
    await requests.put(
        event_service_pb2.StreamEventsRequest(sequence=1, events=[passed("g1", "bo")])
    )
    first = await call.read()
    assert first.results[0].outcome == event_pb2.EVENT_OUTCOME_ACCEPTED
    await requests.put(
        event_service_pb2.StreamEventsRequest(sequence=2, events=[passed("g2", "cy")])
    )
    stopping = asyncio.create_task(app.stop(5.0))
    second = await call.read()
    await requests.put(None)
    await stopping
    assert (second.sequence, second.results[0].outcome) == (2, event_pb2.EVENT_OUTCOME_ACCEPTED)
    reply = await app.health.Check(health_pb2.HealthCheckRequest(service=""), None)
    assert reply.status == health_pb2.HealthCheckResponse.NOT_SERVING


async def test_undecodable_events_are_rejected_alone(s: Stubs) -> None:
    await apply_and_activate(s)
    reply = await s.events.PublishEvents(
        event_service_pb2.PublishEventsRequest(events=undecodable_events())
    )
    assert [(r.event_id, r.outcome, r.reason_code) for r in reply.results] == [
        ("bad-nan", event_pb2.EVENT_OUTCOME_REJECTED, "INVALID_PAYLOAD"),
        ("bad-time", event_pb2.EVENT_OUTCOME_REJECTED, "INVALID_OCCURRED_AT"),
        ("good", event_pb2.EVENT_OUTCOME_ACCEPTED, ""),
    ]


def _json_event(event_id: str, payload_json: bytes, struct: dict | None = None) -> event_pb2.Event:
    event = passed(event_id, "ada")
    event.ClearField("payload")
    event.payload_json = payload_json
    if struct is not None:
        event.payload.update(struct)
    return event


async def test_json_payloads_are_evaluated_and_logged_as_sent(s: Stubs) -> None:
    await apply_and_activate(s)
    sent = b'{"is_passing": true, "course": {"course_key": "%s"}, "note": "caf\xc3\xa9"}' % (
        DEMO_COURSE.encode()
    )
    events = [
        _json_event("j-both", b'{"is_passing": true}', struct={"is_passing": True}),
        _json_event("j-list", b"[1, 2]"),
        _json_event("j-nan", b'{"score": NaN}'),
        _json_event("j-utf8", b'{"note": "\xff"}'),
        _json_event("j-broken", b'{"is_passing": tru'),
        _json_event("j-good", sent),
    ]
    reply = await s.events.PublishEvents(event_service_pb2.PublishEventsRequest(events=events))
    assert [(r.event_id, r.outcome, r.reason_code, r.reason) for r in reply.results] == [
        ("j-both", REJECTED, "INVALID_PAYLOAD", "set payload or payload_json, not both"),
        ("j-list", REJECTED, "INVALID_PAYLOAD", "payload_json must be a JSON object ({...})"),
        (
            "j-nan",
            REJECTED,
            "INVALID_PAYLOAD",
            "payload_json is not JSON: NaN is not a JSON number",
        ),
        ("j-utf8", REJECTED, "INVALID_PAYLOAD", "payload_json is not UTF-8"),
        (
            "j-broken",
            REJECTED,
            "INVALID_PAYLOAD",
            "payload_json is not JSON: Expecting value: line 1 column 16 (char 15)",
        ),
        ("j-good", event_pb2.EVENT_OUTCOME_ACCEPTED, "", ""),
    ]
    view = await s.progress.ListLearnerAwards(
        progress_service_pb2.ListLearnerAwardsRequest(learner_id="ada")
    )
    (award,) = view.awards
    (earned_by,) = award.events
    assert (award.award.template_id, earned_by.id) == (DEMO_TEMPLATE, "j-good")
    assert json_format.MessageToDict(earned_by.payload) == {
        "is_passing": True,
        "course": {"course_key": DEMO_COURSE},
        "note": "café",
    }


def _deep_struct(depth: int) -> dict:
    value: dict = {"is_passing": True}
    for _ in range(depth - 1):
        value = {"inner": value}
    return value


async def test_payload_and_text_limits_reject_the_event_alone(s: Stubs) -> None:
    await apply_and_activate(s)
    deep_struct = passed("s-deep", "ada")
    deep_struct.payload.Clear()
    deep_struct.payload.update(_deep_struct(33))
    nul_email = passed("nul-email", "ada")
    nul_email.learner.email = "ada\x00@example.org"
    long_source = passed("long-source", "ada")
    long_source.source = "s" * 256
    events = [
        _json_event("big", b'{"blob": "%s"}' % (b"x" * 70_000)),
        _json_event("j-deep", b'{"a": ' + b"[" * 40 + b"]" * 40 + b"}"),
        _json_event("j-very-deep", b'{"a": ' + b"[" * 3_000 + b"]" * 3_000 + b"}"),
        deep_struct,
        _json_event("j-nul", b'{"course": {"course_key": "C\\u0000"}}'),
        _json_event("j-surrogate", b'{"course": {"course_key": "\\ud800"}}'),
        nul_email,
        long_source,
        _json_event("j-ok-deep", b'{"a": ' + b"[" * 31 + b"]" * 31 + b', "e": "\\u00e9"}'),
    ]
    reply = await s.events.PublishEvents(event_service_pb2.PublishEventsRequest(events=events))
    assert [(r.event_id, r.reason_code, r.reason) for r in reply.results] == [
        ("big", "PAYLOAD_TOO_LARGE", "payload is 70,012 bytes; at most 65,536 are accepted"),
        ("j-deep", "PAYLOAD_TOO_DEEP", "payload nests objects and lists more than 32 deep"),
        (
            "j-very-deep",
            "PAYLOAD_TOO_DEEP",
            "payload nests objects and lists more than 32 deep",
        ),
        ("s-deep", "PAYLOAD_TOO_DEEP", "payload nests objects and lists more than 32 deep"),
        (
            "j-nul",
            "INVALID_PAYLOAD",
            "payload holds U+0000 (a NUL character), which the event log cannot store",
        ),
        (
            "j-surrogate",
            "INVALID_PAYLOAD",
            "payload_json holds an unpaired surrogate (\\ud800-\\udfff)",
        ),
        ("nul-email", "INVALID_TEXT", "event.learner.email holds U+0000; remove it"),
        ("long-source", "TEXT_TOO_LONG", "event.source is longer than 255 characters"),
        ("j-ok-deep", "", ""),
    ]
    assert reply.results[-1].outcome == event_pb2.EVENT_OUTCOME_ACCEPTED
