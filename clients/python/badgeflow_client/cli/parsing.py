"""Building badgectl's argparse tree: every command gets `--help` with a one-line
description and, where it matters, an example in its epilog."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from badgeflow_client.cli.console import Handler, InputError
from badgeflow_client.client import DEFAULT_RPC_TIMEOUT

MAX_BATCH_SIZE = 1000
"""Events per batch the server accepts."""
DEFAULT_SERVER = "127.0.0.1:50151"
SERVER_ENV = "BADGEFLOW_SERVER"
API_KEY_ENV = "BADGEFLOW_API_KEY"
TLS_ENV = "BADGEFLOW_TLS"
CA_FILE_ENV = "BADGEFLOW_CA_FILE"

__all__ = [
    "API_KEY_ENV",
    "CA_FILE_ENV",
    "DEFAULT_SERVER",
    "MAX_BATCH_SIZE",
    "SERVER_ENV",
    "TLS_ENV",
    "add_command",
    "add_global_options",
    "add_group",
    "batch_size",
    "iso_time",
    "leaves",
    "percent",
    "positive",
    "positive_float",
    "read_text",
]


def add_global_options(parser: argparse.ArgumentParser, *, after: bool = False) -> None:
    """The connection and output options. On a command (`after`) they may follow it,
    `badgectl progress learner ada --json`, and default to what was given before it."""

    def default(value: object) -> object:
        return argparse.SUPPRESS if after else value

    target: Any = parser
    if after:
        target = parser.add_argument_group("global options (before or after the command)")
    target.add_argument(
        "--server",
        default=default(os.environ.get(SERVER_ENV) or DEFAULT_SERVER),
        metavar="HOST:PORT",
        help=f"badgeflow address (${SERVER_ENV}, else {DEFAULT_SERVER})",
    )
    target.add_argument(
        "--api-key",
        default=default(None),
        metavar="KEY",
        help=f"API key sent as a bearer token (${API_KEY_ENV}; prefer the variable: "
        "arguments show in `ps`)",
    )
    target.add_argument(
        "--tls",
        action="store_true",
        default=default(None),
        help=f"connect over TLS (${TLS_ENV}=1); the system's roots unless --ca-file",
    )
    target.add_argument(
        "--ca-file",
        default=default(None),
        metavar="FILE",
        help=f"PEM roots to check the server's certificate (${CA_FILE_ENV}); implies --tls",
    )
    target.add_argument(
        "--json",
        action="store_true",
        default=default(False),
        help="print responses as JSON (proto field names)",
    )
    target.add_argument(
        "--timeout",
        type=float,
        default=default(DEFAULT_RPC_TIMEOUT),
        metavar="SECONDS",
        help=f"deadline of each call (default {DEFAULT_RPC_TIMEOUT:g})",
    )


def add_group(commands: Any, name: str, help_text: str) -> Any:
    """A command group (`rules`, `templates`, …); returns its subparsers."""
    group = commands.add_parser(name, help=help_text, description=_sentence(help_text))
    return group.add_subparsers(dest="action", required=True, metavar="ACTION")


def add_command(
    group: Any, name: str, handler: Handler, help_text: str, example: str = ""
) -> argparse.ArgumentParser:
    """One leaf command; `example` (shell lines) goes to the end of its `--help`."""
    parser = group.add_parser(
        name,
        help=help_text,
        description=_sentence(help_text),
        epilog=f"example:\n{example}" if example else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=handler)
    add_global_options(parser, after=True)
    return parser


def _sentence(text: str) -> str:
    return text[0].upper() + text[1:] + "."


def leaves(parser: argparse.ArgumentParser) -> Iterator[tuple[str, ...]]:
    """Every leaf command's words, e.g. ("rules", "backfill"), in definition order."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                inner = list(leaves(sub))
                yield from ((name, *rest) for rest in inner) if inner else [(name,)]


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def batch_size(text: str) -> int:
    value = positive(text)
    if value > MAX_BATCH_SIZE:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_BATCH_SIZE}, not {value}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0, not {text}")
    return value


def percent(text: str) -> float:
    try:
        value = float(text.removesuffix("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a percentage: {text!r}") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"must be between 0 and 100, not {text}")
    return value


def iso_time(text: str) -> datetime:
    """An ISO 8601 time (`2026-11-23`, `2026-11-23T10:00Z`); without a zone it is UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 time: {text!r} (e.g. 2026-11-23T10:00Z)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def read_text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read {path}: {error}") from None
