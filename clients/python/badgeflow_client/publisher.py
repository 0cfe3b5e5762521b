"""Publish events one at a time; they travel in batches on one long-lived stream.

gRPC in Python carries a few thousand messages a second but over a hundred thousand
events a second when a message carries a hundred of them. A publisher keeps the simple
per-event API and batches for the caller, as a Kafka producer does:

- `publish(event)` returns a future at once and puts the event in the open batch;
- a batch is sealed when it holds `batch_size` events, or `linger_ms` after its first
  event, whichever comes first (`flush()` and `close()` seal it at once), and is sent
  as one `StreamEventsRequest` on the publisher's one `StreamEvents` stream;
- when the server acknowledges a batch, each event's future gets that event's own
  `EventResult` (ACCEPTED, DUPLICATE or REJECTED with a reason);
- at most `max_in_flight` sealed batches wait for their acknowledgement; when they do
  and the open batch is full, `publish` waits for room (back-pressure), so memory stays
  bounded at about `(max_in_flight + 1) * batch_size` events;
- when the stream fails with UNAVAILABLE (the server restarted, the network dropped),
  the unacknowledged batches are sent again, in order, on a new stream, after a backoff
  (0.1 s doubling to 2 s, or the server's `retry_after`), at most `max_retries` times in
  a row; an acknowledgement resets the count. Sending again is safe: the server
  de-duplicates by event id. An event the first stream had stored before it broke is
  then answered DUPLICATE: for a resent event DUPLICATE means "stored", like ACCEPTED
  (`resent` counts the events sent more than once). After `max_retries`, or on any
  other error, the futures of every event not acknowledged yet fail with the typed
  `BadgeflowError`; the publisher stays usable and opens a new stream for the next
  events.

`EventPublisher` (threads) and `AsyncEventPublisher` (asyncio) drive the same
`_Batching` state; they differ only in how they wait. Create them with
`BadgeflowClient.publisher()` or `AsyncBadgeflowClient.publisher()`.

    >>> with client.publisher(batch_size=100, linger_ms=5) as publisher:  # doctest: +SKIP
    ...     futures = [publisher.publish(event) for event in events]
    >>> [future.result().outcome for future in futures][:1]  # doctest: +SKIP
    [1]
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import enum
import logging
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias

import grpc
from badgeflow.v1 import event_pb2, event_service_pb2

from badgeflow_client import _calls
from badgeflow_client.errors import BadgeflowError, Cancelled, Internal, Unavailable
from badgeflow_client.errors import from_rpc_error as _from_rpc_error

__all__ = [
    "DEFAULT_LINGER_MS",
    "DEFAULT_MAX_IN_FLIGHT",
    "DEFAULT_MAX_RETRIES",
    "AsyncEventPublisher",
    "EventPublisher",
]

DEFAULT_LINGER_MS = 5.0
"""Milliseconds a batch waits for more events after its first one before it is sent."""
DEFAULT_MAX_IN_FLIGHT = 10
"""Sealed batches that may wait for their acknowledgement before `publish` waits."""
DEFAULT_MAX_RETRIES = 8
"""New streams opened in a row after UNAVAILABLE before the pending futures fail."""
RETRY_BACKOFF_INITIAL = 0.1
"""Seconds before the first new stream; doubled each time, up to `RETRY_BACKOFF_MAX`."""
RETRY_BACKOFF_MAX = 2.0

_LOG = logging.getLogger(__name__)
_BROKEN_WRITE = "Internal error from Core"
"""What grpc.aio reports instead of the server's status when a write races the end of
the stream (grpc/grpc#36066): the stream broke, nothing from badgeflow."""


def _retryable(error: BadgeflowError) -> bool:
    """UNAVAILABLE, or a stream that broke under a write (INTERNAL with no badgeflow
    reason: the server's own INTERNAL errors always carry one)."""
    if error.code is grpc.StatusCode.UNAVAILABLE:
        return True
    return (
        error.code is grpc.StatusCode.INTERNAL
        and not error.reason
        and error.message == _BROKEN_WRITE
    )


Request: TypeAlias = event_service_pb2.StreamEventsRequest
Response: TypeAlias = event_service_pb2.StreamEventsResponse


class _Future(Protocol):
    """What both kinds of future offer: `concurrent.futures.Future`, `asyncio.Future`."""

    def done(self) -> bool: ...
    def set_result(self, result: Any, /) -> None: ...
    def set_exception(self, exception: BaseException, /) -> None: ...


Outcome: TypeAlias = tuple[_Future, event_pb2.EventResult | BaseException]
"""A future and what to settle it with."""


class _End(enum.Enum):
    END = "end"


_END = _End.END
_Step: TypeAlias = Request | float | None | _End
"""What a stream's sender does next: send a request, wait that many seconds (None:
until woken), or end its request stream."""


@dataclass(frozen=True)
class _Limits:
    batch_size: int
    linger: float
    max_in_flight: int
    max_retries: int

    @classmethod
    def checked(
        cls, batch_size: int, linger_ms: float, max_in_flight: int, max_retries: int
    ) -> _Limits:
        _calls.check_batch_size(batch_size)
        if linger_ms < 0:
            raise ValueError(f"linger_ms must be 0 or more, not {linger_ms}")
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, not {max_in_flight}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be 0 or more, not {max_retries}")
        return cls(batch_size, linger_ms / 1000, max_in_flight, max_retries)


@dataclass
class _Batch:
    """A sealed batch: its request (events copied at sealing) and their futures."""

    request: Request
    futures: list[_Future]
    sends: int = 0


@dataclass
class _Batching:
    """The state both publishers share, with no I/O and no locking (the caller locks).

    Events go into the open batch; a sealed batch waits in `_sealed`, then in
    `_in_flight` once handed to a stream, until its acknowledgement. Each stream has a
    number: a stream that is no longer the current one is told to end (`next_step`
    answers `_END`). Futures settle in publish order, so `settled` is a count.
    """

    limits: _Limits
    clock: Callable[[], float] = time.monotonic
    closing: bool = False
    published: int = 0
    acked: int = 0
    failed: int = 0
    settled: int = 0
    batches_sent: int = 0
    retries: int = 0
    resent: int = 0
    _open_events: list[event_pb2.Event] = field(default_factory=list)
    _open_futures: list[_Future] = field(default_factory=list)
    _opened_at: float = 0.0
    _sealed: deque[_Batch] = field(default_factory=deque)
    _in_flight: deque[_Batch] = field(default_factory=deque)
    _stream: int = 0
    _sequence: int = 0
    _failures: int = 0
    _flush_upto: int = 0

    # -- the publishing side --------------------------------------------------------

    def accepts(self) -> bool:
        """True when `add` may be called now (or the publisher is closing)."""
        return self.closing or len(self._open_events) < self.limits.batch_size or self._can_seal()

    def add(self, event: event_pb2.Event, future: _Future) -> bool:
        """Put an event in the open batch; True when the sender should be woken."""
        if len(self._open_events) >= self.limits.batch_size:
            self._seal()
        self._open_events.append(event)
        self._open_futures.append(future)
        self.published += 1
        if len(self._open_events) == 1:
            self._opened_at = self.clock()
            return True
        if len(self._open_events) == self.limits.batch_size and self._can_seal():
            self._seal()
            return True
        return False

    def request_flush(self) -> int:
        """Seal the open batch without waiting; returns how many events must settle."""
        self._flush_upto = self.published
        return self.published

    def has_work(self) -> bool:
        return bool(self._open_events or self._sealed or self._in_flight)

    def _can_seal(self) -> bool:
        return len(self._sealed) + len(self._in_flight) < self.limits.max_in_flight

    def _seal(self) -> None:
        request = Request(events=self._open_events)
        self._sealed.append(_Batch(request, self._open_futures))
        self._open_events, self._open_futures = [], []

    def _seal_if_due(self, now: float) -> None:
        if not self._open_events or not self._can_seal():
            return
        first_unsealed = self.published - len(self._open_events)
        if (
            len(self._open_events) >= self.limits.batch_size
            or now >= self._opened_at + self.limits.linger
            or self._flush_upto > first_unsealed
        ):
            self._seal()

    # -- the stream side ------------------------------------------------------------

    def start_stream(self) -> int:
        self._stream += 1
        self._sequence = 0
        return self._stream

    def next_step(self, stream: int) -> _Step:
        """The next request for `stream` to send, or how long to wait, or `_END`."""
        if stream != self._stream:
            return _END
        now = self.clock()
        self._seal_if_due(now)
        if self._sealed:
            return self._send(self._sealed.popleft())
        if self.closing and not self._open_events:
            return _END
        if self._open_events and self._can_seal():
            return max(0.0, self._opened_at + self.limits.linger - now)
        return None

    def _send(self, batch: _Batch) -> Request:
        self._sequence += 1
        batch.request.sequence = self._sequence
        if batch.sends:
            self.resent += len(batch.futures)
        batch.sends += 1
        self._in_flight.append(batch)
        self.batches_sent += 1
        return batch.request

    def on_response(self, response: Response) -> list[Outcome]:
        """Match an acknowledgement with the oldest batch in flight."""
        if not self._in_flight:
            raise Internal(f"acknowledgement of batch {response.sequence}, which was never sent")
        batch = self._in_flight[0]
        results = _calls.acknowledged(batch.request.sequence, response)
        if len(results) != len(batch.futures):
            raise Internal(
                f"batch {response.sequence} of {len(batch.futures)} events was acknowledged "
                f"with {len(results)} results"
            )
        self._in_flight.popleft()
        self.acked += len(results)
        self._failures = 0
        return list(zip(batch.futures, results, strict=True))

    def end_stream(self, error: BadgeflowError | None) -> tuple[float | None, list[Outcome]]:
        """After the current stream ended: the seconds to wait before a new stream
        (None: open one when there is work), and the futures to fail."""
        self._stream += 1  # its sender, if still waiting, ends
        if not self._in_flight and (error is None or not self.has_work()):
            return None, []
        if error is None:
            error = Unavailable(
                f"the server ended the stream with {len(self._in_flight)} batches unacknowledged"
            )
        self._sealed.extendleft(reversed(self._in_flight))
        self._in_flight.clear()
        self._failures += 1
        if _retryable(error) and self._failures <= self.limits.max_retries:
            self.retries += 1
            return self._backoff(error), []
        return None, self.fail_all(error)

    def _backoff(self, error: BadgeflowError) -> float:
        delay = min(RETRY_BACKOFF_INITIAL * 2 ** (self._failures - 1), RETRY_BACKOFF_MAX)
        return max(delay, error.retry_after or 0.0)

    def fail_all(self, error: BaseException) -> list[Outcome]:
        """Give up on every event not acknowledged yet."""
        futures = [f for batch in (*self._in_flight, *self._sealed) for f in batch.futures]
        futures += self._open_futures
        self._in_flight.clear()
        self._sealed.clear()
        self._open_events, self._open_futures = [], []
        self._stream += 1
        self._failures = 0
        self.failed += len(futures)
        return [(future, error) for future in futures]


def _settle(outcomes: list[Outcome]) -> None:
    """Resolve futures (outside any lock: their callbacks run here)."""
    for future, outcome in outcomes:
        if future.done():  # an asyncio future the caller cancelled
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


def _check_event(event: event_pb2.Event) -> None:
    if not isinstance(event, event_pb2.Event):
        raise TypeError(f"publish takes a badgeflow.v1.Event, not {type(event).__name__}")
    if not event.id:
        raise ValueError("an event needs an id: the server de-duplicates by it")


def _closed_error() -> RuntimeError:
    return RuntimeError("the publisher is closed")


def _no_room(timeout: float | None) -> TimeoutError:
    return TimeoutError(f"no room for the event within {timeout} s: the server is behind")


def _unsettled(timeout: float | None) -> TimeoutError:
    return TimeoutError(f"events still unacknowledged after {timeout} s")


def _abandoned() -> Cancelled:
    return Cancelled("the publisher was closed before the event was acknowledged")


def _stopped(error: Exception) -> Internal:
    return Internal(f"the publisher stopped on an unexpected error: {error!r}")


class _Counter:
    """A read-only counter of the publisher, read from its `_Batching` state."""

    def __init__(self, doc: str) -> None:
        self.__doc__ = doc
        self._name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, publisher: Any, owner: type | None = None) -> Any:
        if publisher is None:
            return self
        return getattr(publisher._core, self._name)


class _PublisherBase:
    """Options, counters and checks shared by both publishers."""

    def __init__(
        self,
        open_stream: Callable[[Any], Any],
        *,
        batch_size: int,
        linger_ms: float = DEFAULT_LINGER_MS,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        max_retries: int = DEFAULT_MAX_RETRIES,
    ) -> None:
        """`open_stream(requests)` starts a StreamEvents call (the client's factory
        passes its stub with the call metadata)."""
        self._core = _Batching(_Limits.checked(batch_size, linger_ms, max_in_flight, max_retries))
        self._open_stream = open_stream
        self._call: Any = None
        self._abandon = False
        self._start()

    def _start(self) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        limits = self._core.limits
        return (
            f"{type(self).__name__}(batch_size={limits.batch_size}, "
            f"linger_ms={limits.linger * 1000:g}, max_in_flight={limits.max_in_flight}, "
            f"published={self.published}, acked={self.acked})"
        )

    published = _Counter("Events accepted by `publish` so far.")
    acked = _Counter("Events the server acknowledged, whatever their outcome.")
    failed = _Counter("Events whose future failed with an exception.")
    batches_sent = _Counter("StreamEventsRequests sent, resends included.")
    retries = _Counter("New streams opened after a stream broke (UNAVAILABLE).")
    resent = _Counter("Events sent again on a new stream (their result may be DUPLICATE).")


class EventPublisher(_PublisherBase):
    """Publish events one at a time from any number of threads; they are sent in
    batches on one `StreamEvents` stream (see the module docstring for the rules).

    Create it with `BadgeflowClient.publisher()`, and close it (or use it as a context
    manager) before the client. `publish` returns a `concurrent.futures.Future` that
    resolves with the event's `EventResult`, or fails with a `BadgeflowError`.

    Example:
        >>> with client.publisher(batch_size=100, linger_ms=5) as publisher:  # doctest: +SKIP
        ...     future = publisher.publish(event)
        ...     print(future.result(timeout=10).outcome == event_pb2.EVENT_OUTCOME_ACCEPTED)
        True
    """

    def _start(self) -> None:
        self._changed = threading.Condition()
        self._runner = threading.Thread(target=self._run, name="badgeflow-publisher", daemon=True)
        self._runner.start()

    def __enter__(self) -> EventPublisher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def publish(
        self, event: event_pb2.Event, timeout: float | None = None
    ) -> concurrent.futures.Future[event_pb2.EventResult]:
        """Add `event` to the open batch and return its future at once.

        Blocks while `max_in_flight` batches wait for acknowledgements and the open
        batch is full; `TimeoutError` if no room came within `timeout` seconds. Raises
        `ValueError` for an event without an id, `RuntimeError` once closed. Treat a
        published event as frozen: it is copied when its batch is sealed.

        Example:
            >>> publisher.publish(event).result().event_id  # doctest: +SKIP
            'e1'
        """
        _check_event(event)
        future: concurrent.futures.Future[event_pb2.EventResult] = concurrent.futures.Future()
        future.set_running_or_notify_cancel()  # it cannot be cancelled: the event is sent
        with self._changed:
            if not self._core.accepts() and not self._changed.wait_for(self._core.accepts, timeout):
                raise _no_room(timeout)
            if self._core.closing:
                raise _closed_error()
            if self._core.add(event, future):
                self._changed.notify_all()
        return future

    def flush(self, timeout: float | None = None) -> None:
        """Send the open batch now and wait until every event published so far has its
        result (or its exception); `TimeoutError` after `timeout` seconds.

        Example:
            >>> publisher.flush(timeout=10)  # doctest: +SKIP
        """
        with self._changed:
            target = self._core.request_flush()
            self._changed.notify_all()
            if not self._changed.wait_for(lambda: self._core.settled >= target, timeout):
                raise _unsettled(timeout)

    def close(self, timeout: float | None = None) -> None:
        """Stop accepting events, send what is left, wait for the acknowledgements and
        end the stream. After `timeout` seconds, the futures still pending fail with
        `Cancelled` and the stream is cancelled. Calling it again does nothing.

        Example:
            >>> publisher.close(timeout=30)  # doctest: +SKIP
        """
        with self._changed:
            self._core.closing = True
            self._core.request_flush()
            self._changed.notify_all()
        self._runner.join(timeout)
        if self._runner.is_alive():
            with self._changed:
                self._abandon = True
                outcomes = self._core.fail_all(_abandoned())
                call = self._call
                self._changed.notify_all()
            if call is not None:
                call.cancel()
            self._settled(outcomes)
            self._runner.join()

    # -- the runner thread ------------------------------------------------------------

    def _settled(self, outcomes: list[Outcome]) -> None:
        _settle(outcomes)
        with self._changed:
            self._core.settled += len(outcomes)
            self._changed.notify_all()

    def _run(self) -> None:
        try:
            while self._next_stream():
                pass
        except Exception as error:  # e.g. the client was closed: fail, never hang
            _LOG.exception("the event publisher stopped")
            with self._changed:
                self._core.closing = True
                outcomes = self._core.fail_all(_stopped(error))
            self._settled(outcomes)

    def _next_stream(self) -> bool:
        """Open a stream once there is work and run it; False when closed."""
        with self._changed:
            self._changed.wait_for(lambda: self._core.has_work() or self._core.closing)
            if not self._core.has_work():
                return False
            stream = self._core.start_stream()
            self._call = self._open_stream(self._requests(stream))
        error = self._read(self._call)
        with self._changed:
            delay, outcomes = self._core.end_stream(error)
        self._settled(outcomes)
        if delay is not None:
            with self._changed:
                self._changed.wait_for(lambda: self._abandon, delay)
        return True

    def _read(self, call: Any) -> BadgeflowError | None:
        try:
            for response in call:
                with self._changed:
                    outcomes = self._core.on_response(response)
                self._settled(outcomes)
        except grpc.RpcError as error:
            return _from_rpc_error(error)
        except BadgeflowError as error:
            return error
        finally:
            call.cancel()  # no-op when it ended; stops it after a protocol error
        return None

    def _requests(self, stream: int) -> Iterator[Request]:
        """The request stream, read by gRPC's own thread."""
        while True:
            with self._changed:
                step = self._core.next_step(stream)
                while step is None or isinstance(step, float):
                    self._changed.wait(step)
                    step = self._core.next_step(stream)
                self._changed.notify_all()  # sealing made room for blocked publishers
            if step is _END:
                return
            yield step


class AsyncEventPublisher(_PublisherBase):
    """Publish events one at a time from asyncio tasks; they are sent in batches on one
    `StreamEvents` stream (see the module docstring for the rules).

    Create it with `AsyncBadgeflowClient.publisher()` inside the event loop that uses
    it, and close it (or use `async with`) before the client. `publish` is a coroutine
    that returns as soon as the event is in a batch (it waits only for room, under
    back-pressure) and gives an `asyncio.Future` for the event's `EventResult`: await
    the coroutine, then the future when you need the result. Cancelling that future
    only stops you waiting: the event is still sent.

    Example:
        >>> async with client.publisher() as publisher:  # doctest: +SKIP
        ...     future = await publisher.publish(event)
        ...     print((await future).outcome == event_pb2.EVENT_OUTCOME_ACCEPTED)
        True
    """

    def _start(self) -> None:
        self._changed = asyncio.Condition()
        self._runner: asyncio.Task[None] | None = None  # started by the first publish

    async def __aenter__(self) -> AsyncEventPublisher:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def publish(
        self, event: event_pb2.Event, timeout: float | None = None
    ) -> asyncio.Future[event_pb2.EventResult]:
        """Add `event` to the open batch and return its future.

        Waits while `max_in_flight` batches wait for acknowledgements and the open batch
        is full; `TimeoutError` if no room came within `timeout` seconds. Raises
        `ValueError` for an event without an id, `RuntimeError` once closed.

        Example:
            >>> future = await publisher.publish(event)  # doctest: +SKIP
            >>> (await future).event_id  # doctest: +SKIP
            'e1'
        """
        _check_event(event)
        async with self._changed:
            if not self._core.accepts():
                try:
                    async with asyncio.timeout(timeout):
                        await self._changed.wait_for(self._core.accepts)
                except TimeoutError:
                    raise _no_room(timeout) from None
            if self._core.closing:
                raise _closed_error()
            future: asyncio.Future[event_pb2.EventResult] = (
                asyncio.get_running_loop().create_future()
            )
            if self._core.add(event, future):
                self._changed.notify_all()
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name="badgeflow-publisher")
        return future

    async def flush(self, timeout: float | None = None) -> None:
        """Send the open batch now and wait until every event published so far has its
        result (or its exception); `TimeoutError` after `timeout` seconds.

        Example:
            >>> await publisher.flush(timeout=10)  # doctest: +SKIP
        """
        async with self._changed:
            target = self._core.request_flush()
            self._changed.notify_all()
            try:
                async with asyncio.timeout(timeout):
                    await self._changed.wait_for(lambda: self._core.settled >= target)
            except TimeoutError:
                raise _unsettled(timeout) from None

    async def close(self, timeout: float | None = None) -> None:
        """Stop accepting events, send what is left, wait for the acknowledgements and
        end the stream; after `timeout` seconds the futures still pending fail with
        `Cancelled`. See `EventPublisher.close`.

        Example:
            >>> await publisher.close(timeout=30)  # doctest: +SKIP
        """
        async with self._changed:
            self._core.closing = True
            self._core.request_flush()
            self._changed.notify_all()
        if self._runner is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._runner), timeout)
        if not self._runner.done():
            self._abandon = True
            outcomes = self._core.fail_all(_abandoned())
            if self._call is not None:
                self._call.cancel()
            await self._settled(outcomes)
        await self._runner

    # -- the runner task --------------------------------------------------------------

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _settled(self, outcomes: list[Outcome]) -> None:
        _settle(outcomes)
        self._core.settled += len(outcomes)
        await self._notify()

    async def _run(self) -> None:
        try:
            while await self._next_stream():
                pass
        except Exception as error:  # e.g. the client was closed: fail, never hang
            _LOG.exception("the event publisher stopped")
            self._core.closing = True
            await self._settled(self._core.fail_all(_stopped(error)))

    async def _next_stream(self) -> bool:
        """Open a stream once there is work and run it; False when closed."""
        async with self._changed:
            await self._changed.wait_for(lambda: self._core.has_work() or self._core.closing)
        if not self._core.has_work():
            return False
        self._call = self._open_stream(self._requests(self._core.start_stream()))
        delay, outcomes = self._core.end_stream(await self._read(self._call))
        await self._settled(outcomes)
        if delay is not None:
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._changed.wait_for(lambda: self._abandon)
        return True

    async def _read(self, call: Any) -> BadgeflowError | None:
        try:
            async for response in call:
                await self._settled(self._core.on_response(response))
        except grpc.RpcError as error:
            return _from_rpc_error(error)
        except BadgeflowError as error:
            return error
        finally:
            call.cancel()
        return None

    async def _requests(self, stream: int) -> AsyncIterator[Request]:
        """The request stream, read by gRPC's task."""
        while True:
            async with self._changed:
                step = self._core.next_step(stream)
                if step is None or isinstance(step, float):
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(step):
                            await self._changed.wait()
                    continue
                self._changed.notify_all()  # sealing made room for waiting publishers
            if step is _END:
                return
            yield step
