"""Retry back-off and the per-connection circuit breaker of the issuance worker."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["CircuitBreaker", "RetryPolicy"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential back-off with jitter, and how many attempts before giving up."""

    max_attempts: int = 10
    base_delay: float = 1.0
    max_delay: float = 300.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds before attempt `attempt + 1`: base·2^(attempt-1), capped, times a
        random factor in [0.5, 1.5) so failed calls do not come back in lockstep."""
        exponential = min(self.max_delay, self.base_delay * 2 ** max(attempt - 1, 0))
        return exponential * (0.5 + rng.random())


@dataclass
class CircuitBreaker:
    """Per provider connection: after `threshold` consecutive transport failures stop
    calling it for `cooldown` seconds, then let calls through again (half-open); one
    success closes it. Saves the provider (and our retry budget) during an outage."""

    clock: Callable[[], float]
    threshold: int = 5
    cooldown: float = 30.0
    _failures: dict[str, int] = field(default_factory=dict)
    _open_until: dict[str, float] = field(default_factory=dict)

    def wait(self, key: str) -> float:
        """0 when calls may go through, else seconds until they may."""
        return max(0.0, self._open_until.get(key, 0.0) - self.clock())

    def success(self, key: str) -> None:
        self._failures.pop(key, None)
        self._open_until.pop(key, None)

    def failure(self, key: str) -> None:
        count = self._failures.get(key, 0) + 1
        self._failures[key] = count
        if count >= self.threshold:
            self._open_until[key] = self.clock() + self.cooldown
            self._failures[key] = 0

    def is_open(self, key: str) -> bool:
        return self.wait(key) > 0
