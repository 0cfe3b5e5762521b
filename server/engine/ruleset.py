"""The compiled rules of the active templates, indexed for fast matching.

Triggers are indexed by event type and then by one equality constant each (a
`(key path, value)` pair every match must have), so an event reaches only triggers whose
constants it carries: with 10,000 templates that each name a course, an event for one
course touches one template's triggers, not 10,000. One immutable object per (rule set
version, set of active templates); the engine swaps the whole object when either changes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dsl.criteria import MISSING, lookup
from dsl.ruleset import CompiledBadge, CompiledPenalty, CompiledRequirement, RuleSet, Trigger

__all__ = ["ActiveRules", "Listener", "index_key"]

Path = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Listener:
    """A requirement's or penalty's trigger, waiting for events of one type. `order`
    keeps rule-file order among the listeners one event reaches."""

    order: int
    badge: CompiledBadge
    trigger: Trigger
    requirement: CompiledRequirement | None = None
    penalty: CompiledPenalty | None = None


def index_key(value: Any) -> tuple[str, Any] | None:
    """A hashable key that tells types apart (True, 1 and "1" are three keys) and
    numbers by value (5 and 5.0 are one)."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, int | float):
        return ("n", float(value))
    if isinstance(value, str):
        return ("s", value)
    return None


class _TypeIndex:
    """The listeners of one event type: those without a usable equality, and the rest
    by (path → constant → listeners)."""

    __slots__ = ("always", "by_path")

    def __init__(self, listeners: Sequence[Listener]) -> None:
        self.always: list[Listener] = []
        self.by_path: dict[Path, dict[tuple[str, Any], list[Listener]]] = {}
        selectivity = _distinct_constants(listeners)
        for listener in listeners:
            usable = [
                (path, key)
                for path, value in listener.trigger.equalities
                if (key := index_key(value)) is not None
            ]
            if not usable:
                self.always.append(listener)
                continue
            path, key = max(usable, key=lambda pk: selectivity[pk[0]])
            self.by_path.setdefault(path, {}).setdefault(key, []).append(listener)

    def candidates(self, payload: Mapping[str, Any]) -> list[Listener]:
        found = list(self.always)
        for path, table in self.by_path.items():
            value = lookup(payload, path)
            if value is MISSING:
                continue
            key = index_key(value)
            hits = table.get(key) if key is not None else None
            if hits:
                found.extend(hits)
        if len(found) > 1:
            found.sort(key=lambda listener: listener.order)
        return found


def _distinct_constants(listeners: Sequence[Listener]) -> Counter[Path]:
    """How many different constants each path is compared with: the more, the better it
    splits the listeners (a course key beats `is_passing == true`)."""
    constants: dict[Path, set[Any]] = {}
    for listener in listeners:
        for path, value in listener.trigger.equalities:
            key = index_key(value)
            if key is not None:
                constants.setdefault(path, set()).add(key)
    return Counter({path: len(values) for path, values in constants.items()})


def _listeners(badges: Iterable[CompiledBadge]) -> Iterable[tuple[str, Listener]]:
    order = 0
    for badge in badges:
        for group in badge.groups:
            for req in group.requirements:
                for trigger in req.triggers:
                    yield trigger.event_type, Listener(order, badge, trigger, requirement=req)
                    order += 1
        for pen in badge.penalties:
            yield pen.trigger.event_type, Listener(order, badge, pen.trigger, penalty=pen)
            order += 1


class ActiveRules:
    """What the engine evaluates: only badges whose template is active are indexed."""

    __slots__ = ("version", "rule_set", "active_templates", "_by_type", "_dependents")

    def __init__(self, version: int, rule_set: RuleSet, active_templates: Iterable[str]) -> None:
        self.version = version
        self.rule_set = rule_set
        self.active_templates = frozenset(active_templates)
        active = [b for b in rule_set.badges if b.template_id in self.active_templates]
        grouped: dict[str, list[Listener]] = {}
        for event_type, listener in _listeners(active):
            grouped.setdefault(event_type, []).append(listener)
        self._by_type = {t: _TypeIndex(ls) for t, ls in grouped.items()}
        self._dependents: dict[str, tuple[CompiledBadge, ...]] = {}
        for badge in active:
            for slug in badge.depends_on:
                self._dependents[slug] = (*self._dependents.get(slug, ()), badge)

    @classmethod
    def empty(cls) -> ActiveRules:
        return cls(0, RuleSet(badges=()), ())

    def listeners(self, event_type: str, payload: Mapping[str, Any]) -> Sequence[Listener]:
        """The listeners an event of this type and payload can possibly match, in rule
        order; each still has to accept it."""
        index = self._by_type.get(event_type)
        return index.candidates(payload) if index is not None else ()

    def badge(self, template_id: str) -> CompiledBadge | None:
        return self.rule_set.badge_for_template(template_id)

    def dependents(self, slug: str) -> tuple[CompiledBadge, ...]:
        """Active badges with a `has badge` requirement on `slug`."""
        return self._dependents.get(slug, ())

    def with_active(self, active_templates: Iterable[str]) -> ActiveRules:
        return ActiveRules(self.version, self.rule_set, active_templates)

    def with_rules(self, version: int, rule_set: RuleSet) -> ActiveRules:
        return ActiveRules(version, rule_set, self.active_templates)
