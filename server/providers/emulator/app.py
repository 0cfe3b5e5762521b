"""The ASGI application: routes `/credly/...` and `/accredible/...`, applies the faults."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx

from .accredible_api import AccredibleApi
from .credly_api import CredlyApi
from .faults import FaultDecision, Faults
from .state import EmulatorState
from .wire import ApiError, Receive, Request, Response, Scope, Send, read_request, send_response

CREDLY_PREFIX = "/credly"
ACCREDIBLE_PREFIX = "/accredible"
HEALTH_PATH = "/_emulator/health"

Dropper = Callable[[Scope], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]


async def _raise_drop(scope: Scope) -> None:
    """Without a TCP front (e.g. under httpx.ASGITransport) a drop surfaces in the client
    as the exception httpx raises when a server hangs up without answering."""
    raise httpx.RemoteProtocolError("Server disconnected without sending a response.")


def _fault_body(prefix: str, status: int) -> object:
    message = "Too many requests" if status == 429 else "Internal server error"
    if prefix == CREDLY_PREFIX:
        return {"data": {"message": message}, "metadata": {}}
    return {"errors": message}


def build_app(state: EmulatorState, faults: Faults, *, drop: Dropper = _raise_drop) -> Asgi:
    """The emulator as a plain ASGI callable. `drop` closes the client's connection with
    no answer; `EmulatorServer` passes one that aborts the socket."""
    apis = {
        CREDLY_PREFIX: CredlyApi(state.credly).handle,
        ACCREDIBLE_PREFIX: AccredibleApi(state.accredible).handle,
    }

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if path == HEALTH_PATH:
            await send_response(send, Response(200, {"ok": True}))
            return
        prefix = next((p for p in apis if path.startswith(p + "/")), None)
        if prefix is None:
            await send_response(send, Response(404, {"error": "Not found"}))
            return
        request = await read_request(scope, receive, prefix)
        decision = faults.decide(request.method, request.path)
        response = await _answer(apis[prefix], request, decision, prefix, faults)
        if decision.drop:
            await drop(scope)
        await send_response(send, response)

    return app


async def _answer(
    handle: Callable[[Request], Awaitable[Response]],
    request: Request,
    decision: FaultDecision,
    prefix: str,
    faults: Faults,
) -> Response:
    if decision.latency_ms:
        await asyncio.sleep(decision.latency_ms / 1000)
    if decision.status is not None:
        headers = {"Retry-After": str(faults.retry_after_seconds)} if decision.status == 429 else {}
        return Response(decision.status, _fault_body(prefix, decision.status), headers)
    try:
        return await handle(request)
    except ApiError as exc:
        return Response(exc.status, exc.body, exc.headers)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
