"""Timestamps in rules and in payloads.

A literal in a rule file is a bare ISO 8601 date (midnight UTC) or date-time with an
explicit offset (``Z`` or ``+02:00``); a date-time without one is refused, since it
would silently depend on the server's zone. A payload value is an ISO 8601 string (JSON
has no time type); one that does not parse, or has no offset, is not a timestamp, so it
never matches a comparison.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

__all__ = ["LiteralProblem", "parse_literal", "parse_payload"]

_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


class LiteralProblem(ValueError):
    """Why a timestamp literal is refused: ``naive`` (no offset) or ``invalid``."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


def parse_literal(text: str) -> datetime:
    """``2027-02-01`` -> midnight UTC; ``2027-02-01T10:00:00+02:00`` -> that instant.

    Raises ``LiteralProblem`` for an impossible date or a date-time without offset.
    """
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise LiteralProblem("invalid", str(exc)) from None
    if _DATE_ONLY.fullmatch(text):
        return value.replace(tzinfo=UTC)
    if value.tzinfo is None:
        raise LiteralProblem("naive", "no UTC offset")
    return value


def parse_payload(value: Any) -> datetime | None:
    """An aware datetime from an ISO 8601 string, else None (never raises)."""
    if value.__class__ is not str:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
