"""The compiled form of rule files: plain frozen data the engine runs without the grammar.

A requirement listens through one or more `Trigger`s (one event type, a payload
predicate compiled once, an optional absolute time window). Stateless requirements are
fulfilled by one matching event; counting, distinct-value and ordered requirements keep a
small JSON state that `CompiledRequirement.advance` moves forward, one event at a time.
"""

from __future__ import annotations

import calendar
import enum
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from dsl import criteria

__all__ = [
    "CompiledBadge",
    "CompiledEvidence",
    "CompiledGroup",
    "CompiledPenalty",
    "CompiledRequirement",
    "Equality",
    "Expiry",
    "IssueMethod",
    "Predicate",
    "RequirementKind",
    "RuleSet",
    "Trigger",
]

Predicate = Callable[[Mapping[str, Any]], bool]
#: A (key path, constant) pair every matching payload must have: the engine indexes
#: triggers on it so events skip requirements whose constants they cannot match.
Equality = tuple[tuple[str, ...], Any]


def _never(payload: Mapping[str, Any]) -> bool:
    return False


@dataclass(frozen=True)
class Trigger:
    """One kind of event that moves a requirement (or fires a penalty).

    `slot` is the step a trigger stands for in an ordered requirement (0 otherwise).
    `after`/`before` bound the event's `occurred_at` (`during A .. B`: A <= t < B).
    """

    event_type: str
    matches: Predicate = field(compare=False, repr=False)
    description: str = ""
    slot: int = 0
    equalities: tuple[Equality, ...] = ()
    after: datetime | None = None
    before: datetime | None = None

    def accepts(self, payload: Mapping[str, Any], at: datetime) -> bool:
        if self.after is not None and at < self.after:
            return False
        if self.before is not None and at >= self.before:
            return False
        return self.matches(payload)


class RequirementKind(enum.StrEnum):
    MATCH = "match"  # one matching event
    COUNT = "count"  # N matching events
    DISTINCT = "distinct"  # N distinct values of a key path among matching events
    SEQUENCE = "sequence"  # triggers matched in order
    HAS_BADGE = "has_badge"  # the learner holds another badge (no triggers)


_STATEFUL = frozenset({RequirementKind.COUNT, RequirementKind.DISTINCT, RequirementKind.SEQUENCE})


@dataclass(frozen=True)
class CompiledRequirement:
    """One requirement; see `RequirementKind` for what fulfils it."""

    name: str
    description: str
    triggers: tuple[Trigger, ...]
    kind: RequirementKind = RequirementKind.MATCH
    threshold: int = 1
    distinct_path: tuple[str, ...] = ()
    window: timedelta | None = None
    badge: str = ""  # HAS_BADGE: the slug of the badge that must be held

    @property
    def event_type(self) -> str:
        """The first trigger's event type ("" for HAS_BADGE), for display."""
        return self.triggers[0].event_type if self.triggers else ""

    @property
    def matches(self) -> Predicate:
        """The first trigger's payload predicate (the only one for MATCH requirements);
        never true for HAS_BADGE, which no event fulfils."""
        return self.triggers[0].matches if self.triggers else _never

    @property
    def stateful(self) -> bool:
        return self.kind in _STATEFUL

    def advance(
        self, state: dict[str, Any] | None, slot: int, payload: Mapping[str, Any], at: datetime
    ) -> tuple[dict[str, Any] | None, bool]:
        """Apply one event its trigger `slot` accepted; returns (new state, fulfilled)."""
        if self.kind is RequirementKind.COUNT:
            return criteria.advance_count(state, self.threshold, self.window, at)
        if self.kind is RequirementKind.DISTINCT:
            value = criteria.lookup(payload, self.distinct_path)
            return criteria.advance_distinct(state, self.threshold, self.window, value, at)
        if self.kind is RequirementKind.SEQUENCE:
            return criteria.advance_sequence(state, len(self.triggers), slot, self.window, at)
        return None, True


@dataclass(frozen=True)
class CompiledGroup:
    """Fulfilled when any of its requirements is; a badge needs all of its groups."""

    name: str
    requirements: tuple[CompiledRequirement, ...]


@dataclass(frozen=True)
class CompiledPenalty:
    """An event that, when its trigger accepts it, resets the progress of `resets`."""

    name: str
    description: str
    trigger: Trigger
    resets: tuple[str, ...] = ()

    @property
    def event_type(self) -> str:
        return self.trigger.event_type

    @property
    def matches(self) -> Predicate:
        return self.trigger.matches


class IssueMethod(enum.StrEnum):
    ISSUE = "issue"  # issue a new provider badge
    UPDATE = "update"  # only extend the expiry of the badge the learner holds
    ISSUE_OR_UPDATE = "issue_or_update"


@dataclass(frozen=True)
class Expiry:
    """When an awarded badge expires: a duration after the award, or a fixed time."""

    amount: int = 0
    unit: str = ""  # "days", "weeks", "months" or "years"
    on: datetime | None = None

    def expires_at(self, awarded_at: datetime) -> datetime:
        if self.on is not None:
            return self.on
        if self.unit in ("days", "weeks"):
            return awarded_at + timedelta(**{self.unit: self.amount})
        months = self.amount * (12 if self.unit == "years" else 1)
        return _add_months(awarded_at, months)


def _add_months(at: datetime, months: int) -> datetime:
    """Calendar months, the day clamped to the month's end (Jan 31 + 1 month = Feb 28/29)."""
    index = at.month - 1 + months
    year, month = at.year + index // 12, index % 12 + 1
    day = min(at.day, calendar.monthrange(year, month)[1])
    return at.replace(year=year, month=month, day=day)


@dataclass(frozen=True)
class CompiledEvidence:
    """One evidence item; `render` fills `{key.path}` fields from a payload and returns
    None when a field is missing, so the item is left out."""

    kind: str  # "url", "id" or "text"
    name: str
    template: str
    render: Callable[[Mapping[str, Any]], str | None] = field(compare=False, repr=False)


@dataclass(frozen=True)
class CompiledBadge:
    """One badge: a provider template earned when all `groups` are fulfilled."""

    slug: str
    provider: str
    template_external_id: str
    description: str
    repeatable: bool
    groups: tuple[CompiledGroup, ...]
    penalties: tuple[CompiledPenalty, ...]
    method: IssueMethod = IssueMethod.ISSUE
    expiry: Expiry | None = None
    evidence: tuple[CompiledEvidence, ...] = ()

    # Cached: the engine asks for both on every event it applies.
    @functools.cached_property
    def template_id(self) -> str:
        """``provider:external_id``, e.g. ``accredible:12345``."""
        return f"{self.provider}:{self.template_external_id}"

    @functools.cached_property
    def depends_on(self) -> tuple[str, ...]:
        """Slugs of the badges this one requires the learner to hold."""
        return tuple(
            r.badge
            for g in self.groups
            for r in g.requirements
            if r.kind is RequirementKind.HAS_BADGE
        )

    def requirement(self, name: str) -> CompiledRequirement:
        """The requirement called ``name``; raises KeyError if there is none."""
        for group in self.groups:
            for requirement in group.requirements:
                if requirement.name == name:
                    return requirement
        raise KeyError(name)


@dataclass(frozen=True)
class RuleSet:
    """All badges compiled from a set of rule files.

    Example::

        >>> ruleset = compile_rules([SourceFile("a.badge", text)])
        >>> ruleset.badge_for_template("credly:8f2b7c1e-...").slug
        'demo-graduate'
    """

    badges: tuple[CompiledBadge, ...]
    _by_template: Mapping[str, CompiledBadge] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )
    _by_slug: Mapping[str, CompiledBadge] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        # Frozen, so the indexes are set once here; the checker guarantees uniqueness.
        object.__setattr__(self, "_by_template", {b.template_id: b for b in self.badges})
        object.__setattr__(self, "_by_slug", {b.slug: b for b in self.badges})

    def badge_for_template(self, template_id: str) -> CompiledBadge | None:
        """The badge bound to ``provider:external_id``, or None."""
        return self._by_template.get(template_id)

    def badge(self, slug: str) -> CompiledBadge | None:
        return self._by_slug.get(slug)

    def dependents(self, slug: str) -> tuple[CompiledBadge, ...]:
        """Badges with a `has badge` requirement on `slug`."""
        return tuple(b for b in self.badges if slug in b.depends_on)
