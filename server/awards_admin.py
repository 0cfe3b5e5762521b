"""Manual actions on awards: an admin's revocation, grant and re-issue.

Each runs in one write transaction that also queues the provider call (the outbox), so
an action is either recorded with its issuance owed, or not at all."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dsl.ruleset import CompiledBadge
from server.domain import (
    AwardOrigin,
    AwardRecord,
    AwardState,
    EvidenceItem,
    LearnerRecord,
    OutboxAction,
    OutboxItem,
    OutboxState,
    ProgressRecord,
    RevokedBy,
)
from server.engine import awarding
from server.engine import progress as prog
from server.engine.awarding import AwardChange, ChangeKind
from server.engine.broadcast import AwardBroadcaster
from server.engine.ruleset import ActiveRules
from server.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
)
from server.ingest import RulesHolder, utcnow
from server.providers.base import ProviderBadgeState
from server.rules_admin import bound_badge
from server.store import awards as awards_repo
from server.store import learners as learners_repo
from server.store import locks
from server.store import outbox as outbox_repo
from server.store import progress as progress_repo
from server.transactions import TransactionRunner

__all__ = ["AwardAdmin", "Grant"]

#: Provider badge states in which the provider still holds the badge for the learner.
_LIVE = frozenset({ProviderBadgeState.PENDING.value, ProviderBadgeState.ACCEPTED.value})


@dataclass(frozen=True, slots=True)
class Grant:
    """An admin's grant: which badge, to whom, why, and the learner's profile if given
    (its `id` may be empty; if set it must equal `learner_id`)."""

    template_id: str
    learner_id: str
    reason: str
    profile: LearnerRecord | None = None


def _award_id(text: str) -> int:
    if not text.isdigit():
        raise InvalidArgument(
            "INVALID_AWARD_ID",
            f"award_id must be a number, got {text!r}",
            [FieldViolation("award_id", "the id shown by progress or WatchAwards, e.g. 42")],
        )
    return int(text)


def _reason(text: str, why: str) -> str:
    if not text.strip():
        raise InvalidArgument(
            "MISSING_REASON", f"a {why} needs a reason", [FieldViolation("reason", _WHY[why])]
        )
    return text.strip()


_WHY = {
    "revocation": "why the badge is taken back; it is sent to Credly",
    "grant": "why the badge is granted by hand; it is recorded on the award",
}


def _existing_award(session: Session, award_id: int) -> AwardRecord:
    """The award, read again once its learner is locked (ingest on another replica may
    be changing it)."""
    award = awards_repo.get_award(session, award_id)
    if award is None:
        raise NotFound(
            "AWARD_NOT_FOUND", f"no award {award_id}", metadata={"award_id": str(award_id)}
        )
    locks.lock_learners(session, [award.learner_id])
    return awards_repo.get_award(session, award_id) or award


# -- revoke ------------------------------------------------------------------------------


def _revoke(session: Session, award_id: int, reason: str) -> AwardRecord:
    award = _existing_award(session, award_id)
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


# -- grant -------------------------------------------------------------------------------


def _check_grant(grant: Grant) -> Grant:
    """Input errors, before any transaction."""
    missing = [
        FieldViolation(name, f"the {what} to grant; required")
        for name, what in (("template_id", "template"), ("learner_id", "learner"))
        if not getattr(grant, name).strip()
    ]
    if missing:
        raise InvalidArgument("MISSING_FIELD", "a grant names a template and a learner", missing)
    profile = grant.profile
    if profile is not None and profile.id and profile.id != grant.learner_id:
        raise InvalidArgument(
            "LEARNER_ID_MISMATCH",
            f"learner.id {profile.id!r} differs from learner_id {grant.learner_id!r}",
            [FieldViolation("learner.id", "leave it empty or repeat learner_id")],
        )
    reason = _reason(grant.reason, "grant")
    profile = replace(profile, id=grant.learner_id) if profile is not None else None
    return replace(grant, reason=reason, profile=profile)


def _ensure_learner(session: Session, grant: Grant, provider: str, now: datetime) -> None:
    """Record the profile given with the grant. The provider needs an email (and Credly a
    first and a last name), so a learner badgeflow never saw, or saw without them, must
    come with them: refusing here beats an issuance the provider refuses later."""
    known = learners_repo.get_learner(session, grant.learner_id)
    given = grant.profile or LearnerRecord(grant.learner_id)
    if not given.email and (known is None or not known.email):
        raise FailedPrecondition(
            "LEARNER_UNKNOWN" if known is None else "LEARNER_HAS_NO_EMAIL",
            f"learner {grant.learner_id!r} has no email on record: give learner.email "
            "(the provider issues the badge to it)",
            metadata={"subject": grant.learner_id, "learner_id": grant.learner_id},
        )
    if provider == "credly":
        _require_names(grant.learner_id, given, known)
    if grant.profile is not None:
        learners_repo.upsert_learners(session, [grant.profile], now)


def _require_names(learner_id: str, given: LearnerRecord, known: LearnerRecord | None) -> None:
    missing = [
        name
        for name in ("first_name", "last_name")
        if not getattr(given, name) and (known is None or not getattr(known, name))
    ]
    if missing:
        raise FailedPrecondition(
            "LEARNER_HAS_NO_NAME",
            f"learner {learner_id!r} has no {' or '.join(n.replace('_', ' ') for n in missing)} "
            "on record, and Credly refuses a badge without them: give "
            + " and ".join(f"learner.{n}" for n in missing),
            metadata={"subject": learner_id, "learner_id": learner_id},
        )


def _refuse_if_held(latest: AwardRecord | None, grant: Grant) -> None:
    if latest is not None and latest.state is AwardState.AWARDED:
        raise FailedPrecondition(
            "AWARD_ALREADY_HELD",
            f"learner {grant.learner_id!r} already holds {grant.template_id!r} "
            f"(award {latest.id}); a grant is for a learner who has not earned it",
            metadata={
                "subject": str(latest.id),
                "award_id": str(latest.id),
                "learner_id": grant.learner_id,
                "template_id": grant.template_id,
            },
        )


def _grant_evidence(
    badge: CompiledBadge, progress: ProgressRecord | None
) -> tuple[EvidenceItem, ...]:
    """What the learner's progress already rendered, else the items that need no event
    (fixed links and texts); items that need an event payload are left out."""
    found = {e.name: e for e in prog.collect_evidence(badge, progress)} if progress else {}
    static = {e.name: e for e in prog.render_evidence(badge, {})}
    return tuple(
        found.get(item.name) or static[item.name]
        for item in badge.evidence
        if item.name in found or item.name in static
    )


def _grant(session: Session, rules: ActiveRules, grant: Grant, now: datetime) -> AwardChange:
    badge = bound_badge(
        session, rules, grant.template_id, "apply rules that name it before granting it"
    )
    locks.lock_learners(session, [grant.learner_id])  # ingest may be awarding it too
    _ensure_learner(session, grant, badge.provider, now)
    key = (grant.learner_id, grant.template_id)
    latest = awards_repo.latest_awards(session, [key]).get(key)
    _refuse_if_held(latest, grant)
    change = awarding.next_award(
        badge, grant.learner_id, latest, now, origin=AwardOrigin.GRANT, grant_reason=grant.reason
    )
    progress = progress_repo.load_progress(session, [key]).get(key)
    award = replace(change.award, evidence=_grant_evidence(badge, progress))
    if change.is_new:
        award = awards_repo.insert_award(session, award)
    else:
        awards_repo.update_award(session, award)
    assert award.id is not None
    outbox_repo.enqueue(session, [OutboxItem(award.id, OutboxAction.ISSUE, award.template_id)], now)
    return replace(change, award=award)


# -- re-issue ----------------------------------------------------------------------------


def _refuse_reissue(session: Session, award: AwardRecord) -> None:
    """Issue again only what stands here and nobody is issuing or holds on the provider."""
    subject = str(award.id)
    if award.state is AwardState.REVOKED:
        raise FailedPrecondition(
            "AWARD_REVOKED",
            f"award {subject} is revoked ({award.revoke_reason or 'no reason'}); "
            "grant it again instead",
            metadata={"subject": subject},
        )
    pending = [
        i
        for i in outbox_repo.list_outbox(session, state=OutboxState.PENDING, award_id=award.id)
        if i.action is OutboxAction.ISSUE
    ]
    if pending:
        raise FailedPrecondition(
            "ISSUANCE_UNDER_WAY",
            f"award {subject} is being issued (issuance {pending[0].id}); wait for it, "
            "or retry it if it fails",
            metadata={"subject": subject, "issuance_id": str(pending[0].id)},
        )
    live = [
        b
        for b in outbox_repo.provider_badges_for_award(session, award.id or 0)
        if b.state in _LIVE and not b.replaced_by
    ]
    if live:
        raise FailedPrecondition(
            "PROVIDER_BADGE_LIVE",
            f"{live[0].provider} holds badge {live[0].external_id} ({live[0].state}) "
            f"for award {subject}",
            metadata={"subject": subject, "provider_badge_id": live[0].external_id},
        )


def _reissue(session: Session, award_id: int, now: datetime) -> tuple[AwardRecord, int]:
    award = _existing_award(session, award_id)
    _refuse_reissue(session, award)
    item = OutboxItem(award_id, OutboxAction.ISSUE, award.template_id)
    return award, outbox_repo.enqueue_item(session, item, now)


class AwardAdmin:
    def __init__(
        self,
        runner: TransactionRunner,
        broadcaster: AwardBroadcaster,
        rules: RulesHolder,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._runner = runner
        self._broadcaster = broadcaster
        self._rules = rules
        self._clock = clock

    async def revoke(self, award_id: str, reason: str) -> AwardRecord:
        text = _reason(reason, "revocation")
        number = _award_id(award_id)
        revoked = await self._runner.write(lambda s: _revoke(s, number, text))
        self._broadcaster.publish([AwardChange(ChangeKind.REVOKED, revoked, is_new=False)])
        return revoked

    async def grant(self, grant: Grant) -> AwardRecord:
        """Award the badge by hand (origin GRANT) and queue its issuance; subscribers
        hear of it as of any award."""
        checked = _check_grant(grant)
        rules, now = self._rules.current, self._clock()
        try:
            change = await self._runner.write(lambda s: _grant(s, rules, checked, now))
        except IntegrityError:
            # Another replica awarded the same sequence between our read and our insert;
            # a second pass sees that award (and refuses if it stands).
            change = await self._runner.write(lambda s: _grant(s, rules, checked, now))
        self._broadcaster.publish([change])
        return change.award

    async def reissue(self, award_id: str) -> tuple[AwardRecord, int]:
        """Queue a fresh issuance of the award; returns the award and the issuance id.
        The earlier, failed issuance stays in the queue as history."""
        number = _award_id(award_id)
        now = self._clock()
        return await self._runner.write(lambda s: _reissue(s, number, now))
