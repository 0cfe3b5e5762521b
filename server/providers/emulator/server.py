"""Running the emulator on loopback: uvicorn on a private port behind a tiny TCP front.

The front exists for one fault: a connection dropped AFTER the request was applied. ASGI
cannot close a connection without answering (uvicorn turns that into a 500), so the front
pipes bytes between each client connection and its own upstream connection to uvicorn,
and the app, knowing its upstream peer address from `scope["client"]`, asks the front to
abort that pair: the client sees the socket close with no response."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from types import TracebackType

import uvicorn

from .app import ACCREDIBLE_PREFIX, CREDLY_PREFIX, build_app
from .faults import Faults
from .state import EmulatorState
from .wire import Scope

LOOPBACK = "127.0.0.1"
_READ_CHUNK = 65536
_START_POLL_SECONDS = 0.005
_GRACEFUL_SHUTDOWN_SECONDS = 2


class _EmbeddedUvicorn(uvicorn.Server):
    """Leaves the host process's signal handlers alone (tests, embedding)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class _TcpFront:
    def __init__(self, upstream_port: int) -> None:
        self._upstream_port = upstream_port
        self._pairs: dict[tuple[str, int], tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> int:
        self._server = await asyncio.start_server(self._serve, host, port)
        return self._server.sockets[0].getsockname()[1]

    def abort(self, upstream_peer: tuple[str, int]) -> None:
        """Close the client connection whose upstream leg has this local address."""
        pair = self._pairs.pop(upstream_peer, None)
        for writer in pair or ():
            writer.transport.abort()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for key in list(self._pairs):
            self.abort(key)
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _serve(self, down_r: asyncio.StreamReader, down_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            up_r, up_w = await asyncio.open_connection(LOOPBACK, self._upstream_port)
        except OSError:
            down_w.transport.abort()
            self._tasks.discard(task)
            return
        key = up_w.get_extra_info("sockname")[:2]
        self._pairs[key] = (down_w, up_w)
        try:
            await asyncio.gather(_pipe(down_r, up_w), _pipe(up_r, down_w))
        finally:
            self._pairs.pop(key, None)
            for writer in (down_w, up_w):
                writer.transport.abort()
            self._tasks.discard(task)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until EOF, then close the other side (which ends the opposite pipe too)."""
    try:
        while data := await reader.read(_READ_CHUNK):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.transport.abort()


class EmulatorServer:
    """Both emulated APIs over real HTTP on 127.0.0.1, in the running event loop.

        async with EmulatorServer(state, Faults(seed=1)) as emulator:
            httpx.AsyncClient(base_url=emulator.credly_url)  # .../credly/v1
            emulator.faults.drop_next = 1                      # change faults at runtime

    `port=0` (the default) picks a free port."""

    def __init__(
        self,
        state: EmulatorState | None = None,
        faults: Faults | None = None,
        *,
        host: str = LOOPBACK,
        port: int = 0,
        handle_signals: bool = False,
    ) -> None:
        self.state = state or EmulatorState()
        self.faults = faults or Faults()
        self._host = host
        self._requested_port = port
        self._handle_signals = handle_signals
        self._front: _TcpFront | None = None
        self._uvicorn: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def credly_url(self) -> str:
        """The Credly API base, as `https://api.credly.com/v1` is for the real one."""
        return f"{self.base_url}{CREDLY_PREFIX}/v1"

    @property
    def accredible_url(self) -> str:
        """The Accredible API base (`/v1`); v2 search is at the same place with `/v2`."""
        return f"{self.base_url}{ACCREDIBLE_PREFIX}/v1"

    async def start(self) -> EmulatorServer:
        upstream = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        upstream.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        upstream.bind((LOOPBACK, 0))
        self._front = _TcpFront(upstream.getsockname()[1])
        app = build_app(self.state, self.faults, drop=self._drop)
        config = uvicorn.Config(
            app,
            lifespan="off",
            log_config=None,
            log_level="warning",
            access_log=False,
            ws="none",
            http="h11",
            timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_SECONDS,
        )
        server_class = uvicorn.Server if self._handle_signals else _EmbeddedUvicorn
        self._uvicorn = server_class(config)
        self._task = asyncio.create_task(self._uvicorn.serve(sockets=[upstream]))
        while not self._uvicorn.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("the emulator's HTTP server stopped while starting")
            await asyncio.sleep(_START_POLL_SECONDS)
        self.port = await self._front.start(self._host, self._requested_port)
        return self

    async def wait(self) -> None:
        """Until uvicorn exits (on a signal when `handle_signals`)."""
        if self._task is not None:
            await self._task

    async def stop(self) -> None:
        if self._front is not None:
            await self._front.close()
        if self._uvicorn is not None and self._task is not None:
            self._uvicorn.should_exit = True
            await self._task
        await self.state.webhooks.aclose()
        self._front = self._uvicorn = self._task = None

    async def __aenter__(self) -> EmulatorServer:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _drop(self, scope: Scope) -> None:
        client = scope.get("client")
        if self._front is not None and client:
            self._front.abort((client[0], client[1]))
