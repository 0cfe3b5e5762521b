"""What the SDK service tests share: one SDK call made with either client, and a scripted
grpc.aio server for the answers the real server cannot give yet.

`invoke(flavour, target, "get_template", "credly:x")` runs one client method with the
sync client (in a worker thread, off the test's event loop) or with the async client,
and drains what it returns (pagers and streams become lists), so one test body covers
both clients.

`scripted_server()` starts a real grpc.aio server on 127.0.0.1:0 that offers every
badgeflow RPC and answers each from a script: a reply message, a rich
`google.rpc.Status` to abort with, `HANG` (wait for the client's deadline), or for a
stream a tuple of replies. It counts the calls, records their requests and metadata,
and which calls the client cancelled while they hung.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import inspect
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from badgeflow_client import AsyncBadgeflowClient, AwardWatch, BadgeflowClient, Pager
from google.protobuf import any_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from server.app import SERVICE_NAMES

FLAVOURS = [pytest.param("sync", id="sync"), pytest.param("async", id="async")]
"""Parametrize a test over both clients (pass the value to `invoke`)."""

SERVICES = [descriptor_pool.Default().FindServiceByName(name) for name in SERVICE_NAMES]

HANG = "hang"
"""A scripted outcome: answer nothing until the client's deadline ends the call."""

Outcome = Message | status_pb2.Status | str | tuple[Message | str, ...]
"""A reply, a status to abort with, HANG, or (for a server stream) a tuple of replies,
possibly ending with HANG."""


def _drain_sync(result: Any) -> Any:
    if isinstance(result, Pager | AwardWatch | Iterator):
        return list(result)
    return result


async def _drain_async(result: Any) -> Any:
    if inspect.isawaitable(result):
        return await result
    if isinstance(result, AsyncIterable):
        return [item async for item in result]
    return result


async def invoke(
    flavour: str,
    target: str,
    method: str,
    *args: Any,
    options: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Any:
    """Call `method` of a fresh sync or async client (built with `options`) and return
    its result, with pagers and streams drained into lists."""
    if flavour == "sync":

        def run() -> Any:
            with BadgeflowClient(target, **(options or {})) as client:
                return _drain_sync(getattr(client, method)(*args, **kwargs))

        return await asyncio.to_thread(run)
    async with AsyncBadgeflowClient(target, **(options or {})) as client:
        return await _drain_async(getattr(client, method)(*args, **kwargs))


def _pack(detail: Message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(detail)
    return packed


def rich_status(
    code: grpc.StatusCode, message: str, reason: str, *details: Message, **metadata: str
) -> status_pb2.Status:
    """A status as the badgeflow server builds it: ErrorInfo first, then `details`."""
    info = error_details_pb2.ErrorInfo(reason=reason, domain="badgeflow", metadata=metadata)
    return status_pb2.Status(
        code=code.value[0],
        message=message,
        details=[_pack(info), *(_pack(d) for d in details)],
    )


@dataclass
class ScriptedServer:
    """A real server whose answers come from `script` (method name → outcomes; each
    call takes the next outcome, and the last one repeats)."""

    script: dict[str, list[Outcome]] = field(default_factory=dict)
    calls: collections.Counter[str] = field(default_factory=collections.Counter)
    requests: dict[str, list[Message]] = field(
        default_factory=lambda: collections.defaultdict(list)
    )
    metadata: dict[str, dict[str, str]] = field(default_factory=dict)
    cancelled: set[str] = field(default_factory=set)
    call_ended: asyncio.Event = field(default_factory=asyncio.Event)
    target: str = ""

    def _next(self, name: str, request: Message, context: Any) -> Outcome:
        self.calls[name] += 1
        self.requests[name].append(request)
        self.metadata[name] = {key: str(value) for key, value in context.invocation_metadata()}
        outcomes = self.script.get(name) or [
            status_pb2.Status(code=grpc.StatusCode.UNIMPLEMENTED.value[0], message=name)
        ]
        return outcomes.pop(0) if len(outcomes) > 1 else outcomes[0]

    async def _hang(self, name: str) -> None:
        try:
            await asyncio.Event().wait()  # until the client's deadline or cancel ends the call
        except asyncio.CancelledError:
            self.cancelled.add(name)
            self.call_ended.set()
            raise

    async def _reply(self, name: str, outcome: Outcome, context: Any) -> Message:
        if outcome == HANG:
            await self._hang(name)
        if isinstance(outcome, status_pb2.Status):
            await context.abort_with_status(rpc_status.to_status(outcome))
        assert isinstance(outcome, Message)
        return outcome

    async def answer(self, name: str, request: Message, context: Any) -> Message:
        return await self._reply(name, self._next(name, request, context), context)

    async def answers(self, name: str, request: Message, context: Any) -> AsyncIterator[Message]:
        outcome = self._next(name, request, context)
        for item in outcome if isinstance(outcome, tuple) else (outcome,):
            yield await self._reply(name, item, context)

    def _handler(self, method: MethodDescriptor) -> grpc.RpcMethodHandler:
        request_class = message_factory.GetMessageClass(method.input_type)
        kwargs: dict[str, Callable[..., Any]] = {
            "request_deserializer": request_class.FromString,
            "response_serializer": lambda message: message.SerializeToString(),
        }
        name = method.name

        async def unary(request: Message, context: Any) -> Message:
            return await self.answer(name, request, context)

        async def server_stream(request: Message, context: Any) -> AsyncIterator[Message]:
            async for reply in self.answers(name, request, context):
                yield reply

        async def bidi_stream(requests: Any, context: Any) -> AsyncIterator[Message]:
            yield await self.answer(name, await anext(aiter(requests)), context)

        if method.client_streaming:
            return grpc.stream_stream_rpc_method_handler(bidi_stream, **kwargs)
        if method.server_streaming:
            return grpc.unary_stream_rpc_method_handler(server_stream, **kwargs)
        return grpc.unary_unary_rpc_method_handler(unary, **kwargs)

    def handlers(self) -> list[grpc.GenericRpcHandler]:
        return [
            grpc.method_handlers_generic_handler(
                service.full_name, {m.name: self._handler(m) for m in service.methods}
            )
            for service in SERVICES
        ]


@contextlib.asynccontextmanager
async def scripted_server(
    tls: grpc.ServerCredentials | None = None, **script: list[Outcome]
) -> AsyncIterator[ScriptedServer]:
    """Start a `ScriptedServer` on 127.0.0.1:0 answering from `script` (by method name),
    over TLS when given server credentials."""
    scripted = ScriptedServer(script=dict(script))
    server = grpc.aio.server()
    server.add_generic_rpc_handlers(scripted.handlers())
    if tls is None:
        port = server.add_insecure_port("127.0.0.1:0")
    else:
        port = server.add_secure_port("127.0.0.1:0", tls)
    await server.start()
    scripted.target = f"127.0.0.1:{port}"
    try:
        yield scripted
    finally:
        await server.stop(grace=None)
