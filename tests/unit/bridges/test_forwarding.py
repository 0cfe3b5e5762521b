"""The bus-independent core: one outcome per delivery, in order; badgeflow's acks decide
what is acknowledged, dead-lettered or left for redelivery."""

from __future__ import annotations

import pytest
from badgeflow.v1 import event_pb2
from badgeflow_client.errors import Unavailable

from server.bridges.openedx import codec
from server.bridges.openedx.envelope import Envelope
from server.bridges.openedx.forwarding import (
    BadgeflowUnreachable,
    Delivery,
    Disposition,
    Forwarder,
)
from server.bridges.openedx.mapping import OpenedxUser
from tests.unit.bridges.conftest import PASSING_BYTES, ScriptedPublisher, result


def delivery(
    ref: str, event_type: str = codec.PASSING_STATUS_UPDATED, data: bytes = PASSING_BYTES
) -> Delivery:
    return Delivery(ref, Envelope(type=event_type, id=f"id-{ref}", data=data))


def by_id(outcomes: dict[str, int]) -> ScriptedPublisher:
    return ScriptedPublisher(
        lambda e: result(e, outcomes[e.id], "MISSING_EMAIL", "say who gets the badge")
    )


async def test_each_delivery_gets_its_outcome_in_order() -> None:
    publisher = by_id(
        {
            "id-1": event_pb2.EVENT_OUTCOME_ACCEPTED,
            "id-2": event_pb2.EVENT_OUTCOME_DUPLICATE,
            "id-5": event_pb2.EVENT_OUTCOME_REJECTED,
        }
    )
    remembered: list[OpenedxUser] = []

    async def remember(users: list[OpenedxUser]) -> None:
        remembered.extend(users)

    deliveries = [
        delivery("1"),
        delivery("2"),
        delivery("3", codec.BADGE_AWARDED, b"whatever credentials wrote"),
        delivery("4", data=PASSING_BYTES[:9]),
        delivery("5"),
        Delivery("6", None, "the entry has no 'event_data' field"),
    ]
    outcomes = await Forwarder(publisher, remember).forward(deliveries)
    assert [(o.delivery.ref, o.disposition, o.reason) for o in outcomes] == [
        ("1", Disposition.ACCEPTED, ""),
        ("2", Disposition.DUPLICATE, ""),
        ("3", Disposition.SKIPPED, f"event type {codec.BADGE_AWARDED!r}"),
        (
            "4",
            Disposition.DEAD_LETTER,
            f"not a {codec.PASSING_STATUS_UPDATED} Avro payload: the bytes end inside the record",
        ),
        (
            "5",
            Disposition.DEAD_LETTER,
            "badgeflow rejected the event: MISSING_EMAIL: say who gets the badge",
        ),
        ("6", Disposition.DEAD_LETTER, "the entry has no 'event_data' field"),
    ]
    assert [e.id for e in publisher.events] == ["id-1", "id-2", "id-5"]
    assert [u.id for u in remembered] == [42, 42, 42]


async def test_an_unacknowledged_batch_settles_nothing() -> None:
    publisher = ScriptedPublisher(lambda e: Unavailable("the server went away"))
    with pytest.raises(BadgeflowUnreachable, match="^badgeflow did not acknowledge: "):
        await Forwarder(publisher).forward([delivery("1"), delivery("2")])
