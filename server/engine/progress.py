"""Progress arithmetic: which groups a learner has fulfilled under a badge's rules.

Progress keeps only the fulfilled requirements by name (plus the partial state of
counting/ordered ones); groups are derived from the rules in force, so a rule change
never leaves stale group counts behind."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dsl.ruleset import CompiledBadge, CompiledGroup, CompiledRequirement, RequirementKind
from server.domain import EvidenceItem, ProgressRecord, RequirementState

__all__ = [
    "GroupStatus",
    "collect_evidence",
    "describe_partial",
    "fulfilled_groups",
    "percent",
    "fulfil",
    "group_statuses",
    "recount",
    "render_evidence",
    "reset",
]


@dataclass(frozen=True, slots=True)
class GroupStatus:
    group: CompiledGroup
    fulfilled_by: str | None  # the earliest fulfilled member, None when not fulfilled


def _earliest_member(group: CompiledGroup, progress: ProgressRecord) -> str | None:
    done = [
        (progress.requirements[r.name].fulfilled_at, index, r.name)
        for index, r in enumerate(group.requirements)
        if r.name in progress.requirements
    ]
    return min(done)[2] if done else None


def group_statuses(badge: CompiledBadge, progress: ProgressRecord) -> list[GroupStatus]:
    return [GroupStatus(g, _earliest_member(g, progress)) for g in badge.groups]


def fulfilled_groups(badge: CompiledBadge, progress: ProgressRecord) -> int:
    # Plain loops: it runs on every progress change, and the nested generators it replaced
    # cost about 2.7 µs for a two-group badge.
    done = progress.requirements
    count = 0
    for group in badge.groups:
        for requirement in group.requirements:
            if requirement.name in done:
                count += 1
                break
    return count


def percent(fulfilled: int, total: int) -> float:
    """Share of groups fulfilled, as views show it."""
    return round(100.0 * fulfilled / total, 2) if total else 0.0


def recount(badge: CompiledBadge, progress: ProgressRecord) -> None:
    """Refresh the stored group counts from the requirements."""
    progress.total_groups = len(badge.groups)
    progress.fulfilled_groups = fulfilled_groups(badge, progress)


def render_evidence(badge: CompiledBadge, payload: Mapping[str, Any]) -> tuple[EvidenceItem, ...]:
    """The badge's evidence items this payload can fill; the others are left out."""
    items = []
    for item in badge.evidence:
        value = item.render(payload)
        if value is not None:
            items.append(EvidenceItem(item.kind, item.name, value))
    return tuple(items)


def collect_evidence(badge: CompiledBadge, progress: ProgressRecord) -> tuple[EvidenceItem, ...]:
    """One value per evidence item of the badge, from the earliest requirement that has it."""
    found: dict[str, EvidenceItem] = {}
    for state in sorted(progress.requirements.values(), key=lambda s: s.fulfilled_at):
        for item in state.evidence:
            found.setdefault(item.name, item)
    return tuple(found[item.name] for item in badge.evidence if item.name in found)


def fulfil(
    progress: ProgressRecord,
    requirement: str,
    event_ids: tuple[str, ...],
    at: datetime,
    evidence: tuple[EvidenceItem, ...] = (),
) -> bool:
    """Mark a requirement fulfilled; the first fulfilment is kept. Returns whether
    anything changed."""
    if requirement in progress.requirements:
        return False
    progress.partial.pop(requirement, None)
    progress.requirements[requirement] = RequirementState(at, event_ids, evidence)
    return True


def reset(progress: ProgressRecord, requirements: tuple[str, ...]) -> bool:
    """Forget the named requirements, partial counts included; returns whether anything
    changed."""
    changed = False
    for name in requirements:
        changed |= progress.requirements.pop(name, None) is not None
        changed |= progress.partial.pop(name, None) is not None
    return changed


def describe_partial(requirement: CompiledRequirement, state: Mapping[str, Any] | None) -> str:
    """How far a counting or ordered requirement has come, in words (for views)."""
    if not state:
        return ""
    if requirement.kind is RequirementKind.COUNT:
        done = state.get("n", len(state.get("times", ())))
        return f"{done} of {requirement.threshold} matching events"
    if requirement.kind is RequirementKind.DISTINCT:
        path = ".".join(requirement.distinct_path)
        return f"{len(state.get('seen', {}))} of {requirement.threshold} distinct {path}"
    if requirement.kind is RequirementKind.SEQUENCE:
        return f"{state.get('step', 0)} of {len(requirement.triggers)} steps in order"
    return ""
