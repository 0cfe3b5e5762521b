"""EventService: batches of learner events in, one ack per event out."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence

import grpc
from badgeflow.v1 import event_pb2, event_service_pb2, event_service_pb2_grpc

from server.errors import FieldViolation, InvalidArgument, grpc_errors
from server.ingest import Ingestor
from server.metrics import Metrics
from server.services.convert import ack_to_proto, event_from_proto

__all__ = ["READ_AHEAD", "EventServiceServicer"]

#: Stream messages read (and queued for ingest) ahead of the oldest unacked one.
READ_AHEAD = 16

_InFlight = tuple[int, "asyncio.Future[list[event_pb2.EventResult]]"]


class EventServiceServicer(event_service_pb2_grpc.EventServiceServicer):
    def __init__(
        self, ingestor: Ingestor, max_batch_events: int, metrics: Metrics | None = None
    ) -> None:
        self._ingestor = ingestor
        self._max_batch = max_batch_events
        self._metrics = metrics or Metrics()

    async def _process(self, events: Sequence[event_pb2.Event]) -> list[event_pb2.EventResult]:
        if len(events) > self._max_batch:
            raise InvalidArgument(
                "BATCH_TOO_LARGE",
                f"a batch may carry at most {self._max_batch} events, this one has {len(events)}",
                [
                    FieldViolation(
                        "events", f"split the batch into batches of at most {self._max_batch}"
                    )
                ],
                metadata={"max_batch_events": str(self._max_batch)},
            )
        if not events:
            return []
        started = time.perf_counter()
        acks = await self._ingestor.ingest([event_from_proto(e) for e in events])
        # Once per batch: the acks' counts, and the time from arrival to acks.
        self._metrics.batch_seconds.observe(time.perf_counter() - started)
        self._metrics.count_acks(acks)
        return [ack_to_proto(a) for a in acks]

    @grpc_errors
    async def PublishEvents(
        self, request: event_service_pb2.PublishEventsRequest, context: grpc.aio.ServicerContext
    ) -> event_service_pb2.PublishEventsResponse:
        return event_service_pb2.PublishEventsResponse(results=await self._process(request.events))

    @grpc_errors
    async def StreamEvents(
        self,
        request_iterator: AsyncIterator[event_service_pb2.StreamEventsRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[event_service_pb2.StreamEventsResponse]:
        # Messages are read ahead and handed to ingest at once, so the batches of one
        # stream can share a group commit; acks still go out in order, each after its
        # batch committed.
        in_flight: asyncio.Queue[_InFlight | None] = asyncio.Queue(maxsize=READ_AHEAD)
        reader = asyncio.ensure_future(self._read_ahead(request_iterator, in_flight))
        try:
            while (item := await in_flight.get()) is not None:
                sequence, task = item
                yield event_service_pb2.StreamEventsResponse(sequence=sequence, results=await task)
            await reader  # a failed read ends the stream with its error
        finally:
            reader.cancel()
            while not in_flight.empty():
                _abandon(in_flight.get_nowait())

    async def _read_ahead(
        self,
        requests: AsyncIterator[event_service_pb2.StreamEventsRequest],
        in_flight: asyncio.Queue[_InFlight | None],
    ) -> None:
        try:
            async for request in requests:
                task = asyncio.ensure_future(self._process(request.events))
                await in_flight.put((request.sequence, task))
        finally:
            # The sentinel follows the last batch, even when reading failed; a cancelled
            # reader's stream is already over.
            task = asyncio.current_task()
            if task is None or not task.cancelling():
                await in_flight.put(None)


def _abandon(item: _InFlight | None) -> None:
    """A batch whose ack will never be sent (the stream ended): its work goes on, and its
    outcome is read so that an error is not reported as never retrieved."""
    if item is not None:
        item[1].add_done_callback(lambda task: task.cancelled() or task.exception())
