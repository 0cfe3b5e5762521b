"""Deadlines, retries and call metadata of both clients, against a scripted grpc.aio
server on a real port: idempotent calls are retried on UNAVAILABLE, the others never."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from badgeflow.v1 import (
    award_service_pb2,
    event_pb2,
    event_service_pb2,
    progress_pb2,
    rule_service_pb2,
    template_pb2,
    template_service_pb2,
)
from badgeflow_client import (
    AsyncBadgeflowClient,
    BadgeflowClient,
    DeadlineExceeded,
    Unavailable,
)
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2

from tests.service.sdk_harness import FLAVOURS, HANG, invoke, rich_status, scripted_server

TEMPLATE = template_pb2.Template(id="credly:t", badge="b")
UNAVAILABLE = rich_status(
    grpc.StatusCode.UNAVAILABLE,
    "the database is restarting",
    "STORE_UNAVAILABLE",
    error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=2)),
)


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_an_idempotent_call_is_retried_until_it_succeeds(flavour: str) -> None:
    reply = template_service_pb2.GetTemplateResponse(template=TEMPLATE)
    async with scripted_server(GetTemplate=[UNAVAILABLE, UNAVAILABLE, reply]) as server:
        template = await invoke(flavour, server.target, "get_template", "credly:t")
    assert (template, server.calls["GetTemplate"]) == (TEMPLATE, 3)


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_retries_stop_after_four_attempts(flavour: str) -> None:
    async with scripted_server(PublishEvents=[UNAVAILABLE]) as server:
        with pytest.raises(Unavailable) as raised:
            await invoke(flavour, server.target, "publish_events", [])
    error = raised.value
    assert (error.reason, error.message, error.retry_after) == (
        "STORE_UNAVAILABLE",
        "the database is restarting",
        2.0,
    )
    assert server.calls["PublishEvents"] == 4


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize(
    ("method", "rpc", "args", "reply"),
    [
        pytest.param(
            "grant_award",
            "GrantAward",
            ("credly:t", "L1", "in person"),
            award_service_pb2.GrantAwardResponse(award=progress_pb2.Award(id="1")),
            id="grant-award",
        ),
        pytest.param(
            "apply_rules",
            "ApplyRules",
            ({"a.badge": ""},),
            rule_service_pb2.ApplyRulesResponse(version=1),
            id="apply-rules",
        ),
        pytest.param(
            "reissue_award",
            "ReissueAward",
            ("1",),
            award_service_pb2.ReissueAwardResponse(issuance_id=7),
            id="reissue-award",
        ),
        pytest.param(
            "backfill_rules",
            "BackfillRules",
            (),
            rule_service_pb2.BackfillRulesResponse(done=True),
            id="backfill-stream",
        ),
    ],
)
async def test_a_call_that_is_not_idempotent_is_never_retried(
    flavour: str, method: str, rpc: str, args: tuple[object, ...], reply: object
) -> None:
    async with scripted_server(**{rpc: [UNAVAILABLE, reply]}) as server:
        with pytest.raises(Unavailable) as raised:
            await invoke(flavour, server.target, method, *args)
    assert (raised.value.reason, server.calls[rpc]) == ("STORE_UNAVAILABLE", 1)


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_retries_can_be_turned_off(flavour: str) -> None:
    reply = template_service_pb2.GetTemplateResponse(template=TEMPLATE)
    async with scripted_server(GetTemplate=[UNAVAILABLE, reply]) as server:
        with pytest.raises(Unavailable):
            await invoke(flavour, server.target, "get_template", "t", options={"retries": False})
    assert server.calls["GetTemplate"] == 1


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_unary_calls_have_the_client_timeout(flavour: str) -> None:
    async with scripted_server(GetRules=[HANG]) as server:
        with pytest.raises(DeadlineExceeded) as raised:
            await invoke(flavour, server.target, "get_rules", options={"timeout": 0.2})
    assert (raised.value.code, raised.value.reason) == (grpc.StatusCode.DEADLINE_EXCEEDED, "")
    assert server.calls["GetRules"] == 1  # a deadline is not retried


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize(
    ("method", "rpc", "args", "reply"),
    [
        pytest.param("get_rules", "GetRules", (), rule_service_pb2.GetRulesResponse(), id="unary"),
        pytest.param(
            "backfill_rules",
            "BackfillRules",
            (),
            rule_service_pb2.BackfillRulesResponse(done=True),
            id="server-stream",
        ),
        pytest.param(
            "stream_events",
            "StreamEvents",
            ([event_pb2.Event(id="e1")],),
            event_service_pb2.StreamEventsResponse(sequence=1),
            id="bidi-stream",
        ),
    ],
)
async def test_the_api_key_is_sent_on_every_call(
    flavour: str, method: str, rpc: str, args: tuple[object, ...], reply: object
) -> None:
    async with scripted_server(**{rpc: [reply]}) as server:
        await invoke(flavour, server.target, method, *args, options={"api_key": "k-secret"})
    assert server.metadata[rpc]["authorization"] == "Bearer k-secret"
    assert server.metadata[rpc]["user-agent"].startswith("badgeflow-client-python")


async def test_the_api_key_is_never_shown() -> None:
    with BadgeflowClient("127.0.0.1:1", api_key="k-secret") as client:
        assert repr(client) == "BadgeflowClient('127.0.0.1:1', timeout=10.0)"
    async with AsyncBadgeflowClient("127.0.0.1:1", api_key="k-secret", timeout=2) as aclient:
        assert repr(aclient) == "AsyncBadgeflowClient('127.0.0.1:1', timeout=2)"


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_stopping_a_backfill_early_cancels_its_stream(flavour: str) -> None:
    first = rule_service_pb2.BackfillRulesResponse(events_replayed=10, events_total=100)
    async with scripted_server(BackfillRules=[(first, HANG)]) as server:
        if flavour == "sync":

            def take_one() -> rule_service_pb2.BackfillRulesResponse:
                with BadgeflowClient(server.target) as client:
                    updates = client.backfill_rules()
                    update = next(updates)
                    updates.close()  # what leaving a `for` loop early leads to
                    return update

            update = await asyncio.to_thread(take_one)
        else:
            async with AsyncBadgeflowClient(server.target) as client:
                updates = client.backfill_rules()
                update = await anext(updates)
                await updates.aclose()
        await asyncio.wait_for(server.call_ended.wait(), timeout=10)
    assert (update, server.cancelled) == (first, {"BackfillRules"})
