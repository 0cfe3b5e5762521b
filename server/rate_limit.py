"""Events per second per client: one publisher cannot take the whole server.

A client is its API key (when it sends one) or else its address. Each has a token
bucket refilled at the limit's rate and holding at most one second's worth. A stream
(`StreamEvents`) is paced: its next message is read only once the bucket allows it, so
gRPC flow control slows the sender and nothing is refused or lost. A unary
`PublishEvents` over the limit is refused whole with RESOURCE_EXHAUSTED (reason
`RATE_LIMITED`) and a RetryInfo saying when it would be accepted (the SDK's typed
error carries it as `retry_after`); the SDK's publisher streams, so it is paced."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_status import rpc_status

from server.auth import parse_key_id
from server.errors import ResourceExhausted, to_status

__all__ = ["RATE_LIMITED", "ClientRates", "RateLimitInterceptor"]

RATE_LIMITED = "RATE_LIMITED"
_PUBLISH = "/badgeflow.v1.EventService/PublishEvents"
_STREAM = "/badgeflow.v1.EventService/StreamEvents"
#: Clients remembered at once; the least recently seen is forgotten first.
MAX_CLIENTS = 10_000


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class ClientRates:
    """Token buckets per client, `rate` events a second with a burst of one second."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._rate = rate
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def _bucket(self, client: str) -> _Bucket:
        now = self._clock()
        bucket = self._buckets.pop(client, None)
        if bucket is None:
            bucket = _Bucket(self._rate, now)
        else:
            bucket.tokens = min(self._rate, bucket.tokens + (now - bucket.at) * self._rate)
            bucket.at = now
        self._buckets[client] = bucket
        if len(self._buckets) > MAX_CLIENTS:
            self._buckets.popitem(last=False)
        return bucket

    def reserve(self, client: str, events: int) -> float:
        """Take `events` tokens now (the bucket may go into debt) and return the seconds
        to wait before using them: what a paced stream does."""
        bucket = self._bucket(client)
        bucket.tokens -= events
        return max(0.0, -bucket.tokens / self._rate)

    def try_take(self, client: str, events: int) -> float:
        """Take `events` tokens if they are there (0.0), else take nothing and return
        the seconds until they would be: what a refused call is told. A batch larger
        than one second's worth waits until the bucket is full."""
        bucket = self._bucket(client)
        needed = min(float(events), self._rate)
        if bucket.tokens >= needed - 1e-9:  # a refill computed in floats
            bucket.tokens -= events
            return 0.0
        return (needed - bucket.tokens) / self._rate


def client_of(context: grpc.aio.ServicerContext) -> str:
    """The API key's id when the call carries a badgeflow key, else the peer's address
    without its port (a client reconnecting gets a new port)."""
    for name, value in context.invocation_metadata() or ():
        if name == "authorization":
            text = value.decode() if isinstance(value, bytes) else value
            key_id = parse_key_id(text.partition(" ")[2].strip())
            if key_id:
                return f"key:{key_id}"
    peer = context.peer() or ""
    host, _, _port = peer.rpartition(":")
    return f"peer:{host or peer}"


class RateLimitInterceptor(grpc.aio.ServerInterceptor):
    """Applies `ClientRates` to the two event-publishing RPCs; other RPCs pass."""

    def __init__(self, rates: ClientRates) -> None:
        self._rates = rates

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        if handler_call_details.method == _PUBLISH:
            return self._publish(handler)
        if handler_call_details.method == _STREAM:
            return self._stream(handler)
        return handler

    def _publish(self, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        inner = handler.unary_unary
        rates = self._rates

        async def publish(request: Any, context: grpc.aio.ServicerContext) -> Any:
            wait = rates.try_take(client_of(context), len(request.events))
            if wait > 0:
                error = ResourceExhausted(
                    RATE_LIMITED,
                    f"this client sends more events than the server's limit; retry in {wait:.2f} s"
                    " or send on a stream, which is paced instead",
                    retry_after=wait,
                )
                await context.abort_with_status(rpc_status.to_status(to_status(error)))
            return await inner(request, context)

        return grpc.unary_unary_rpc_method_handler(
            publish,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _stream(self, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        inner = handler.stream_stream
        rates = self._rates

        async def stream(requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> Any:
            client = client_of(context)

            async def paced() -> AsyncIterator[Any]:
                async for request in requests:
                    wait = rates.reserve(client, len(request.events))
                    if wait > 0:
                        await asyncio.sleep(wait)
                    yield request

            async for response in inner(paced(), context):
                yield response

        return grpc.stream_stream_rpc_method_handler(
            stream,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
