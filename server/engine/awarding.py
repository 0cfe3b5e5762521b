"""When a badge is awarded or taken back.

The rules, from the product: a badge is awarded exactly when the last group becomes
fulfilled; once per learner unless repeatable; a penalty that takes an awarded badge
below complete revokes it; a badge revoked by a penalty can be earned again; one revoked
by an admin is never awarded again by processing."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime

from dsl import CompiledBadge
from server.domain import AwardOrigin, AwardRecord, AwardState, ProgressRecord, RevokedBy

__all__ = [
    "AwardChange",
    "ChangeKind",
    "next_award",
    "on_completed",
    "on_fell_below_complete",
]


class ChangeKind(enum.StrEnum):
    AWARDED = "awarded"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class AwardChange:
    kind: ChangeKind
    award: AwardRecord
    is_new: bool  # insert (True) or update of an existing row (False)


def _earning_events(progress: ProgressRecord) -> tuple[str, ...]:
    ids: list[str] = []
    for state in sorted(progress.requirements.values(), key=lambda s: s.fulfilled_at):
        ids.extend(i for i in state.event_ids if i not in ids)
    return tuple(ids)


def on_completed(
    badge: CompiledBadge, progress: ProgressRecord, latest: AwardRecord | None, now: datetime
) -> AwardChange | None:
    """The learner just fulfilled the last group: award, unless the rules say no."""
    if latest is not None and latest.revoked_by_admin:
        return None
    if not badge.repeatable and latest is not None and latest.state is AwardState.AWARDED:
        return None
    return next_award(badge, progress.learner_id, latest, now, _earning_events(progress))


def next_award(
    badge: CompiledBadge,
    learner_id: str,
    latest: AwardRecord | None,
    now: datetime,
    events: tuple[str, ...] = (),
    *,
    origin: AwardOrigin = AwardOrigin.RULES,
    grant_reason: str = "",
) -> AwardChange:
    """The award that stands once the learner earns (or is granted) the badge; the caller
    has already decided they may have it. A repeatable badge gets the next sequence; a
    non-repeatable one revoked earlier stands again on its one row (revoked by a penalty
    and earned again, or granted by an admin after a revocation)."""
    expires = badge.expiry.expires_at(now) if badge.expiry else None
    if latest is not None and not badge.repeatable:
        again = replace(
            latest,
            state=AwardState.AWARDED,
            awarded_at=now,
            event_ids=events,
            revoked_at=None,
            revoked_by=None,
            revoke_reason="",
            expires_at=expires,
            origin=origin,
            grant_reason=grant_reason,
        )
        return AwardChange(ChangeKind.AWARDED, again, is_new=False)
    award = AwardRecord(
        learner_id,
        badge.template_id,
        badge.slug,
        1 if latest is None else latest.sequence + 1,
        AwardState.AWARDED,
        now,
        events,
        expires_at=expires,
        origin=origin,
        grant_reason=grant_reason,
    )
    return AwardChange(ChangeKind.AWARDED, award, is_new=True)


def on_fell_below_complete(
    latest: AwardRecord | None, penalty: str, now: datetime
) -> AwardChange | None:
    """A penalty reset a requirement of a complete badge: revoke what stands."""
    if latest is None or latest.state is not AwardState.AWARDED:
        return None
    revoked = replace(
        latest,
        state=AwardState.REVOKED,
        revoked_at=now,
        revoked_by=RevokedBy.PENALTY,
        revoke_reason=f"penalty {penalty}",
    )
    return AwardChange(ChangeKind.REVOKED, revoked, is_new=False)
