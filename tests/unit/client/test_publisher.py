"""The publishers' batching rules on their shared state (a fake clock), and both
publishers over in-memory streams (fakes, no network)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
import pytest
from badgeflow.v1 import event_pb2, event_service_pb2
from badgeflow_client import AsyncEventPublisher, Cancelled, EventPublisher, Unavailable
from badgeflow_client.errors import BadgeflowError, Internal, PermissionDenied
from badgeflow_client.publisher import _END, _Batching, _Limits

ACCEPTED = event_pb2.EVENT_OUTCOME_ACCEPTED
Request = event_service_pb2.StreamEventsRequest
Response = event_service_pb2.StreamEventsResponse


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def event(number: int) -> event_pb2.Event:
    return event_pb2.Event(id=f"e{number}", type="course_passed")


def batching(
    batch_size: int = 3, linger_ms: float = 5, max_in_flight: int = 2, max_retries: int = 2
) -> tuple[_Batching, Clock, list[concurrent.futures.Future[Any]]]:
    clock = Clock()
    limits = _Limits.checked(batch_size, linger_ms, max_in_flight, max_retries)
    return _Batching(limits, clock), clock, []


def add(state: _Batching, futures: list[Any], *numbers: int) -> None:
    for number in numbers:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        state.add(event(number), future)
        futures.append(future)


def ack(request: Request) -> Response:
    results = [event_pb2.EventResult(event_id=e.id, outcome=ACCEPTED) for e in request.events]
    return Response(sequence=request.sequence, results=results)


def ids(request: Any) -> tuple[int, list[str]]:
    assert isinstance(request, Request)
    return request.sequence, [e.id for e in request.events]


# -- the batching rules -----------------------------------------------------------------


def test_a_full_batch_is_sent_at_once_and_acknowledged_in_order() -> None:
    state, _, futures = batching()
    add(state, futures, 1, 2, 3, 4)
    stream = state.start_stream()
    assert ids(state.next_step(stream)) == (1, ["e1", "e2", "e3"])
    assert state.next_step(stream) == pytest.approx(0.005)  # e4 lingers
    outcomes = state.on_response(ack(state._in_flight[0].request))
    assert [(f is futures[i], r.event_id) for i, (f, r) in enumerate(outcomes)] == [
        (True, "e1"),
        (True, "e2"),
        (True, "e3"),
    ]
    assert (state.published, state.acked, state.batches_sent) == (4, 3, 1)


def test_a_batch_is_sent_linger_ms_after_its_first_event() -> None:
    state, clock, futures = batching(batch_size=10, linger_ms=5)
    add(state, futures, 1)
    stream = state.start_stream()
    clock.now += 0.004
    add(state, futures, 2)
    assert state.next_step(stream) == pytest.approx(0.001)
    clock.now += 0.001
    assert ids(state.next_step(stream)) == (1, ["e1", "e2"])
    assert state.next_step(stream) is None  # nothing to send: wait until woken


def test_flush_seals_the_open_batch_at_once() -> None:
    state, _, futures = batching(batch_size=10, linger_ms=60_000)
    add(state, futures, 1)
    assert state.request_flush() == 1
    assert ids(state.next_step(state.start_stream())) == (1, ["e1"])


def test_at_most_max_in_flight_batches_wait_for_acknowledgements() -> None:
    state, _, futures = batching(batch_size=2, max_in_flight=2)
    add(state, futures, 1, 2, 3, 4, 5, 6)  # two sealed, the open batch full
    assert state.accepts() is False
    stream = state.start_stream()
    assert [ids(state.next_step(stream))[0] for _ in range(2)] == [1, 2]
    assert state.next_step(stream) is None  # e5 and e6 may not be sealed yet
    state.on_response(ack(state._in_flight[0].request))
    assert state.accepts() is True
    assert ids(state.next_step(stream)) == (3, ["e5", "e6"])


def test_closing_ends_the_request_stream_once_everything_is_sent() -> None:
    state, _, futures = batching(batch_size=10)
    add(state, futures, 1)
    state.closing = True
    state.request_flush()
    stream = state.start_stream()
    assert ids(state.next_step(stream)) == (1, ["e1"])
    assert state.next_step(stream) is _END


def test_a_broken_stream_resends_its_batches_in_order_with_backoff() -> None:
    state, _, futures = batching(batch_size=1, max_in_flight=3, max_retries=3)
    add(state, futures, 1, 2, 3)
    stream = state.start_stream()
    sent = [ids(state.next_step(stream)) for _ in range(3)]
    state.on_response(ack(state._in_flight[0].request))
    assert state.end_stream(Unavailable("gone")) == (pytest.approx(0.1), [])
    assert state.next_step(stream) is _END  # the old stream's sender stops
    again = state.start_stream()
    assert [ids(state.next_step(again)) for _ in range(2)] == [(1, ["e2"]), (2, ["e3"])]
    assert sent == [(1, ["e1"]), (2, ["e2"]), (3, ["e3"])]
    assert (state.retries, state.resent, state.batches_sent) == (1, 2, 5)


@pytest.mark.parametrize(
    ("retry_after", "delays"),
    [
        pytest.param(None, [0.1, 0.2, 0.4], id="doubling"),
        pytest.param(1.5, [1.5, 1.5, 1.5], id="server-retry-after"),
    ],
)
def test_retries_back_off_then_fail_every_pending_future(
    retry_after: float | None, delays: list[float]
) -> None:
    state, _, futures = batching(batch_size=1, max_in_flight=1, max_retries=3)
    add(state, futures, 1, 2)
    error = Unavailable("gone", retry_after=retry_after)
    got = []
    for _ in range(3):
        state.next_step(state.start_stream())
        got.append(state.end_stream(error)[0])
    assert got == pytest.approx(delays)
    state.next_step(state.start_stream())
    delay, outcomes = state.end_stream(error)
    assert (delay, outcomes) == (None, [(futures[0], error), (futures[1], error)])
    assert (state.failed, state.has_work()) == (2, False)


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        pytest.param(Unavailable("server restarting"), True, id="unavailable"),
        pytest.param(
            BadgeflowError("Internal error from Core", code=grpc.StatusCode.INTERNAL),
            True,
            id="aio-write-raced-the-end",
        ),
        pytest.param(Internal("internal error", reason="INTERNAL"), False, id="server-internal"),
        pytest.param(PermissionDenied("no", reason="API_KEY_SCOPE"), False, id="permission"),
    ],
)
def test_which_errors_are_retried(error: BadgeflowError, retried: bool) -> None:
    state, _, futures = batching()
    add(state, futures, 1)
    state.request_flush()
    state.next_step(state.start_stream())
    delay, outcomes = state.end_stream(error)
    assert (delay is not None, len(outcomes)) == (retried, 0 if retried else 1)


def test_a_clean_end_with_nothing_in_flight_is_no_failure() -> None:
    state, _, _ = batching()
    state.start_stream()
    assert state.end_stream(None) == (None, [])
    assert state.retries == 0


def test_an_acknowledgement_for_another_batch_is_an_error() -> None:
    state, _, futures = batching(batch_size=1)
    add(state, futures, 1)
    request = state.next_step(state.start_stream())
    assert isinstance(request, Request)
    with pytest.raises(BadgeflowError, match="got batch 7, expected 1"):
        state.on_response(Response(sequence=7))
    with pytest.raises(Internal, match="batch 1 of 1 events was acknowledged with 0 results"):
        state.on_response(Response(sequence=1))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"batch_size": 0}, "batch_size must be between 1 and 1000, not 0", id="b0"),
        pytest.param(
            {"batch_size": 1001}, "batch_size must be between 1 and 1000, not 1001", id="b1001"
        ),
        pytest.param({"linger_ms": -1}, "linger_ms must be 0 or more, not -1", id="linger"),
        pytest.param(
            {"max_in_flight": 0}, "max_in_flight must be at least 1, not 0", id="in-flight"
        ),
        pytest.param({"max_retries": -1}, "max_retries must be 0 or more, not -1", id="retries"),
    ],
)
def test_options_are_checked(options: dict[str, Any], message: str) -> None:
    limits = {"batch_size": 100, "linger_ms": 5, "max_in_flight": 10, "max_retries": 8}
    with pytest.raises(ValueError) as raised:
        _Limits.checked(**{**limits, **options})
    assert str(raised.value) == message


# -- the publishers over in-memory streams ------------------------------------------------


class FakeCall:
    """A StreamEvents call answering each request as it reads it; the first
    `fail_after` acks of the first call are followed by UNAVAILABLE."""

    calls = 0

    def __init__(self, requests: Any, fail_after: int | None) -> None:
        self.requests = requests
        self.fail_after = fail_after
        self.cancelled = threading.Event()

    def cancel(self) -> None:
        self.cancelled.set()

    def __iter__(self) -> Iterator[Response]:
        for number, request in enumerate(self.requests):
            if number == self.fail_after:
                raise Unavailable("the server restarted")
            yield ack(request)

    async def __aiter__(self) -> AsyncIterator[Response]:
        number = 0
        async for request in self.requests:
            if number == self.fail_after:
                raise Unavailable("the server restarted")
            number += 1
            yield ack(request)


def opener(fail_after: int | None = None) -> Any:
    calls: list[FakeCall] = []

    def open_stream(requests: Any) -> FakeCall:
        calls.append(FakeCall(requests, fail_after if not calls else None))
        return calls[-1]

    open_stream.calls = calls  # type: ignore[attr-defined]
    return open_stream


@pytest.mark.parametrize(
    ("fail_after", "retries"),
    [pytest.param(None, 0, id="steady"), pytest.param(1, 1, id="stream-breaks")],
)
def test_the_sync_publisher_resolves_every_future(fail_after: int | None, retries: int) -> None:
    open_stream = opener(fail_after)
    with EventPublisher(open_stream, batch_size=10, linger_ms=60_000) as publisher:
        futures = [publisher.publish(event(n)) for n in range(25)]
    assert [f.result().event_id for f in futures] == [f"e{n}" for n in range(25)]
    assert (publisher.published, publisher.acked, publisher.retries) == (25, 25, retries)
    assert len(open_stream.calls) == 1 + retries


@pytest.mark.parametrize(
    ("fail_after", "retries"),
    [pytest.param(None, 0, id="steady"), pytest.param(1, 1, id="stream-breaks")],
)
async def test_the_async_publisher_resolves_every_future(
    fail_after: int | None, retries: int
) -> None:
    open_stream = opener(fail_after)
    async with AsyncEventPublisher(open_stream, batch_size=10, linger_ms=60_000) as publisher:
        futures = [await publisher.publish(event(n)) for n in range(25)]
    assert [f.result().event_id for f in futures] == [f"e{n}" for n in range(25)]
    assert (publisher.published, publisher.acked, publisher.retries) == (25, 25, retries)


@pytest.mark.parametrize(
    ("bad", "error", "message"),
    [
        pytest.param(event_pb2.Event(type="x"), ValueError, "an event needs an id", id="no-id"),
        pytest.param({"id": "e1"}, TypeError, "takes a badgeflow.v1.Event, not dict", id="dict"),
    ],
)
def test_publish_checks_the_event_at_once(bad: Any, error: type, message: str) -> None:
    with EventPublisher(opener(), batch_size=10) as publisher, pytest.raises(error, match=message):
        publisher.publish(bad)
    assert publisher.published == 0


class SilentCall:
    """A call that never answers, until cancelled."""

    def __init__(self, requests: Any) -> None:
        self.requests = requests
        self.ended = threading.Event()

    def cancel(self) -> None:
        self.ended.set()

    def __iter__(self) -> Iterator[Response]:
        next(self.requests)
        self.ended.wait()
        raise Cancelled("cancelled")


def test_close_with_a_timeout_fails_what_is_left_and_later_publishes_are_refused() -> None:
    publisher = EventPublisher(SilentCall, batch_size=10, linger_ms=0)
    future = publisher.publish(event(1))
    publisher.close(timeout=0)
    assert isinstance(future.exception(), Cancelled)
    assert publisher.failed == 1
    with pytest.raises(RuntimeError, match="the publisher is closed"):
        publisher.publish(event(2))


async def test_an_async_publisher_that_never_published_closes_at_once() -> None:
    publisher = AsyncEventPublisher(opener(), batch_size=10)
    await publisher.close()
    with pytest.raises(RuntimeError, match="the publisher is closed"):
        await publisher.publish(event(1))
    assert repr(publisher) == (
        "AsyncEventPublisher(batch_size=10, linger_ms=5, max_in_flight=10, published=0, acked=0)"
    )


async def test_a_cancelled_async_future_does_not_stop_the_others() -> None:
    async with AsyncEventPublisher(opener(), batch_size=2, linger_ms=60_000) as publisher:
        first = await publisher.publish(event(1))
        second = await publisher.publish(event(2))
        first.cancel()
        assert (await asyncio.wait_for(second, 10)).event_id == "e2"
    assert publisher.acked == 2


def test_flush_gives_up_after_its_timeout() -> None:
    publisher = EventPublisher(SilentCall, batch_size=10, linger_ms=60_000)
    future = publisher.publish(event(1))
    with pytest.raises(TimeoutError, match="events still unacknowledged after 0 s"):
        publisher.flush(timeout=0)
    publisher.close(timeout=0)
    assert isinstance(future.exception(), Cancelled)


class SilentAsyncCall:
    """An async call that never answers, until cancelled."""

    def __init__(self, requests: Any) -> None:
        self.requests = requests
        self.ended = asyncio.Event()

    def cancel(self) -> None:
        self.ended.set()

    async def __aiter__(self) -> AsyncIterator[Response]:
        await anext(self.requests)
        await self.ended.wait()
        raise Cancelled("cancelled")
        yield  # an async generator


async def test_async_flush_and_close_give_up_after_their_timeout() -> None:
    publisher = AsyncEventPublisher(SilentAsyncCall, batch_size=10, linger_ms=60_000)
    future = await publisher.publish(event(1))
    with pytest.raises(TimeoutError, match="events still unacknowledged after 0 s"):
        await publisher.flush(timeout=0)
    await publisher.close(timeout=0)
    assert isinstance(future.exception(), Cancelled)
    assert publisher.failed == 1
