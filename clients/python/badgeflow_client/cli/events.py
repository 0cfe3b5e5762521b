"""`badgectl events send` (a JSON-lines file, with progress and an optional rate) and
`events tail` (the same as `awards watch`)."""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from badgeflow.v1 import event_pb2

from badgeflow_client.cli import meter
from badgeflow_client.cli.awards import add_watch
from badgeflow_client.cli.console import EXIT_FAILURES, EXIT_OK, Console, InputError
from badgeflow_client.cli.parsing import (
    add_command,
    add_group,
    batch_size,
    positive_float,
    read_text,
)
from badgeflow_client.client import DEFAULT_BATCH_SIZE, BadgeflowClient
from badgeflow_client.errors import BadgeflowError
from badgeflow_client.events import event_from_dict

__all__ = ["BATCHES_PER_SECOND", "read_events", "register", "throttled"]

BATCHES_PER_SECOND = 10
"""With `--rate`, batches are cut small enough to send about this many per second."""

_T = TypeVar("_T")


def read_events(path: str) -> list[event_pb2.Event]:
    """Parse a whole JSON-lines file before anything is sent; blank lines are skipped."""
    events = []
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            events.append(event_from_dict(json.loads(line)))
        except json.JSONDecodeError as error:
            raise InputError(f"{path}:{number}: not valid JSON: {error.msg}") from None
        except ValueError as error:
            raise InputError(f"{path}:{number}: {error}") from None
    return events


def throttled(
    items: Iterable[_T],
    per_second: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[_T]:
    """Yield `items` no faster than `per_second`: item i not before i / per_second s."""
    start = clock()
    for index, item in enumerate(items):
        delay = start + index / per_second - clock()
        if delay > 0:
            sleep(delay)
        yield item


def _describe(sent: int, total: int) -> meter.Describe:
    def describe(seconds: float) -> str:
        return f"sent {sent}/{total} events ({meter.rate(sent, seconds):.0f} events/s)"

    return describe


def _send(client: BadgeflowClient, args: argparse.Namespace, console: Console) -> int:
    events = read_events(args.file)
    size = args.batch_size
    source: Iterable[event_pb2.Event] = events
    if args.rate:
        source = throttled(events, args.rate)
        size = min(size, max(1, math.ceil(args.rate / BATCHES_PER_SECOND)))
    progress = meter.for_stream(console.err)
    counts = dict.fromkeys(event_pb2.EventOutcome.values(), 0)
    rejected = []
    try:
        for sent, result in enumerate(client.stream_events(source, size), start=1):
            counts[result.outcome] += 1
            if result.outcome == event_pb2.EVENT_OUTCOME_REJECTED:
                rejected.append(result)
            if console.as_json:
                console.message(result)
            progress.update(sent, len(events), _describe(sent, len(events)))
    except (KeyboardInterrupt, BadgeflowError) as error:
        progress.finish()
        if isinstance(error, BadgeflowError) and not sum(counts.values()):
            raise
        console.error(
            f"badgectl: stopped after {sum(counts.values())} of {len(events)} events were "
            "acknowledged; sending the file again is safe (acknowledged ids come back as "
            "duplicates)"
        )
        raise
    progress.finish()
    if not console.as_json:
        console.line(
            f"sent {sum(counts.values())}: accepted {counts[event_pb2.EVENT_OUTCOME_ACCEPTED]}, "
            f"duplicate {counts[event_pb2.EVENT_OUTCOME_DUPLICATE]}, rejected {len(rejected)}"
        )
        for result in rejected:
            console.line(
                f"  rejected {result.event_id or '(no id)'}: {result.reason_code}: {result.reason}"
            )
    return EXIT_FAILURES if rejected else EXIT_OK


def register(commands: Any) -> None:
    sub = add_group(commands, "events", "send learner events and tail the awards they make")
    send = add_command(
        sub,
        "send",
        _send,
        "stream the events of a JSON-lines file; exit 1 if any is rejected",
        "  badgectl events send events.jsonl --batch-size 500\n"
        "  badgectl events send events.jsonl --rate 200   # at most 200 events/s",
    )
    send.add_argument(
        "file", metavar="FILE.jsonl", help="one event per line (see badgeflow_client.events)"
    )
    send.add_argument(
        "--batch-size",
        type=batch_size,
        default=DEFAULT_BATCH_SIZE,
        metavar="N",
        help=f"events per batch, at most 1000 (default {DEFAULT_BATCH_SIZE})",
    )
    send.add_argument(
        "--rate",
        type=positive_float,
        default=None,
        metavar="EVENTS_PER_S",
        help="send at most this many events per second (default: as fast as acknowledged)",
    )
    add_watch(sub, "tail", "print awards and revocations as they happen (as `awards watch`)")
