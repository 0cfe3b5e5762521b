"""Progress arithmetic: which groups a learner has fulfilled under a badge's rules.

Progress keeps only the fulfilled requirements by name; groups are derived from the rules
in force, so a rule change never leaves stale group counts behind."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dsl import CompiledBadge, CompiledGroup
from server.domain import ProgressRecord, RequirementState

__all__ = ["GroupStatus", "fulfil", "group_statuses", "recount", "reset"]


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


def recount(badge: CompiledBadge, progress: ProgressRecord) -> None:
    """Refresh the stored group counts from the requirements."""
    progress.total_groups = len(badge.groups)
    progress.fulfilled_groups = sum(
        1 for g in badge.groups if any(r.name in progress.requirements for r in g.requirements)
    )


def fulfil(progress: ProgressRecord, requirement: str, event_id: str, at: datetime) -> bool:
    """Mark a requirement fulfilled by an event; the first event to fulfil it is kept.
    Returns whether anything changed."""
    if requirement in progress.requirements:
        return False
    progress.requirements[requirement] = RequirementState(fulfilled_at=at, event_ids=(event_id,))
    return True


def reset(progress: ProgressRecord, requirements: tuple[str, ...]) -> bool:
    """Forget the named requirements; returns whether any was fulfilled."""
    changed = False
    for name in requirements:
        changed |= progress.requirements.pop(name, None) is not None
    return changed
