"""The batching publishers (`client.publisher()`) against the real server, and against a
fake EventService on a real grpc.aio server for what the real one will not do on cue:
hold its acknowledgements, or drop the stream part-way.

Sync publishers run in a worker thread (`asyncio.to_thread`), off the servers' loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from badgeflow.v1 import event_pb2, event_service_pb2, event_service_pb2_grpc
from badgeflow_client import (
    AsyncBadgeflowClient,
    BadgeflowClient,
    EventPublisher,
    Unavailable,
)

from server.app import App, build_server
from server.settings import Settings
from tests.conftest import TEST_SECRET_KEY
from tests.service.sdk_harness import FLAVOURS
from tests.service.test_sdk import ACCEPTED, DUPLICATE, passed

Results = list[event_pb2.EventResult]


def learner_events(count: int, prefix: str = "e") -> list[event_pb2.Event]:
    return [passed(f"{prefix}{i}", f"L{i % 50}") for i in range(count)]


@dataclass
class Published:
    """What a publisher gave: each event's result (or exception), and its counters."""

    results: list[event_pb2.EventResult | BaseException]
    metrics: dict[str, int]


def _metrics(publisher: Any) -> dict[str, int]:
    names = ("published", "acked", "failed", "batches_sent", "retries", "resent")
    return {name: getattr(publisher, name) for name in names}


def _outcome(future: Any) -> event_pb2.EventResult | BaseException:
    return future.exception() or future.result()


async def publish_all(
    flavour: str, target: str, events: Sequence[event_pb2.Event], **options: Any
) -> Published:
    """Publish `events` one by one with a sync or async publisher, then close it."""
    if flavour == "sync":

        def run() -> Published:
            with BadgeflowClient(target) as client, client.publisher(**options) as publisher:
                futures = [publisher.publish(event) for event in events]
            return Published([_outcome(f) for f in futures], _metrics(publisher))

        return await asyncio.to_thread(run)
    async with AsyncBadgeflowClient(target) as client:
        async with client.publisher(**options) as publisher:
            futures = [await publisher.publish(event) for event in events]
        return Published([_outcome(f) for f in futures], _metrics(publisher))


def outcomes(published: Published) -> list[tuple[str, int] | str]:
    return [
        type(r).__name__ if isinstance(r, BaseException) else (r.event_id, r.outcome)
        for r in published.results
    ]


# -- the real server ------------------------------------------------------------------


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_ten_thousand_events_one_by_one_travel_in_batches(target: str, flavour: str) -> None:
    events = learner_events(10_000)
    published = await publish_all(flavour, target, events, batch_size=100)
    assert outcomes(published) == [(e.id, ACCEPTED) for e in events]
    assert published.metrics["published"] == published.metrics["acked"] == 10_000
    assert 100 <= published.metrics["batches_sent"] <= 110
    assert (published.metrics["retries"], published.metrics["failed"]) == (0, 0)


async def test_one_event_is_acknowledged_after_the_linger_without_a_flush(target: str) -> None:
    def run() -> tuple[event_pb2.EventResult, int]:
        with BadgeflowClient(target) as client, client.publisher(linger_ms=5) as publisher:
            result = publisher.publish(passed("e1", "L1")).result(timeout=10)
            return result, publisher.batches_sent

    result, batches = await asyncio.to_thread(run)
    assert (result.event_id, result.outcome, batches) == ("e1", ACCEPTED, 1)


async def test_one_event_is_acknowledged_after_the_linger_async(target: str) -> None:
    async with AsyncBadgeflowClient(target) as client:
        async with client.publisher(linger_ms=5) as publisher:
            future = await publisher.publish(passed("e1", "L1"))
            result = await asyncio.wait_for(future, 10)
            assert (result.event_id, result.outcome, publisher.batches_sent) == ("e1", ACCEPTED, 1)


async def test_flush_waits_for_every_result_and_close_ends_the_publisher(target: str) -> None:
    def run() -> None:
        with BadgeflowClient(target) as client:
            publisher = client.publisher(batch_size=1000, linger_ms=60_000)
            futures = [publisher.publish(e) for e in learner_events(5)]
            publisher.flush(timeout=10)  # does not wait for the minute of linger
            assert [f.done() for f in futures] == [True] * 5
            assert publisher.batches_sent == 1
            later = publisher.publish(passed("e1", "L1"))
            publisher.close()
            assert later.result().outcome == DUPLICATE  # closing sent it
            with pytest.raises(RuntimeError, match="the publisher is closed"):
                publisher.publish(passed("e9", "L9"))
            publisher.close()  # a second close does nothing

    await asyncio.to_thread(run)


async def test_flush_and_close_async(target: str) -> None:
    async with AsyncBadgeflowClient(target) as client:
        publisher = client.publisher(batch_size=1000, linger_ms=60_000)
        futures = [await publisher.publish(e) for e in learner_events(5)]
        await publisher.flush(timeout=10)
        assert [f.result().outcome for f in futures] == [ACCEPTED] * 5
        later = await publisher.publish(passed("e1", "L1"))
        await publisher.close()
        assert later.result().outcome == DUPLICATE
        with pytest.raises(RuntimeError, match="the publisher is closed"):
            await publisher.publish(passed("e9", "L9"))
        await publisher.close()


async def test_many_threads_publish_through_one_publisher(target: str) -> None:
    threads, each = 8, 500

    batches = [learner_events(each, f"t{number}-") for number in range(threads)]
    options = {"batch_size": 100, "linger_ms": 60_000}  # batches sealed on size alone

    def run() -> tuple[list[event_pb2.EventResult], EventPublisher]:
        with BadgeflowClient(target) as client, client.publisher(**options) as publisher:
            futures: list[Any] = []
            lock = threading.Lock()

            def worker(number: int) -> None:
                mine = [publisher.publish(e) for e in batches[number]]
                with lock:
                    futures.extend(mine)

            workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
            for thread in workers:
                thread.start()
            for thread in workers:
                thread.join()
        return [f.result() for f in futures], publisher

    results, publisher = await asyncio.to_thread(run)
    assert sorted(r.event_id for r in results) == sorted(
        f"t{n}-{i}" for n in range(threads) for i in range(each)
    )
    assert {r.outcome for r in results} == {ACCEPTED}
    assert publisher.published == publisher.acked == threads * each
    assert publisher.batches_sent == threads * each // 100


async def serve(sqlite_url: str, port: int = 0) -> App:
    settings = Settings(
        grpc_host="127.0.0.1",
        grpc_port=port,
        database_url=sqlite_url,
        shutdown_grace_seconds=1.0,
        secret_key=TEST_SECRET_KEY,
        http_port=0,
    )
    return await build_server(settings)


async def test_the_publisher_carries_on_after_the_server_restarts(sqlite_url: str) -> None:
    first = await serve(sqlite_url)
    target = f"127.0.0.1:{first.port}"
    client = BadgeflowClient(target)
    publisher = client.publisher(batch_size=10, linger_ms=1)
    try:

        def publish(prefix: str) -> list[Any]:
            return [publisher.publish(e) for e in learner_events(10, prefix)]

        before = await asyncio.to_thread(publish, "before-")
        await asyncio.to_thread(publisher.flush, 10)
        await first.stop(1.0)
        during = await asyncio.to_thread(publish, "during-")
        with pytest.raises(TimeoutError):  # no server: the publisher keeps trying
            await asyncio.to_thread(publisher.flush, 0.3)
        second = await serve(sqlite_url, first.port)
        try:
            await asyncio.to_thread(publisher.flush, 20)
            assert [f.result().outcome for f in before + during] == [ACCEPTED] * 20
            assert publisher.retries >= 1
            assert (publisher.acked, publisher.failed) == (20, 0)
        finally:
            await asyncio.to_thread(publisher.close)
            await second.stop(1.0)
    finally:
        client.close()


# -- a fake EventService: held acknowledgements, a dropped stream -----------------------


@dataclass
class FakeEvents(event_service_pb2_grpc.EventServiceServicer):
    """Stores event ids (a known id is DUPLICATE) and reads each stream's requests as
    they come, so it sees every batch in flight. `release` gates the acknowledgements.
    The first `drop_streams` streams end with `drop_code` once `drop_at` batches arrived
    on them, the last one stored but never acknowledged."""

    release: asyncio.Event = field(default_factory=asyncio.Event)
    drop_at: int = 0
    drop_streams: int = 1
    drop_code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE
    stored: set[str] = field(default_factory=set)
    batch_sizes: list[int] = field(default_factory=list)
    streams: int = 0
    unacked: int = 0
    max_unacked: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def _store(self, request: event_service_pb2.StreamEventsRequest) -> Results:
        results = []
        for event in request.events:
            outcome = DUPLICATE if event.id in self.stored else ACCEPTED
            self.stored.add(event.id)
            results.append(event_pb2.EventResult(event_id=event.id, outcome=outcome))
        return results

    async def until(self, predicate: Callable[[], bool]) -> None:
        while not predicate():
            self.changed.clear()
            await self.changed.wait()

    async def _read(self, requests: Any, stream: int, acks: asyncio.Queue[Any]) -> None:
        received = 0
        async for request in requests:
            received += 1
            self.batch_sizes.append(len(request.events))
            self.unacked += 1
            self.max_unacked = max(self.max_unacked, self.unacked)
            results = self._store(request)
            self.changed.set()
            if stream <= self.drop_streams and received == self.drop_at:
                await acks.put(self.drop_code)
                return
            await acks.put(
                event_service_pb2.StreamEventsResponse(sequence=request.sequence, results=results)
            )
        await acks.put(None)

    async def StreamEvents(
        self, request_iterator: Any, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[event_service_pb2.StreamEventsResponse]:
        self.streams += 1
        acks: asyncio.Queue[Any] = asyncio.Queue()
        reader = asyncio.create_task(self._read(request_iterator, self.streams, acks))
        try:
            while (ack := await acks.get()) is not None:
                if isinstance(ack, grpc.StatusCode):
                    await context.abort(ack, "the server is restarting")
                await self.release.wait()
                self.unacked -= 1
                yield ack
        finally:
            reader.cancel()


@contextlib.asynccontextmanager
async def fake_events(fake: FakeEvents) -> AsyncIterator[str]:
    server = grpc.aio.server()
    event_service_pb2_grpc.add_EventServiceServicer_to_server(fake, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(grace=None)


async def test_back_pressure_bounds_the_batches_in_flight() -> None:
    fake, loop = FakeEvents(), asyncio.get_running_loop()
    events = learner_events(41)

    def run(target: str) -> list[Any]:
        options = {"batch_size": 10, "max_in_flight": 3, "linger_ms": 60_000}
        with BadgeflowClient(target) as client, client.publisher(**options) as publisher:
            futures = [publisher.publish(e) for e in events[:40]]  # 3 batches out, 1 full
            with pytest.raises(TimeoutError, match="no room for the event within 0 s"):
                publisher.publish(events[40], timeout=0)
            three_batches = fake.until(lambda: len(fake.batch_sizes) == 3)
            asyncio.run_coroutine_threadsafe(three_batches, loop).result(timeout=10)
            assert [f.done() for f in futures] == [False] * 40
            loop.call_soon_threadsafe(fake.release.set)
            futures.append(publisher.publish(events[40]))  # waits for room, then goes
        return futures

    async with fake_events(fake) as target:
        futures = await asyncio.to_thread(run, target)
    assert [f.result().outcome for f in futures] == [ACCEPTED] * 41
    assert (fake.max_unacked, fake.batch_sizes) == (3, [10, 10, 10, 10, 1])


async def test_back_pressure_bounds_the_batches_in_flight_async() -> None:
    fake = FakeEvents()
    events = learner_events(41)
    async with fake_events(fake) as target, AsyncBadgeflowClient(target) as client:
        async with client.publisher(batch_size=10, max_in_flight=3, linger_ms=60_000) as publisher:
            futures = [await publisher.publish(e) for e in events[:40]]
            with pytest.raises(TimeoutError, match="no room for the event within 0 s"):
                await publisher.publish(events[40], timeout=0)
            await fake.until(lambda: len(fake.batch_sizes) == 3)
            waiting = asyncio.create_task(publisher.publish(events[40]))
            assert [f.done() for f in futures] == [False] * 40
            fake.release.set()
            futures.append(await waiting)
    assert [f.result().outcome for f in futures] == [ACCEPTED] * 41
    assert (fake.max_unacked, fake.batch_sizes) == (3, [10, 10, 10, 10, 1])


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_dropped_stream_is_resumed_and_every_future_resolves(flavour: str) -> None:
    fake = FakeEvents(drop_at=3)  # batch 3 is stored, then the stream drops unacknowledged
    fake.release.set()
    events = learner_events(100)
    options = {"batch_size": 10, "max_in_flight": 4, "linger_ms": 60_000}
    async with fake_events(fake) as target:
        published = await publish_all(flavour, target, events, **options)
    assert outcomes(published) == [
        (e.id, DUPLICATE if 20 <= i < 30 else ACCEPTED) for i, e in enumerate(events)
    ]
    metrics = published.metrics
    assert (metrics["retries"], metrics["acked"], metrics["failed"], fake.streams) == (1, 100, 0, 2)
    assert 10 <= metrics["resent"] <= 40  # batch 3, and those in flight behind it
    assert metrics["batches_sent"] == 10 + metrics["resent"] // 10


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_futures_fail_with_unavailable_after_max_retries(flavour: str) -> None:
    fake = FakeEvents(drop_at=1, drop_streams=99)
    fake.release.set()
    options = {"batch_size": 10, "linger_ms": 60_000, "max_retries": 2}
    async with fake_events(fake) as target:
        published = await publish_all(flavour, target, learner_events(5), **options)
    assert outcomes(published) == ["Unavailable"] * 5
    assert all(isinstance(r, Unavailable) for r in published.results)
    metrics = published.metrics
    assert (metrics["retries"], metrics["failed"], metrics["acked"], fake.streams) == (2, 5, 0, 3)


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_an_error_that_is_not_unavailable_fails_the_futures_at_once(flavour: str) -> None:
    fake = FakeEvents(drop_at=1, drop_code=grpc.StatusCode.PERMISSION_DENIED)
    fake.release.set()
    options = {"batch_size": 3, "linger_ms": 60_000}
    async with fake_events(fake) as target:
        published = await publish_all(flavour, target, learner_events(3), **options)
    assert outcomes(published) == ["PermissionDenied"] * 3
    assert (published.metrics["retries"], published.metrics["failed"], fake.streams) == (0, 3, 1)
