"""EventService: batches of learner events in, one ack per event out."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import grpc
from badgeflow.v1 import event_pb2, event_service_pb2, event_service_pb2_grpc

from server.errors import FieldViolation, InvalidArgument, grpc_errors
from server.ingest import Ingestor
from server.services.convert import ack_to_proto, event_from_proto

__all__ = ["EventServiceServicer"]


class EventServiceServicer(event_service_pb2_grpc.EventServiceServicer):
    def __init__(self, ingestor: Ingestor, max_batch_events: int) -> None:
        self._ingestor = ingestor
        self._max_batch = max_batch_events

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
        acks = await self._ingestor.ingest([event_from_proto(e) for e in events])
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
        async for request in request_iterator:
            results = await self._process(request.events)
            yield event_service_pb2.StreamEventsResponse(sequence=request.sequence, results=results)
