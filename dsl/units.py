"""Words of the issuing and window lines: time units and issue methods."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["EXPIRY_UNITS", "ISSUE_METHODS", "WINDOW_UNITS", "unit_name"]

WINDOW_UNITS = ("hours", "days", "weeks")
EXPIRY_UNITS = ("days", "weeks", "months", "years")
ISSUE_METHODS = ("issue", "update", "issue_or_update")


def unit_name(word: str, units: Sequence[str]) -> str | None:
    """The plural unit ``word`` names (``day`` and ``days`` -> ``days``), or None."""
    for unit in units:
        if word in (unit, unit[:-1]):
            return unit
    return None
