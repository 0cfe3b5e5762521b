"""What applying a rule set would change, worked out without changing anything.

The backfill estimate is a dry run of the backfill itself (`server.backfill.estimate`)
for the added and changed badges, as if the new rules were in force with them active:
the learners it counts are exactly those a backfill after the apply would award (not
those who hold the badge now, nor those whose award an admin revoked)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from dsl.ruleset import CompiledBadge, RuleSet
from server.domain import EventRecord, LearnerRecord
from server.engine.events import IncomingEvent
from server.engine.ruleset import ActiveRules

if TYPE_CHECKING:
    from server.backfill import TemplateTally

__all__ = [
    "MAX_LISTED_LEARNERS",
    "BadgePlan",
    "Plan",
    "RuleDiff",
    "badge_fingerprint",
    "diff_rule_sets",
    "event_types",
    "plan_rules",
    "to_incoming",
    "with_dependencies",
]

#: Learner ids a plan or a backfill lists per badge; the counts cover them all.
MAX_LISTED_LEARNERS = 1000


@dataclass(frozen=True, slots=True)
class RuleDiff:
    added: list[str]
    changed: list[str]
    unbound: list[str]


@dataclass(frozen=True, slots=True)
class BadgePlan:
    slug: str
    template_id: str
    change: str  # "added", "changed" or "unchanged"
    backfill_awards: int
    template_active: bool
    #: The learners counted in `backfill_awards`, sorted, at most MAX_LISTED_LEARNERS.
    backfill_learner_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Plan:
    current_version: int
    diff: RuleDiff
    badges: list[BadgePlan]
    events_replayed: int


def badge_fingerprint(badge: CompiledBadge) -> str:
    """A digest of what a badge's rules mean, to tell which templates a change touches."""
    parts = [
        badge.slug,
        badge.template_id,
        str(badge.repeatable),
        badge.method.value,
        repr(badge.expiry),
    ]
    for group in badge.groups:
        parts.append("group " + group.name)
        for r in group.requirements:
            parts.append(
                f"{r.name}|{r.kind.value}|{r.description}|{r.threshold}|{r.window}|{r.badge}"
            )
            parts += [
                f"  {t.event_type}|{t.description}|{t.slot}|{t.after}|{t.before}"
                for t in r.triggers
            ]
    parts += [
        f"penalty {p.name}|{p.event_type}|{p.description}|{','.join(p.resets)}"
        for p in badge.penalties
    ]
    parts += [f"evidence {e.kind}|{e.name}|{e.template}" for e in badge.evidence]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def diff_rule_sets(old: RuleSet, new: RuleSet) -> RuleDiff:
    before = {b.template_id: badge_fingerprint(b) for b in old.badges}
    after = {b.template_id: badge_fingerprint(b) for b in new.badges}
    return RuleDiff(
        added=sorted(set(after) - set(before)),
        changed=sorted(t for t, fp in after.items() if t in before and before[t] != fp),
        unbound=sorted(set(before) - set(after)),
    )


def with_dependencies(rule_set: RuleSet, badges: Iterable[CompiledBadge]) -> RuleSet:
    """The badges plus every badge they (transitively) require holding."""
    chosen: dict[str, CompiledBadge] = {}
    pending = list(badges)
    while pending:
        badge = pending.pop()
        if badge.slug in chosen:
            continue
        chosen[badge.slug] = badge
        pending += [b for slug in badge.depends_on if (b := rule_set.badge(slug)) is not None]
    return RuleSet(tuple(b for b in rule_set.badges if b.slug in chosen))


def to_incoming(record: EventRecord) -> IncomingEvent:
    """A logged event as the engine receives it, to replay it."""
    return IncomingEvent(
        record.id,
        record.type,
        LearnerRecord(record.learner_id),
        record.occurred_at,
        record.payload,
        record.source,
    )


def event_types(badges: Iterable[CompiledBadge]) -> set[str]:
    """The event types the badges' requirements and penalties listen to: the only
    logged events a replay of those badges needs."""
    found: set[str] = set()
    for badge in badges:
        found |= {t.event_type for g in badge.groups for r in g.requirements for t in r.triggers}
        found |= {p.event_type for p in badge.penalties}
    return found


def _estimate(
    session: Session, rule_set: RuleSet, badges: Sequence[CompiledBadge], now: datetime
) -> tuple[dict[str, TemplateTally], int]:
    # Imported here: the backfill builds on this module's helpers.
    from server.backfill import estimate

    return estimate(session, rule_set, badges, now)


def plan_rules(session: Session, current: ActiveRules, new: RuleSet, now: datetime) -> Plan:
    diff = diff_rule_sets(current.rule_set, new)
    touched = set(diff.added) | set(diff.changed)
    chosen = [b for b in new.badges if b.template_id in touched]
    tallies, replayed = _estimate(session, new, chosen, now) if chosen else ({}, 0)
    badges = []
    for badge in new.badges:
        change = (
            "added"
            if badge.template_id in diff.added
            else "changed"
            if badge.template_id in diff.changed
            else "unchanged"
        )
        tally = tallies.get(badge.template_id)
        badges.append(
            BadgePlan(
                badge.slug,
                badge.template_id,
                change,
                tally.awards if tally else 0,
                badge.template_id in current.active_templates,
                tuple(tally.awarded_learner_ids) if tally else (),
            )
        )
    return Plan(current.version, diff, badges, replayed)
