"""The issuance worker: drains the outbox into the providers, exactly once per award.

Exactly once, whatever the provider does: an attempt whose outcome is unknown (timeout,
connection dropped after sending) marks the item, and the next attempt first asks the
provider what it holds for the award's earner key; a 422 duplicate is resolved the same
way. Retries back off with jitter, honour Retry-After, and stop at a per-connection
circuit breaker; after the retry budget the item is FAILED, visible, and an admin can
retry it. Items of one award are handled in order (an issue before its revoke)."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy.orm import Session

from dsl.ruleset import IssueMethod
from server.domain import (
    AwardRecord,
    LearnerRecord,
    OutboxAction,
    OutboxItem,
    OutboxState,
    ProviderBadgeRecord,
)
from server.metrics import Metrics
from server.providers.base import (
    BadgeProvider,
    EvidenceSpec,
    IssueRequest,
    ProviderBadge,
    ProviderBadgeState,
    Recipient,
)
from server.providers.errors import (
    ProviderDuplicate,
    ProviderOutcomeUnknown,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTransportError,
)
from server.providers.records import provider_badge_record
from server.store import awards as awards_repo
from server.store import learners as learners_repo
from server.store import outbox as outbox_repo
from server.transactions import TransactionRunner
from server.worker.policy import CircuitBreaker, RetryPolicy

__all__ = ["IssuanceWorker", "ProviderResolver", "earner_key"]

_log = logging.getLogger("badgeflow.worker")
DEFAULT_RETRY_POLICY = RetryPolicy()
#: Seconds between checks for a connection when none serves an item's template.
NO_CONNECTION_RECHECK = 60.0
_GONE = {ProviderBadgeState.REVOKED, ProviderBadgeState.EXPIRED, ProviderBadgeState.DELETED}
#: No longer the learner's badge: gone, or declined by the earner (Credly "rejected").
_DEAD = _GONE | {ProviderBadgeState.REJECTED}


class ProviderResolver(Protocol):
    def for_template(self, template_id: str) -> tuple[str, BadgeProvider] | None:
        """(connection key, provider) serving the template, or None when none does."""
        ...


def earner_key(item: OutboxItem) -> str:
    """The idempotency key of one issuance: the award and the outbox item that asked
    for it (an award issued again after a revocation gets a new one)."""
    return f"badgeflow-{item.award_id}-{item.id}"


@dataclass(frozen=True, slots=True)
class _Context:
    award: AwardRecord
    learner: LearnerRecord
    held: list[ProviderBadgeRecord]
    earlier_open: bool  # an earlier item of the same award is not finished


class _Retry(Exception):
    def __init__(self, reason: str, delay: float | None = None, count: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay
        self.count = count


class IssuanceWorker:
    def __init__(
        self,
        runner: TransactionRunner,
        resolver: ProviderResolver,
        *,
        policy: RetryPolicy = DEFAULT_RETRY_POLICY,
        breaker: CircuitBreaker | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
        batch: int = 50,
        lease: timedelta = timedelta(seconds=120),
        concurrency: int = 8,
        methods: Callable[[str], IssueMethod] = lambda template_id: IssueMethod.ISSUE,
        metrics: Metrics | None = None,
    ) -> None:
        self._runner = runner
        self._resolver = resolver
        self._policy = policy
        self._clock = clock
        self._breaker = breaker or CircuitBreaker(clock=lambda: clock().timestamp())
        self._rng = rng or random.Random()
        self._batch = batch
        self._lease = lease
        self._slots = asyncio.Semaphore(concurrency)
        self._methods = methods
        self._metrics = metrics or Metrics()

    async def run(self, stop: asyncio.Event, idle_poll: float = 0.5) -> None:
        """Drain until `stop` is set; poll when there is nothing due.

        A failed round (the database restarting) is logged and the loop goes on: the
        rows it held keep their lease, and whoever claims them after it asks the
        provider before sending again (see `claim_due`)."""
        while not stop.is_set():
            try:
                claimed = await self.run_once()
            except Exception:  # noqa: BLE001 - a transient failure must not end the worker
                _log.warning("issuance round failed; trying again", exc_info=True)
                claimed = 0
            if claimed == 0:
                try:
                    await asyncio.wait_for(stop.wait(), idle_poll)
                except TimeoutError:
                    pass

    async def run_once(self) -> int:
        """Claim the due items and handle them; returns how many were claimed."""
        now = self._clock()
        items = await self._runner.write(
            lambda s: outbox_repo.claim_due(s, now, self._batch, self._lease)
        )
        by_award: dict[int, list[OutboxItem]] = {}
        for item in items:
            by_award.setdefault(item.award_id, []).append(item)
        await asyncio.gather(*(self._handle_in_order(group) for group in by_award.values()))
        return len(items)

    async def _handle_in_order(self, items: list[OutboxItem]) -> None:
        for item in sorted(items, key=lambda i: i.id or 0):
            async with self._slots:
                await self._handle(item)

    async def _handle(self, item: OutboxItem) -> None:
        if item.lease_until is not None and self._clock() >= item.lease_until:
            # Our claim ran out while earlier items were handled: another worker may
            # hold the row now. Leave it; whoever claims it next looks it up first.
            _log.info("issuance lease ran out; left to the next claim", extra={"id": item.id})
            return
        context = await self._runner.read(lambda s: _load(s, item))
        resolved = self._resolver.for_template(item.template_id)
        if resolved is None:
            # Not a failure of the call: it waits, visibly, until a connection serves
            # the template (connect or sync one), without spending its retry budget.
            reason = f"no provider connection serves {item.template_id}"
            await self._reschedule(item, reason, NO_CONNECTION_RECHECK, count=False)
            return
        key, provider = resolved
        wait = self._breaker.wait(key)
        if wait > 0:
            await self._reschedule(
                item, "circuit open for this provider connection", wait, count=False
            )
            return
        try:
            badge = await self._timed_attempt(item, provider, context)
        except _Retry as retry:
            await self._reschedule(item, retry.reason, retry.delay, retry.count)
            return
        except ProviderRateLimited as error:
            await self._reschedule(item, f"rate limited: {error}", error.retry_after)
            return
        except ProviderOutcomeUnknown as error:
            self._breaker.failure(key)
            item.outcome_unknown = True
            await self._reschedule(item, f"outcome unknown: {error}")
            return
        except ProviderTransportError as error:
            self._breaker.failure(key)
            await self._reschedule(item, f"transport: {error}")
            return
        except ProviderRejected as error:
            self._breaker.success(key)
            item.attempts += 1  # the provider answered: an attempt, and the last one
            await self._finish(item, OutboxState.FAILED, f"rejected ({error.status}): {error}")
            return
        self._breaker.success(key)
        item.attempts += 1
        await self._finish(item, OutboxState.SENT, "", badge, provider.kind, context)

    async def _timed_attempt(
        self, item: OutboxItem, provider: BadgeProvider, context: _Context
    ) -> ProviderBadge | None:
        """`_attempt`, its time and outcome recorded when it reached the provider."""
        started = time.perf_counter()
        outcome = "sent"
        try:
            return await self._attempt(item, provider, context)
        except (_Retry, asyncio.CancelledError):
            outcome = ""  # held back before any call, or cut short at shutdown
            raise
        except BaseException as error:
            outcome = _call_outcome(error)
            raise
        finally:
            if outcome:
                elapsed = time.perf_counter() - started
                self._metrics.observe_issuance(provider.kind, outcome, elapsed)

    async def _attempt(
        self, item: OutboxItem, provider: BadgeProvider, context: _Context
    ) -> ProviderBadge | None:
        if context.earlier_open:
            raise _Retry("waiting for an earlier call of the same award", count=False)
        if item.action is OutboxAction.REVOKE:
            return await self._revoke(provider, context)
        return await self._issue(item, provider, context)

    async def _issue(
        self, item: OutboxItem, provider: BadgeProvider, context: _Context
    ) -> ProviderBadge:
        request = _issue_request(item, context)
        template, email = request.template_external_id, request.recipient.email
        if item.outcome_unknown:
            mine = _ours(await provider.find(template, request.earner_key, email), request)
            if mine is not None:
                return mine
        method = self._methods(item.template_id)
        if method is not IssueMethod.ISSUE:
            held = _live(await provider.find(template, "", email))
            if held is not None:
                return await provider.update_expiry(held.external_id, request.expires_at)
            if method is IssueMethod.UPDATE:
                raise ProviderRejected(
                    "method update: the learner holds no badge of this template to update", 0
                )
        try:
            return await provider.issue(request)
        except ProviderDuplicate as duplicate:
            return await self._after_duplicate(provider, request, context, duplicate)

    async def _after_duplicate(
        self,
        provider: BadgeProvider,
        request: IssueRequest,
        context: _Context,
        duplicate: ProviderDuplicate,
    ) -> ProviderBadge:
        """Ours from an attempt whose answer was lost, or the learner already holds one
        and the template forbids a second: the award is that badge. A dead badge is never
        the award; if it is this award's own badge the earner declined, it is revoked so
        that the re-issue an admin asked for can stand (Credly counts a declined badge as
        a duplicate)."""
        template, email = request.template_external_id, request.recipient.email
        found = await provider.find(template, request.earner_key, email)
        held = _live(found)
        if held is not None:
            return held
        if found is None or not _declined_badge_of(found, context):
            raise duplicate
        await provider.revoke(found.external_id, "declined by the earner; issued again")
        return await provider.issue(request)

    async def _revoke(self, provider: BadgeProvider, context: _Context) -> ProviderBadge | None:
        live = [
            b for b in context.held if b.state not in {s.value for s in _GONE} and not b.replaced_by
        ]
        if not live:
            return None  # never reached the provider: nothing to take back
        reason = context.award.revoke_reason or "revoked"
        result = None
        for badge in live:
            result = await provider.revoke(badge.external_id, reason)
        return result

    async def _reschedule(
        self, item: OutboxItem, reason: str, delay: float | None = None, count: bool = True
    ) -> None:
        now = self._clock()
        if count:
            item.attempts += 1
            if item.attempts >= self._policy.max_attempts:
                await self._finish(
                    item, OutboxState.FAILED, f"gave up after {item.attempts} attempts: {reason}"
                )
                return
        seconds = delay if delay is not None else self._policy.delay(item.attempts, self._rng)
        item.next_attempt_at = now + timedelta(seconds=seconds)
        item.lease_until = None
        item.last_error = reason
        _log.info(
            "issuance retry",
            extra={"outbox_id": item.id, "attempts": item.attempts, "reason": reason},
        )
        await self._runner.write(lambda s: outbox_repo.save_item(s, item, now))

    async def _finish(
        self,
        item: OutboxItem,
        state: OutboxState,
        error: str,
        badge: ProviderBadge | None = None,
        provider: str = "",
        context: _Context | None = None,
    ) -> None:
        now = self._clock()
        item.state = state
        item.last_error = error
        item.lease_until = None
        if badge is not None:
            item.provider_badge_id = badge.external_id
        if state is OutboxState.FAILED:
            _log.warning("issuance failed", extra={"outbox_id": item.id, "reason": error})

        def save(session: Session) -> None:
            outbox_repo.save_item(session, item, now)
            if badge is not None and context is not None:
                outbox_repo.upsert_provider_badge(
                    session, provider_badge_record(provider, badge, context.award.id), now
                )

        await self._runner.write(save)


def _call_outcome(error: BaseException) -> str:
    """The metrics label of a failed attempt (most specific class first)."""
    for kind, label in (
        (ProviderRateLimited, "rate_limited"),
        (ProviderTransportError, "transport_error"),
        (ProviderOutcomeUnknown, "outcome_unknown"),
        (ProviderRejected, "rejected"),
    ):
        if isinstance(error, kind):
            return label
    return "error"


def _load(session: Session, item: OutboxItem) -> _Context:
    award = awards_repo.get_award(session, item.award_id)
    assert award is not None, f"outbox item {item.id} names a missing award"
    learner = learners_repo.get_learner(session, award.learner_id) or LearnerRecord(
        award.learner_id
    )
    earlier = [
        other
        for other in outbox_repo.list_outbox(session, award_id=item.award_id)
        if (other.id or 0) < (item.id or 0) and other.state is OutboxState.PENDING
    ]
    return _Context(
        award, learner, outbox_repo.provider_badges_for_award(session, award.id or 0), bool(earlier)
    )


def _live(badge: ProviderBadge | None) -> ProviderBadge | None:
    return badge if badge is not None and badge.state not in _DEAD else None


def _ours(badge: ProviderBadge | None, request: IssueRequest) -> ProviderBadge | None:
    """The badge this very issuance created (found by its earner key), if the provider
    still has it: it landed, so it is never sent twice (even if the earner has declined
    it since). A learner's other badge of the template (matched by email) is not ours."""
    if badge is None or badge.state in _GONE or badge.earner_key != request.earner_key:
        return None
    return badge


def _declined_badge_of(badge: ProviderBadge, context: _Context) -> bool:
    """Whether `badge` is one this award was issued before and the earner declined."""
    return badge.state is ProviderBadgeState.REJECTED and any(
        held.external_id == badge.external_id for held in context.held
    )


def _issue_request(item: OutboxItem, context: _Context) -> IssueRequest:
    award, learner = context.award, context.learner
    return IssueRequest(
        template_external_id=item.template_id.split(":", 1)[1],
        recipient=Recipient(learner.id, learner.email, learner.first_name, learner.last_name),
        issued_at=award.awarded_at,
        earner_key=earner_key(item),
        expires_at=award.expires_at,
        evidence=tuple(EvidenceSpec(e.kind, e.name, e.value) for e in award.evidence),
    )
