"""Fault injection, decided once per request from a seeded RNG (reproducible runs).

Order per request: latency, then 429 or 5xx (both answered BEFORE the request is applied),
then the request is applied, then a possible drop (the connection closes with no answer).
Counters (`*_next`) win over shares (`*_rate`). Every field can be changed at runtime on
the live object; `reseed()` restarts the random sequence."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

DEFAULT_RETRY_AFTER_SECONDS = 1
DEFAULT_ERROR_STATUS = 503


@dataclass(frozen=True, slots=True)
class FaultDecision:
    latency_ms: int = 0
    status: int | None = None  # 429 or 5xx answered instead of applying
    drop: bool = False  # apply, then close the connection without an answer


@dataclass
class Faults:
    """What to inject. Example: `Faults(error_rate=0.2, seed=7)`, or at runtime
    `server.faults.drop_next = 1` to drop the next matching request after applying it."""

    latency_ms: int = 0
    error_rate: float = 0.0
    error_next: int = 0
    error_status: int = DEFAULT_ERROR_STATUS
    rate_limit_rate: float = 0.0
    rate_limit_next: int = 0
    retry_after_seconds: int = DEFAULT_RETRY_AFTER_SECONDS
    drop_rate: float = 0.0
    drop_next: int = 0
    methods: frozenset[str] = frozenset()  # only these methods (empty: all)
    path_contains: str = ""  # only paths containing this (empty: all)
    seed: int = 0
    injected: Counter[str] = field(default_factory=Counter, compare=False)
    _rng: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.reseed(self.seed)

    def reseed(self, seed: int) -> None:
        self.seed = seed
        self._rng = random.Random(seed)

    def clear(self) -> None:
        """No more faults (the counters of what was injected stay)."""
        self.latency_ms = self.error_next = self.rate_limit_next = self.drop_next = 0
        self.error_rate = self.rate_limit_rate = self.drop_rate = 0.0
        self.methods = frozenset()
        self.path_contains = ""

    def decide(self, method: str, path: str) -> FaultDecision:
        if (self.methods and method not in self.methods) or self.path_contains not in path:
            return FaultDecision()
        status: int | None = None
        if self._take("rate_limit_next", "rate_limit_rate"):
            status = 429
        elif self._take("error_next", "error_rate"):
            status = self.error_status
        drop = status is None and self._take("drop_next", "drop_rate")
        decision = FaultDecision(self.latency_ms, status, drop)
        kinds = [str(status)] if status is not None else []
        kinds += ["latency"] * (decision.latency_ms > 0) + ["drop"] * drop
        self.injected.update(kinds)
        return decision

    def _take(self, counter: str, rate: str) -> bool:
        if getattr(self, counter) > 0:
            setattr(self, counter, getattr(self, counter) - 1)
            return True
        share = getattr(self, rate)
        return share > 0 and self._rng.random() < share
