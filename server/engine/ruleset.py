"""The compiled rules of the active templates, indexed by event type.

One immutable object per (rule set version, set of active templates): the engine swaps
the whole object when either changes, so a batch always sees one consistent view.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dsl import CompiledBadge, CompiledPenalty, RuleSet

__all__ = ["ActiveRules", "Listener"]


@dataclass(frozen=True, slots=True)
class Listener:
    """A requirement or penalty of one badge, waiting for events of one type."""

    badge: CompiledBadge
    matches: Callable[[Mapping[str, Any]], bool]
    requirement: str | None = None
    penalty: CompiledPenalty | None = None


def _listeners(badge: CompiledBadge) -> Iterable[tuple[str, Listener]]:
    for group in badge.groups:
        for req in group.requirements:
            yield req.event_type, Listener(badge, req.matches, requirement=req.name)
    for pen in badge.penalties:
        yield pen.event_type, Listener(badge, pen.matches, penalty=pen)


class ActiveRules:
    """What the engine evaluates: only badges whose template is active are indexed."""

    __slots__ = ("version", "rule_set", "active_templates", "_by_type")

    def __init__(self, version: int, rule_set: RuleSet, active_templates: Iterable[str]) -> None:
        self.version = version
        self.rule_set = rule_set
        self.active_templates = frozenset(active_templates)
        index: dict[str, list[Listener]] = {}
        for badge in rule_set.badges:
            if badge.template_id in self.active_templates:
                for event_type, listener in _listeners(badge):
                    index.setdefault(event_type, []).append(listener)
        self._by_type = {k: tuple(v) for k, v in index.items()}

    @classmethod
    def empty(cls) -> ActiveRules:
        return cls(0, RuleSet(badges=()), ())

    def listeners(self, event_type: str) -> Sequence[Listener]:
        return self._by_type.get(event_type, ())

    def badge(self, template_id: str) -> CompiledBadge | None:
        return self.rule_set.badge_for_template(template_id)

    def with_active(self, active_templates: Iterable[str]) -> ActiveRules:
        return ActiveRules(self.version, self.rule_set, active_templates)

    def with_rules(self, version: int, rule_set: RuleSet) -> ActiveRules:
        return ActiveRules(version, rule_set, self.active_templates)
