"""Progress of long commands (`events send`, `rules backfill`) on stderr: a bar redrawn
in place on a terminal, a plain line every `PROGRESS_INTERVAL` seconds otherwise (logs,
CI), so stdout stays the result alone."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import IO

__all__ = [
    "BAR_INTERVAL",
    "BAR_WIDTH",
    "PROGRESS_INTERVAL",
    "Describe",
    "Meter",
    "bar",
    "for_stream",
    "rate",
]

PROGRESS_INTERVAL = 1.0
"""Seconds between plain progress lines (stderr is not a terminal)."""
BAR_INTERVAL = 0.1
"""Seconds between redraws of the bar (stderr is a terminal)."""
BAR_WIDTH = 24
"""Characters inside the bar's brackets."""

Describe = Callable[[float], str]
"""Makes the progress text from the seconds elapsed; called only when something is drawn."""


def bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    """`[#########...............]  37%`"""
    share = min(done / total, 1.0) if total > 0 else 1.0
    filled = round(share * width)
    return f"[{'#' * filled}{'.' * (width - filled)}] {share * 100:3.0f}%"


class Meter:
    """Draws progress at most every `interval` seconds (always on `finish` for a bar).

    Example:
        >>> meter = for_stream(sys.stderr)  # doctest: +SKIP
        >>> meter.update(200, 1000, lambda s: f"sent 200/1000 ({200 / s:.0f}/s)")  # doctest: +SKIP
        >>> meter.finish()  # doctest: +SKIP
    """

    def __init__(
        self, stream: IO[str], *, interval: float, clock: Callable[[], float], tty: bool
    ) -> None:
        self._stream = stream
        self._interval = interval
        self._clock = clock
        self.tty = tty
        self._start = self._last = clock()
        self._drawn: tuple[int, int, Describe] | None = None
        self._pending: tuple[int, int, Describe] | None = None

    def update(self, done: int, total: int, describe: Describe) -> None:
        now = self._clock()
        self._pending = (done, total, describe)
        if now - self._last < self._interval:
            return
        self._last = now
        self._draw(now)

    def _draw(self, now: float) -> None:
        assert self._pending is not None
        done, total, describe = self._drawn = self._pending
        text = describe(now - self._start)
        if self.tty:
            self._stream.write(f"\r{bar(done, total)}  {text}\x1b[K")
            self._stream.flush()
        else:
            print(text, file=self._stream)

    def finish(self) -> None:
        """End the bar with its final state and a newline (plain lines need nothing)."""
        if not self.tty or self._pending is None:
            return
        if self._drawn is not self._pending:
            self._draw(self._clock())
        self._stream.write("\n")
        self._stream.flush()


def for_stream(stream: IO[str], clock: Callable[[], float] = time.monotonic) -> Meter:
    """A bar if `stream` is a terminal, else plain lines every `PROGRESS_INTERVAL` s."""
    tty = stream.isatty()
    return Meter(stream, interval=BAR_INTERVAL if tty else PROGRESS_INTERVAL, clock=clock, tty=tty)


def rate(count: int, seconds: float) -> float:
    """Per second, 0 before any time passed."""
    return count / seconds if seconds > 0 else 0.0
