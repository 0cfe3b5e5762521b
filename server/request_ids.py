"""Request ids: every RPC gets one, logged with each line and sent back to the caller.

The id is the caller's `x-request-id` metadata when it is sane (1 to 128 characters of
`A-Z a-z 0-9 . _ : / + = -`, starting with a letter or digit), else a fresh random one.
It is put in `server.logs.current_request_id` for the whole RPC, so every log line the
RPC causes carries `request_id`, and it goes back in the trailing metadata as
`x-request-id`, errors included (the interceptor is the outermost one, so even a call the
auth interceptor refuses has its id).

Example (grpcurl)::

    grpcurl -plaintext -H 'x-request-id: deploy-42' -v 127.0.0.1:50151 \\
        badgeflow.v1.TemplateService/ListTemplates
"""

from __future__ import annotations

import inspect
import re
import secrets
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import grpc

from server.logs import current_request_id

__all__ = ["REQUEST_ID_HEADER", "RequestIdInterceptor", "request_id_from"]

REQUEST_ID_HEADER = "x-request-id"
_SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+=-]{0,127}")
_GENERATED_BYTES = 12  # 24 hex digits

Metadata = Sequence[tuple[str, str | bytes]]


def request_id_from(metadata: Metadata | None) -> str:
    """The caller's id when there is exactly one and it is sane, else a new one."""
    values = [v for k, v in metadata or () if k == REQUEST_ID_HEADER]
    if len(values) == 1:
        value = values[0]
        value = value.decode("ascii", "replace") if isinstance(value, bytes) else value
        if _SANE.fullmatch(value):
            return value
    return secrets.token_hex(_GENERATED_BYTES)


class _Context:
    """The servicer context, with `x-request-id` kept in whatever trailing metadata
    the handler (or an abort) sets."""

    def __init__(self, inner: grpc.aio.ServicerContext, request_id: str) -> None:
        self._inner = inner
        self._tag = (REQUEST_ID_HEADER, request_id)
        inner.set_trailing_metadata((self._tag,))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _with_tag(self, metadata: Metadata | None) -> tuple[tuple[str, str | bytes], ...]:
        return (*(m for m in metadata or () if m[0] != REQUEST_ID_HEADER), self._tag)

    def set_trailing_metadata(self, trailing_metadata: Metadata) -> None:
        self._inner.set_trailing_metadata(self._with_tag(trailing_metadata))

    async def abort(
        self, code: grpc.StatusCode, details: str = "", trailing_metadata: Metadata = ()
    ) -> Any:
        return await self._inner.abort(code, details, self._with_tag(trailing_metadata))

    async def abort_with_status(self, status: grpc.Status) -> Any:
        return await self.abort(status.code, status.details, status.trailing_metadata)


def _wrap(behavior: Callable[..., Any], request_id: str) -> Callable[..., Any]:
    if inspect.isasyncgenfunction(behavior):

        async def stream(request: Any, context: grpc.aio.ServicerContext) -> Any:
            async for response in behavior(request, _Context(context, request_id)):
                yield response

        return stream

    async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
        return await behavior(request, _Context(context, request_id))

    return call


_BUILDERS = {
    (False, False): ("unary_unary", grpc.unary_unary_rpc_method_handler),
    (False, True): ("unary_stream", grpc.unary_stream_rpc_method_handler),
    (True, False): ("stream_unary", grpc.stream_unary_rpc_method_handler),
    (True, True): ("stream_stream", grpc.stream_stream_rpc_method_handler),
}


class RequestIdInterceptor(grpc.aio.ServerInterceptor):
    """Gives each RPC its request id: in the logs' context and in the trailers."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        request_id = request_id_from(handler_call_details.invocation_metadata)
        # Set in the RPC's own task before the next interceptors run: their log lines
        # (an auth refusal) carry the id too.
        current_request_id.set(request_id)
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        attribute, build = _BUILDERS[(handler.request_streaming, handler.response_streaming)]
        return build(
            _wrap(getattr(handler, attribute), request_id),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
