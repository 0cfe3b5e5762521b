"""Where badgectl writes and how: results on stdout (aligned tables, or JSON with proto
field names), errors and progress on stderr, times short and in UTC."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC
from typing import IO, TYPE_CHECKING, Any

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

if TYPE_CHECKING:
    from badgeflow_client.client import BadgeflowClient

__all__ = [
    "EXIT_DENIED",
    "EXIT_FAILURES",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_PRECONDITION",
    "EXIT_SERVER_ERROR",
    "EXIT_UNREACHABLE",
    "EXIT_USAGE",
    "Console",
    "Handler",
    "InputError",
    "learner_line",
    "listing",
    "table",
    "when",
]

EXIT_OK = 0
EXIT_FAILURES = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_PRECONDITION = 4
EXIT_UNREACHABLE = 5
EXIT_SERVER_ERROR = 6
EXIT_DENIED = 7
EXIT_INTERRUPTED = 130


class InputError(Exception):
    """A bad input file or argument: reported as `badgectl: <message>` with exit code 2."""


class Console:
    """Where a command writes: stdout for results, stderr for errors and progress."""

    def __init__(
        self, as_json: bool, out: IO[str] | None = None, err: IO[str] | None = None
    ) -> None:
        self.as_json = as_json
        self.out: IO[str] = out or sys.stdout
        self.err: IO[str] = err or sys.stderr

    def line(self, text: str = "") -> None:
        print(text, file=self.out)

    def error(self, text: str) -> None:
        print(text, file=self.err)

    def message(self, message: Message, **extra: Any) -> None:
        """Print a proto as one JSON object on one line (so streams are JSON lines);
        `extra` keys are added to it."""
        data = MessageToDict(message, preserving_proto_field_name=True)
        print(json.dumps({**extra, **data}, sort_keys=True), file=self.out)

    def table(self, rows: Sequence[Sequence[str]]) -> None:
        for text in table(rows):
            self.line(text)


Handler = Callable[["BadgeflowClient", argparse.Namespace, Console], int]
"""A command: the client (None for offline commands), the parsed arguments, the console;
returns the exit code."""


def when(ts: Timestamp) -> str:
    """A timestamp as `2026-11-23 10:00Z` (UTC, to the minute), or `-` when unset."""
    if not (ts.seconds or ts.nanos):
        return "-"
    return ts.ToDatetime(tzinfo=UTC).strftime("%Y-%m-%d %H:%MZ")


def table(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows (the first is the header) as lines with columns two spaces apart."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def learner_line(learner: Any, learner_id: str = "") -> str:
    """`learner ada (ada@example.org, Ada Lovelace)`, from a `badgeflow.v1.Learner`."""
    name = " ".join(part for part in (learner.first_name, learner.last_name) if part)
    about = ", ".join(part for part in (learner.email, name) if part)
    return f"learner {learner.id or learner_id}" + (f" ({about})" if about else "")


def listing(items: Sequence[str], shown: int, total: int | None = None) -> str:
    """`a, b, c and 7 more`: the first `shown` items, then how many others (of `total`)."""
    total = len(items) if total is None else total
    text = ", ".join(items[:shown])
    more = total - min(shown, len(items))
    return f"{text} and {more} more" if more > 0 else text
