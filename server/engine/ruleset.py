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

    def __init__(self, listeners: Sequence[Listener], selectivity: Mapping[Path, int]) -> None:
        self.always: list[Listener] = []
        self.by_path: dict[Path, dict[tuple[str, Any], list[Listener]]] = {}
        for listener in listeners:
            self._place(listener, selectivity)

    @staticmethod
    def _slot(listener: Listener, selectivity: Mapping[Path, int]) -> tuple[Path, Any] | None:
        """Where the listener is filed: its most selective equality (any of its equalities
        would be correct, an event must carry every one to match); None for `always`."""
        usable = [
            (path, key)
            for path, value in listener.trigger.equalities
            if (key := index_key(value)) is not None
        ]
        if not usable:
            return None
        return max(usable, key=lambda pk: selectivity.get(pk[0], 0))

    def _place(self, listener: Listener, selectivity: Mapping[Path, int]) -> None:
        slot = self._slot(listener, selectivity)
        if slot is None:
            self.always.append(listener)
        else:
            self.by_path.setdefault(slot[0], {}).setdefault(slot[1], []).append(listener)

    def changed(
        self,
        removed: Sequence[Listener],
        added: Sequence[Listener],
        selectivity: Mapping[Path, int],
    ) -> _TypeIndex | None:
        """A copy without `removed` and with `added`, or None when nothing is left. Only
        the lists the change touches are copied (the old index is in use by other
        batches and must not change), so switching one template on or off costs about
        its own listeners, not every active template's (a full rebuild took ~0.5 s at
        10,000 templates)."""
        copy = _TypeIndex.__new__(_TypeIndex)
        copy.always = list(self.always)
        copy.by_path = dict(self.by_path)
        gone = {id(x) for x in removed}
        slots: set[tuple[Path, Any]] = set()
        for listener in removed:
            slot = self._slot(listener, selectivity)
            if slot is None:
                copy.always = [x for x in copy.always if id(x) not in gone]
            else:
                slots.add(slot)
        copied: set[Path] = set()
        for path, key in slots:
            table = copy._own_table(path, copied)
            kept = [x for x in table.get(key, ()) if id(x) not in gone]
            if kept:
                table[key] = kept
            else:
                table.pop(key, None)
        for listener in added:
            slot = self._slot(listener, selectivity)
            if slot is None:
                copy.always.append(listener)  # `always` is a copy already
                copy.always.sort(key=lambda x: x.order)
                continue
            table = copy._own_table(slot[0], copied)
            table[slot[1]] = sorted([*table.get(slot[1], ()), listener], key=lambda x: x.order)
        for path in copied:
            if not copy.by_path[path]:
                del copy.by_path[path]
        return copy if copy.always or copy.by_path else None

    def _own_table(self, path: Path, copied: set[Path]) -> dict[tuple[str, Any], list[Listener]]:
        """This copy's own table for `path` (copied once; the lists in it are replaced,
        never changed in place, as the index it came from shares them)."""
        if path not in copied:
            self.by_path[path] = dict(self.by_path.get(path, {}))
            copied.add(path)
        return self.by_path[path]

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
    """Every trigger of the badges, numbered in rule-file order over the whole rule set
    (active or not), so a listener keeps its number whatever else is active."""
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


def _by_template(rule_set: RuleSet) -> dict[str, list[tuple[str, Listener]]]:
    """Each template's listeners, by the rule set's own numbering; worked out once per
    rule set and shared by every `with_active` copy (they do not depend on which
    templates are active)."""
    found: dict[str, list[tuple[str, Listener]]] = {}
    for event_type, listener in _listeners(rule_set.badges):
        found.setdefault(listener.badge.template_id, []).append((event_type, listener))
    return found


def _by_type_of(
    by_template: Mapping[str, list[tuple[str, Listener]]], templates: Iterable[str]
) -> dict[str, list[Listener]]:
    grouped: dict[str, list[Listener]] = {}
    for template_id in templates:
        for event_type, listener in by_template[template_id]:
            grouped.setdefault(event_type, []).append(listener)
    return grouped


def _selectivity(
    by_template: Mapping[str, list[tuple[str, Listener]]],
) -> dict[str, Counter[Path]]:
    """Per event type, how well each path splits the listeners, over the whole rule set:
    the same whatever is active, so an index changed template by template files every
    listener where a full rebuild would."""
    grouped: dict[str, list[Listener]] = {}
    for listeners in by_template.values():
        for event_type, listener in listeners:
            grouped.setdefault(event_type, []).append(listener)
    return {t: _distinct_constants(ls) for t, ls in grouped.items()}


class ActiveRules:
    """What the engine evaluates: only badges whose template is active are indexed."""

    __slots__ = (
        "version",
        "rule_set",
        "active_templates",
        "_by_type",
        "_dependents",
        "_all",
        "_selectivity",
        "_depending",
    )

    def __init__(self, version: int, rule_set: RuleSet, active_templates: Iterable[str]) -> None:
        self.version = version
        self.rule_set = rule_set
        self.active_templates = frozenset(active_templates)
        self._all = _by_template(rule_set)
        self._selectivity = _selectivity(self._all)
        # Badges with `has badge` requirements and what they name (`depends_on` walks
        # every requirement: too slow to ask of 10,000 badges at each activation).
        self._depending = tuple((b, b.depends_on) for b in rule_set.badges if b.depends_on)
        grouped: dict[str, list[Listener]] = {}
        for template_id in self._active_in_rules():
            for event_type, listener in self._all[template_id]:
                grouped.setdefault(event_type, []).append(listener)
        for listeners in grouped.values():
            listeners.sort(key=lambda x: x.order)
        self._by_type = {t: _TypeIndex(ls, self._selectivity[t]) for t, ls in grouped.items()}
        self._dependents = self._find_dependents()

    def _active_in_rules(self) -> list[str]:
        return [t for t in self._all if t in self.active_templates]

    def _find_dependents(self) -> dict[str, tuple[CompiledBadge, ...]]:
        dependents: dict[str, tuple[CompiledBadge, ...]] = {}
        for badge, depends_on in self._depending:
            if badge.template_id in self.active_templates:
                for slug in depends_on:
                    dependents[slug] = (*dependents.get(slug, ()), badge)
        return dependents

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
        """The same rules with another set of active templates, changing only the index
        entries of the templates switched on or off."""
        wanted = frozenset(active_templates)
        removed = frozenset(t for t in self.active_templates - wanted if t in self._all)
        added = [t for t in wanted - self.active_templates if t in self._all]
        copy = ActiveRules.__new__(ActiveRules)
        copy.version, copy.rule_set, copy.active_templates = self.version, self.rule_set, wanted
        copy._all, copy._selectivity, copy._depending = (
            self._all,
            self._selectivity,
            self._depending,
        )
        copy._by_type = self._changed_index(removed, added)
        copy._dependents = copy._find_dependents()
        return copy

    def _changed_index(
        self, removed: frozenset[str], added: Sequence[str]
    ) -> dict[str, _TypeIndex]:
        if not removed and not added:
            return self._by_type
        leaving = _by_type_of(self._all, removed)
        arriving = _by_type_of(self._all, added)
        by_type = dict(self._by_type)
        for event_type in set(leaving) | set(arriving):
            selectivity = self._selectivity[event_type]
            current = by_type.get(event_type) or _TypeIndex((), selectivity)
            changed = current.changed(
                leaving.get(event_type, ()), arriving.get(event_type, ()), selectivity
            )
            if changed is None:
                by_type.pop(event_type, None)
            else:
                by_type[event_type] = changed
        return by_type

    def with_rules(self, version: int, rule_set: RuleSet) -> ActiveRules:
        return ActiveRules(version, rule_set, self.active_templates)
