"""The state machines of stateful requirements: counting, distinct values, order.

Each takes the requirement's small JSON-able state (None at first) and one matching
event, and returns the new state and whether the requirement is now fulfilled. The
engine persists the state between events, so no evaluation ever replays the event log.
Timestamps in state are ISO 8601 strings, so the state stores as JSON unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

__all__ = ["MISSING", "advance_count", "advance_distinct", "advance_sequence", "lookup"]

State = dict[str, Any] | None
MISSING = object()


def lookup(payload: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """The value at a key path, or MISSING when a key is absent or a parent is not a dict."""
    value: Any = payload
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return MISSING
        value = value[key]
    return value


def _iso(at: datetime) -> str:
    return at.isoformat()


def _since(window: timedelta | None, at: datetime) -> datetime | None:
    return None if window is None else at - window


def advance_count(
    state: State, threshold: int, window: timedelta | None, at: datetime
) -> tuple[State, bool]:
    """N matching events (within a rolling window: N whose times span at most the window)."""
    if window is None:
        count = (state or {}).get("n", 0) + 1
        return {"n": count}, count >= threshold
    oldest = _since(window, at)
    times = [t for t in (state or {}).get("times", []) if datetime.fromisoformat(t) >= oldest]
    times = sorted([*times, _iso(at)])[-threshold:]  # more than N are never needed
    return {"times": times}, len(times) >= threshold


def _distinct_key(value: Any) -> str | None:
    """A canonical JSON text per value, so 5 and 5.0 count once and a list can be a key."""
    if value is MISSING or value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, sort_keys=True)


def advance_distinct(
    state: State,
    threshold: int,
    window: timedelta | None,
    value: Any,
    at: datetime,
) -> tuple[State, bool]:
    """N distinct values of a key path; an event without the path does not count."""
    key = _distinct_key(value)
    seen: dict[str, str] = dict((state or {}).get("seen", {}))
    if key is None:
        return (state, False)
    seen[key] = max(seen.get(key, ""), _iso(at))
    oldest = _since(window, at)
    if oldest is not None:
        seen = {k: t for k, t in seen.items() if datetime.fromisoformat(t) >= oldest}
    return {"seen": seen}, len(seen) >= threshold


def advance_sequence(
    state: State, steps: int, slot: int, window: timedelta | None, at: datetime
) -> tuple[State, bool]:
    """Steps in order (A then B then …), optionally all within a window from the first.

    An event for the next step advances; a first-step event restarts the sequence when
    the window since the current start has passed (a fresh start may still make it)."""
    step = (state or {}).get("step", 0)
    start = (state or {}).get("start")
    expired = (
        window is not None and start is not None and at - datetime.fromisoformat(start) > window
    )
    if slot == 0 and (step == 0 or expired):
        step, start = 1, _iso(at)
    elif slot == step and not expired:
        step += 1
    else:
        return state, False
    return {"step": step, "start": start}, step >= steps
