"""A gRPC EventService that acks every event as accepted and does nothing else: the
baseline for ingest, with the same protocol and batching as the real server."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import grpc
from badgeflow.v1 import event_pb2, event_service_pb2, event_service_pb2_grpc

from bench.measure import stream_events


def _acks(events: list[event_pb2.Event]) -> list[event_pb2.EventResult]:
    return [
        event_pb2.EventResult(event_id=e.id, outcome=event_pb2.EVENT_OUTCOME_ACCEPTED)
        for e in events
    ]


class NullEventService(event_service_pb2_grpc.EventServiceServicer):
    async def StreamEvents(
        self,
        request_iterator: AsyncIterator[event_service_pb2.StreamEventsRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[event_service_pb2.StreamEventsResponse]:
        async for request in request_iterator:
            yield event_service_pb2.StreamEventsResponse(
                sequence=request.sequence, results=_acks(list(request.events))
            )


async def _serve() -> None:
    server = grpc.aio.server()
    event_service_pb2_grpc.add_EventServiceServicer_to_server(NullEventService(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(port, flush=True)
    await server.wait_for_termination()


@contextmanager
def running_null_sink() -> Iterator[str]:
    """The null sink in its own process (as the server is), yielding its target."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.null_sink"], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    try:
        yield f"127.0.0.1:{proc.stdout.readline().strip()}"
    finally:
        proc.terminate()
        proc.wait(30)
        proc.stdout.close()


def measure(
    events: Sequence[event_pb2.Event],
    batch: int,
    rate: float = 0.0,
    skip: int = 0,
    sender: Callable[..., dict[str, Any]] = stream_events,
) -> dict[str, Any]:
    """The same SDK sender as against the server, against the null sink."""
    with running_null_sink() as target:
        return sender(target, events, batch, rate, skip)


if __name__ == "__main__":
    try:
        asyncio.run(_serve())
    except KeyboardInterrupt:
        sys.exit(0)
