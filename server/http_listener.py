"""The server's small HTTP listener, run by uvicorn inside the server's event loop:
provider webhooks, and the operational endpoints mounted at exact paths (`/metrics`,
`/healthz`). Everything not mounted goes to the webhook app, which keeps its own token
check. The socket is bound by us first, so a taken port fails at start with a clear
error and port 0 reports the port it got."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from typing import Any

import uvicorn
from uvicorn._types import ASGIApplication

__all__ = ["HttpListener"]

_START_POLL_SECONDS = 0.005
_GRACEFUL_SECONDS = 2


class _Embedded(uvicorn.Server):
    """Leaves the server's own SIGTERM handling alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class _Router:
    """Exact paths to their apps (HTTP only); everything else to the fallback."""

    def __init__(self, fallback: ASGIApplication) -> None:
        self.fallback = fallback
        self.routes: dict[str, Any] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        app = self.routes.get(scope["path"]) if scope["type"] == "http" else None
        await (app or self.fallback)(scope, receive, send)  # type: ignore[operator]


class HttpListener:
    def __init__(self, app: ASGIApplication, host: str, port: int) -> None:
        self._app = _Router(app)
        self._host = host
        self._requested = port
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.port = 0

    async def start(self) -> HttpListener:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind((self._host, self._requested))
        except OSError as error:
            sock.close()
            where = f"{self._host}:{self._requested}"
            raise OSError(f"cannot listen on {where} for HTTP: {error.strerror}") from None
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            lifespan="off",
            log_config=None,
            access_log=False,
            ws="none",
            http="h11",
            timeout_graceful_shutdown=_GRACEFUL_SECONDS,
        )
        self._server = _Embedded(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="http-listener")
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("the HTTP listener stopped while starting")
            await asyncio.sleep(_START_POLL_SECONDS)
        return self

    def mount(self, path: str, app: Any) -> None:
        """Serve `path` exactly (any method; the app answers 405 itself) with `app`."""
        self._app.routes[path] = app

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
        self._server = self._task = None
