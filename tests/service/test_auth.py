"""Authentication on: every RPC of every service the server offers refuses a call without
a key (UNAUTHENTICATED) and with a key whose role is too low (PERMISSION_DENIED), and lets
the right role and admin through; keys are managed over gRPC and offline."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from badgeflow.v1 import (
    api_key_pb2,
    event_service_pb2,
    event_service_pb2_grpc,
    key_service_pb2,
    key_service_pb2_grpc,
)
from badgeflow_client import BadgeflowClient, PermissionDenied, Unauthenticated
from badgeflow_client import cli as badgectl
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor import MethodDescriptor
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status

from server import auth_cli
from server.app import ALL_SERVICE_NAMES, App, build_server
from server.auth import RPC_ROLES, Role, parse_key_id
from tests.service.conftest import Secured, secured_settings
from tests.service.stubs import passed

Outcome = tuple[grpc.StatusCode, str, dict[str, str]]
"""A call's code, its ErrorInfo reason and metadata ("" and {} when it has none)."""

AUTH_CODES = {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED}
LIVE_STREAM_SECONDS = 1.0
"""How long a server stream that was let through (WatchAwards) is given to end by itself."""


async def offered_rpcs(target: str) -> list[MethodDescriptor]:
    """Every RPC of every badgeflow service the server lists through reflection."""
    async with grpc.aio.insecure_channel(target) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        async for reply in stub.ServerReflectionInfo(iter([request])):
            names = sorted(s.name for s in reply.list_services_response.service)
            break
    pool = descriptor_pool.Default()
    services = [pool.FindServiceByName(n) for n in names if n.startswith("badgeflow.")]
    return [method for service in services for method in service.methods]


def path(method: MethodDescriptor) -> str:
    return f"/{method.containing_service.full_name}/{method.name}"


def _error(error: grpc.aio.AioRpcError) -> Outcome:
    status = rpc_status.from_call(error)
    info = error_details_pb2.ErrorInfo()
    if status is None or not status.details or not status.details[0].Unpack(info):
        return error.code(), "", {}
    return error.code(), info.reason, dict(info.metadata)


async def _server_stream(call: Any) -> grpc.StatusCode:
    await call.initial_metadata()
    try:
        return await asyncio.wait_for(call.code(), LIVE_STREAM_SECONDS)
    except TimeoutError:
        call.cancel()  # a live stream (WatchAwards): it was let through
        return grpc.StatusCode.OK


async def call(
    channel: grpc.aio.Channel, method: MethodDescriptor, metadata: tuple[tuple[str, str], ...]
) -> Outcome:
    """Call `method` with an empty request (or request stream) and `metadata`."""
    request = message_factory.GetMessageClass(method.input_type)()
    response = message_factory.GetMessageClass(method.output_type)
    codec = {
        "request_serializer": lambda m: m.SerializeToString(),
        "response_deserializer": response.FromString,
    }
    try:
        if method.client_streaming:
            multi = channel.stream_stream(path(method), **codec)
            stream = multi(iter([]), metadata=metadata, timeout=10)
            _ = [r async for r in stream]
            return grpc.StatusCode.OK, "", {}
        if method.server_streaming:
            stream = channel.unary_stream(path(method), **codec)(request, metadata=metadata)
            code = await _server_stream(stream)
            if code is not grpc.StatusCode.OK:
                await stream.read()  # raises the call's error
            return code, "", {}
        await channel.unary_unary(path(method), **codec)(request, metadata=metadata, timeout=10)
    except grpc.aio.AioRpcError as error:
        return _error(error)
    return grpc.StatusCode.OK, "", {}


@pytest.fixture
async def channel(secured: Secured) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(secured.target) as opened:
        yield opened


async def test_every_rpc_is_offered_and_has_a_role(secured: Secured) -> None:
    methods = await offered_rpcs(secured.target)
    assert sorted(path(m) for m in methods) == sorted(RPC_ROLES)
    assert {m.containing_service.full_name for m in methods} == set(ALL_SERVICE_NAMES)


async def test_every_rpc_without_a_key_is_unauthenticated(
    secured: Secured, channel: grpc.aio.Channel
) -> None:
    methods = await offered_rpcs(secured.target)
    outcomes = {path(m): await call(channel, m, ()) for m in methods}
    missing = (grpc.StatusCode.UNAUTHENTICATED, "API_KEY_MISSING", {})
    assert outcomes == {name: missing for name in RPC_ROLES}
    assert len(outcomes) == 29


def _lower_roles(required: Role) -> list[Role]:
    return [role for role in Role if not role.allows(required)]


async def test_every_rpc_with_a_role_too_low_is_permission_denied(
    secured: Secured, channel: grpc.aio.Channel
) -> None:
    outcomes, expected = {}, {}
    for method in await offered_rpcs(secured.target):
        required = RPC_ROLES[path(method)]
        for role in _lower_roles(required):
            key_id = parse_key_id(secured.keys[role])
            name = f"{path(method)} as {role}"
            outcomes[name] = await call(channel, method, secured.metadata(role))
            expected[name] = (
                grpc.StatusCode.PERMISSION_DENIED,
                "ROLE_INSUFFICIENT",
                {"required_role": str(required), "key_role": str(role), "key_id": key_id},
            )
    assert outcomes == expected
    assert len(outcomes) == 2 * 18 + 9 + 2  # admin RPCs refuse two roles, the others one


async def test_every_rpc_lets_its_role_and_admin_through(
    secured: Secured, channel: grpc.aio.Channel
) -> None:
    refused = {}
    for method in await offered_rpcs(secured.target):
        for role in {RPC_ROLES[path(method)], Role.ADMIN}:
            code, reason, _ = await call(channel, method, secured.metadata(role))
            if code in AUTH_CODES:
                refused[f"{path(method)} as {role}"] = (code, reason)
    assert refused == {}


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        pytest.param("Basic YWRtaW46YWRtaW4=", "API_KEY_MALFORMED", id="basic-auth"),
        pytest.param("Bearer", "API_KEY_MALFORMED", id="no-key"),
        pytest.param("Bearer sk_live_abc", "API_KEY_MALFORMED", id="not-a-badgeflow-key"),
        pytest.param(f"Bearer bfk_0123456789ab_{'k' * 43}", "API_KEY_INVALID", id="unknown-key"),
        pytest.param("revoked", "API_KEY_REVOKED", id="revoked-key"),
    ],
)
async def test_a_bad_key_is_unauthenticated_with_its_reason(
    secured: Secured, channel: grpc.aio.Channel, header: str, reason: str
) -> None:
    header = f"Bearer {secured.revoked}" if header == "revoked" else header
    [get_rules] = [m for m in await offered_rpcs(secured.target) if m.name == "GetRules"]
    code, got, _ = await call(channel, get_rules, (("authorization", header),))
    assert (code, got) == (grpc.StatusCode.UNAUTHENTICATED, reason)


async def test_health_and_reflection_stay_open(secured: Secured, channel: grpc.aio.Channel) -> None:
    reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    assert len(await offered_rpcs(secured.target)) == 29  # reflection, without a key


async def test_keys_managed_over_grpc_and_revocation_is_immediate_here(
    secured: Secured, channel: grpc.aio.Channel
) -> None:
    keys = key_service_pb2_grpc.KeyServiceStub(channel)
    admin = secured.metadata(Role.ADMIN)
    created = await keys.CreateApiKey(
        key_service_pb2.CreateApiKeyRequest(name="dashboards", role=api_key_pb2.ROLE_READER),
        metadata=admin,
    )
    reader = (("authorization", f"Bearer {created.secret}"),)
    listed = await keys.ListApiKeys(key_service_pb2.ListApiKeysRequest(), metadata=admin)
    assert [(k.name, k.role) for k in listed.api_keys][-1] == (
        "dashboards",
        api_key_pb2.ROLE_READER,
    )
    assert all(created.secret not in str(k) for k in listed.api_keys)
    [get_rules] = [m for m in await offered_rpcs(secured.target) if m.name == "GetRules"]
    assert (await call(channel, get_rules, reader))[0] is grpc.StatusCode.OK
    await keys.RevokeApiKey(
        key_service_pb2.RevokeApiKeyRequest(key_id=created.api_key.key_id), metadata=admin
    )
    assert (await call(channel, get_rules, reader))[:2] == (
        grpc.StatusCode.UNAUTHENTICATED,
        "API_KEY_REVOKED",
    )


async def test_a_busy_client_costs_one_key_read_and_its_use_is_recorded(
    secured: Secured, channel: grpc.aio.Channel
) -> None:
    [get_rules] = [m for m in await offered_rpcs(secured.target) if m.name == "GetRules"]
    verifier = secured.app.keys
    assert verifier is not None
    before = verifier.lookups
    for _ in range(50):
        assert (await call(channel, get_rules, secured.metadata(Role.READER)))[0].name == "OK"
    assert verifier.lookups - before == 1
    listed = await key_service_pb2_grpc.KeyServiceStub(channel).ListApiKeys(
        key_service_pb2.ListApiKeysRequest(), metadata=secured.metadata(Role.ADMIN)
    )
    used = {k.name: k.HasField("last_use_time") for k in listed.api_keys}
    assert used == {"publisher-key": False, "reader-key": True, "admin-key": True}


async def test_a_stream_is_authenticated_once_at_its_start(
    secured: Secured, channel: grpc.aio.Channel
) -> None:
    publisher = secured.metadata(Role.PUBLISHER)
    outgoing: asyncio.Queue[event_service_pb2.StreamEventsRequest | None] = asyncio.Queue()

    async def requests() -> AsyncIterator[event_service_pb2.StreamEventsRequest]:
        while (request := await outgoing.get()) is not None:
            yield request

    events = event_service_pb2_grpc.EventServiceStub(channel)
    stream = events.StreamEvents(requests(), metadata=publisher)
    await outgoing.put(
        event_service_pb2.StreamEventsRequest(sequence=1, events=[passed("e1", "a")])
    )
    assert (await stream.read()).sequence == 1
    key_id = parse_key_id(secured.keys[Role.PUBLISHER])
    await key_service_pb2_grpc.KeyServiceStub(channel).RevokeApiKey(
        key_service_pb2.RevokeApiKeyRequest(key_id=key_id), metadata=secured.metadata(Role.ADMIN)
    )
    # The open stream goes on (it was authenticated at its start) ...
    await outgoing.put(
        event_service_pb2.StreamEventsRequest(sequence=2, events=[passed("e2", "b")])
    )
    assert (await stream.read()).sequence == 2
    await outgoing.put(None)
    assert await stream.code() is grpc.StatusCode.OK
    # ... and a new call with the revoked key is refused.
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await events.PublishEvents(event_service_pb2.PublishEventsRequest(), metadata=publisher)
    assert _error(refused.value)[:2] == (grpc.StatusCode.UNAUTHENTICATED, "API_KEY_REVOKED")


async def test_the_sdk_raises_typed_errors_with_the_reason(secured: Secured) -> None:
    def calls() -> tuple[Exception, Exception, int]:
        with BadgeflowClient(secured.target) as anonymous:
            with pytest.raises(Unauthenticated) as no_key:
                anonymous.get_rules()
        with BadgeflowClient(secured.target, api_key=secured.keys[Role.READER]) as reader:
            with pytest.raises(PermissionDenied) as too_low:
                reader.apply_rules({})
            return no_key.value, too_low.value, reader.get_rules().version

    no_key, too_low, version = await asyncio.to_thread(calls)
    assert (no_key.reason, too_low.reason, version) == ("API_KEY_MISSING", "ROLE_INSUFFICIENT", 0)  # type: ignore[attr-defined]
    assert too_low.metadata["required_role"] == "admin"  # type: ignore[attr-defined]


async def test_badgectl_exits_7_for_a_key_too_low_and_manages_keys_with_an_admin_key(
    secured: Secured, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = ["--server", secured.target]
    monkeypatch.setenv("BADGEFLOW_API_KEY", secured.keys[Role.READER])
    code = await asyncio.to_thread(badgectl.main, [*server, "keys", "list"])
    out, err = capsys.readouterr()
    assert (code, out) == (7, "")
    assert err == (
        "badgectl: this RPC needs a admin key; key "
        f"{parse_key_id(secured.keys[Role.READER])} is a reader key\n"
        "  (check --api-key or $BADGEFLOW_API_KEY)\n"
    )
    monkeypatch.setenv("BADGEFLOW_API_KEY", secured.keys[Role.ADMIN])
    code = await asyncio.to_thread(badgectl.main, [*server, "keys", "list"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert sorted(line.split()[1:3] for line in out.splitlines()[1:]) == [
        ["admin", "admin-key"],
        ["publisher", "publisher-key"],
        ["reader", "reader-key"],
    ]
    assert all(key not in out + err for key in secured.keys.values())


async def test_no_key_is_ever_logged(
    secured: Secured, channel: grpc.aio.Channel, caplog: pytest.LogCaptureFixture
) -> None:
    [get_rules] = [m for m in await offered_rpcs(secured.target) if m.name == "GetRules"]
    [apply] = [m for m in await offered_rpcs(secured.target) if m.name == "ApplyRules"]
    with caplog.at_level(logging.DEBUG):
        await call(channel, apply, secured.metadata(Role.READER))
        await call(channel, get_rules, (("authorization", f"Bearer {secured.revoked}"),))
        await key_service_pb2_grpc.KeyServiceStub(channel).CreateApiKey(
            key_service_pb2.CreateApiKeyRequest(name="x", role=api_key_pb2.ROLE_ADMIN),
            metadata=secured.metadata(Role.ADMIN),
        )
    logged = "\n".join(str(r.__dict__) for r in caplog.records)
    refusals = [r for r in caplog.records if r.getMessage() == "rpc refused"]
    assert [(r.reason, r.key_id) for r in refusals] == [  # type: ignore[attr-defined]
        ("ROLE_INSUFFICIENT", parse_key_id(secured.keys[Role.READER])),
        ("API_KEY_REVOKED", parse_key_id(secured.revoked)),
    ]
    for key in [*secured.keys.values(), secured.revoked]:
        assert key.split("_", 2)[2] not in logged


async def test_the_first_admin_key_comes_from_the_command_line_on_a_fresh_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    monkeypatch.setenv("BADGEFLOW_DATABASE_URL", url)
    assert (
        await asyncio.to_thread(auth_cli.main, ["create", "--role", "admin", "--name", "ops"]) == 0
    )
    out, err = capsys.readouterr()
    key = out.strip()
    key_id = parse_key_id(key)
    assert err == (
        f"created admin key {key_id} (ops)\n"
        "the key is shown this once; store it in a secret manager:\n"
    )
    app = await build_server(secured_settings(url))
    try:

        def admin_calls() -> list[str]:
            with BadgeflowClient(f"127.0.0.1:{app.port}", api_key=key) as client:
                client.create_api_key("lms", "publisher")
                return [k.name for k in client.list_api_keys()]

        assert await asyncio.to_thread(admin_calls) == ["ops", "lms"]
    finally:
        await app.stop(1.0)
    assert await asyncio.to_thread(auth_cli.main, ["revoke", key_id or ""]) == 0
    assert await asyncio.to_thread(auth_cli.main, ["revoke", key_id or ""]) == 1
    assert await asyncio.to_thread(auth_cli.main, ["list", "--all"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0] == f"revoked key {key_id} (ops)"
    assert lines[1].split() == ["KEY", "ID", "ROLE", "NAME", "CREATED", "LAST", "USED", "REVOKED"]
    assert [line.split()[:3] for line in lines[2:]] == [
        [key_id, "admin", "ops"],
        [lines[3].split()[0], "publisher", "lms"],
    ]
    assert err == f"badgeflow: API key {key_id} is already revoked\n"


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage().split(":")[0]
        for r in caplog.get_records("setup")
        if r.levelno == logging.WARNING and r.name == "badgeflow.app"
    ]


async def test_start_up_warns_when_auth_is_off(app: App, caplog: pytest.LogCaptureFixture) -> None:
    assert _warnings(caplog) == ["authentication is off", "webhooks are refused"]


async def test_start_up_warns_when_no_admin_key_exists(
    secured: Secured, caplog: pytest.LogCaptureFixture
) -> None:
    assert _warnings(caplog) == [
        "authentication is on but no admin key exists",
        "webhooks are refused",
    ]
