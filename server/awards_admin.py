"""Manual actions on awards: an admin's revocation."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.orm import Session

from server.domain import AwardRecord, AwardState, OutboxAction, OutboxItem, RevokedBy
from server.engine.awarding import AwardChange, ChangeKind
from server.engine.broadcast import AwardBroadcaster
from server.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from server.ingest import utcnow
from server.store import awards as awards_repo
from server.store import outbox as outbox_repo
from server.transactions import TransactionRunner

__all__ = ["AwardAdmin"]


def _award_id(text: str) -> int:
    if not text.isdigit():
        raise InvalidArgument(
            "INVALID_AWARD_ID",
            f"award_id must be a number, got {text!r}",
            [FieldViolation("award_id", "the id shown by progress or WatchAwards, e.g. 42")],
        )
    return int(text)


def _revoke(session: Session, award_id: int, reason: str) -> AwardRecord:
    award = awards_repo.get_award(session, award_id)
    if award is None:
        raise NotFound(
            "AWARD_NOT_FOUND", f"no award {award_id}", metadata={"award_id": str(award_id)}
        )
    if award.state is AwardState.REVOKED:
        raise FailedPrecondition(
            "AWARD_ALREADY_REVOKED",
            f"award {award_id} was already revoked ({award.revoke_reason or 'no reason'})",
            metadata={"subject": str(award_id)},
        )
    now = utcnow()
    revoked = replace(
        award,
        state=AwardState.REVOKED,
        revoked_at=now,
        revoked_by=RevokedBy.ADMIN,
        revoke_reason=reason,
    )
    awards_repo.update_award(session, revoked)
    outbox_repo.enqueue(
        session, [OutboxItem(award_id, OutboxAction.REVOKE, award.template_id)], now
    )
    return revoked


class AwardAdmin:
    def __init__(self, runner: TransactionRunner, broadcaster: AwardBroadcaster) -> None:
        self._runner = runner
        self._broadcaster = broadcaster

    async def revoke(self, award_id: str, reason: str) -> AwardRecord:
        if not reason.strip():
            raise InvalidArgument(
                "MISSING_REASON",
                "a revocation needs a reason",
                [FieldViolation("reason", "why the badge is taken back; it is sent to Credly")],
            )
        number = _award_id(award_id)
        revoked = await self._runner.write(lambda s: _revoke(s, number, reason.strip()))
        self._broadcaster.publish([AwardChange(ChangeKind.REVOKED, revoked, is_new=False)])
        return revoked
