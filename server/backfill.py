"""Backfill: award, from the stored event log, the badges learners already earned before
the rules in force said so (a badge added or changed after the events arrived).

How, and why this way:

- Learners are independent (progress and `has badge` are per learner), so the log is
  replayed a chunk of learners at a time, each learner's events in the order they
  happened, through the real engine (`process_batch` over a `MemoryBatchStore`) with only
  the chosen badges listening. Memory stays bounded by one chunk, whatever the log size.
- Each chunk is replayed *inside* one writer transaction, so no event can be ingested
  between the replay and its writes: an event committed before the chunk is in the
  replay, one committed after is processed live against the rows the chunk wrote.
  Ingest waits at most one chunk (about 1,000 events).
- Facts the log cannot re-derive come from the store: the replay starts from the
  learner's stored awards of the `has badge` dependencies that are not backfilled (an
  admin's grant or revocation, an inactive dependency), and from admin revocations of
  the chosen badges (never awarded again, and not "held" for dependents).
- Then, per learner and chosen badge: a learner who holds the badge is left alone
  (`already_held`); one whose award an admin revoked is skipped (`revoked_by_admin`);
  otherwise, if the replay ends with the badge standing, it is awarded (origin BACKFILL,
  the replay's earning events and evidence, expiry from now) with an outbox ISSUE row in
  the same transaction, and `WatchAwards` hears of it after commit, as live awards. A
  repeatable badge gets one award, however often the log earned it.
- The replayed progress row replaces the stored one when they differ, unless that would
  take away a requirement the stored row has fulfilled without an award to show for it
  (events past the retention can no longer be replayed); rows of learners who hold the
  badge or were revoked by an admin are left as they are.

A second run finds every learner it awarded holding the badge, so it awards nothing."""

from __future__ import annotations

import asyncio
import enum
import functools
import logging
from collections.abc import AsyncIterator, Callable, Collection, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from dsl.ruleset import CompiledBadge, RuleSet
from server.domain import (
    AwardOrigin,
    AwardRecord,
    AwardState,
    OutboxAction,
    OutboxItem,
    ProgressRecord,
)
from server.engine.awarding import AwardChange, next_award
from server.engine.broadcast import AwardBroadcaster
from server.engine.processor import BatchChanges, Key, process_batch
from server.engine.ruleset import ActiveRules
from server.errors import FailedPrecondition
from server.ingest import RulesHolder, utcnow
from server.planning import (
    MAX_LISTED_LEARNERS,
    badge_fingerprint,
    event_types,
    to_incoming,
    with_dependencies,
)
from server.rules_admin import bound_badge
from server.store import awards as awards_repo
from server.store import backfill as log_repo
from server.store import locks
from server.store import outbox as outbox_repo
from server.store import progress as progress_repo
from server.transactions import TransactionRunner

__all__ = [
    "BackfillReport",
    "Backfiller",
    "TemplateTally",
    "choose_badges",
    "estimate",
    "run_chunk",
    "split_page",
]

_log = logging.getLogger("badgeflow.backfill")

#: A chunk (one writer transaction) holds at most this many learners ...
CHUNK_LEARNERS = 200
#: ... and stops taking learners once it has this many events (one learner may have more).
CHUNK_EVENTS = 1000
#: Learners listed per read while paging through the log.
PAGE_LEARNERS = 1000
#: Longest wait between two progress reports while a chunk is replayed.
HEARTBEAT_SECONDS = 0.5


@dataclass(slots=True)
class TemplateTally:
    """What a backfill did (or would do) for one template."""

    template_id: str
    badge: str
    awarded_learner_ids: list[str] = field(default_factory=list)
    awards: int = 0
    already_held: int = 0
    revoked_by_admin: int = 0
    progress_updated: int = 0


@dataclass(frozen=True, slots=True)
class BackfillReport:
    """Progress of a run; the last one has `done` and the tallies."""

    events_replayed: int
    events_total: int
    learners_replayed: int
    awards: int
    done: bool = False
    results: tuple[TemplateTally, ...] = ()


class _Verdict(enum.Enum):
    NONE = "none"
    AWARD = "award"
    HELD = "held"
    REVOKED_BY_ADMIN = "revoked_by_admin"


@dataclass(frozen=True, slots=True)
class _Decision:
    key: Key
    verdict: _Verdict
    award: AwardChange | None = None
    progress: ProgressRecord | None = None


@dataclass(frozen=True, slots=True)
class _Job:
    """One run's fixed inputs: the chosen badges and what their replay needs."""

    rules: ActiveRules  # the rules in force with only the chosen badges listening
    chosen: dict[str, CompiledBadge]  # by template id
    seeded: frozenset[str]  # templates whose stored awards the replay starts from
    types: frozenset[str]
    fingerprints: dict[str, str]


@dataclass(frozen=True, slots=True)
class _ChunkOutcome:
    events: int
    decisions: list[_Decision]
    changes: list[AwardChange]


# -- choosing ------------------------------------------------------------------


def _named_badge(session: Session, rules: ActiveRules, template_id: str) -> CompiledBadge:
    badge = bound_badge(
        session, rules, template_id, "apply rules that name it, activate it, then backfill"
    )
    if template_id not in rules.active_templates:
        raise FailedPrecondition(
            "TEMPLATE_INACTIVE",
            f"template {template_id!r} is inactive: activate it first (only active "
            "templates are earned, live or by a backfill)",
            metadata={"subject": template_id, "template_id": template_id},
        )
    return badge


def choose_badges(
    session: Session, rules: ActiveRules, template_ids: Sequence[str]
) -> list[CompiledBadge]:
    """The named templates' badges (each known, bound and active), or every active one."""
    if template_ids:
        return [_named_badge(session, rules, t) for t in template_ids]
    return [b for b in rules.rule_set.badges if b.template_id in rules.active_templates]


def _job(rules: ActiveRules, badges: Sequence[CompiledBadge]) -> _Job:
    chosen = {b.template_id: b for b in badges}
    closure = with_dependencies(rules.rule_set, badges).badges
    return _Job(
        rules=ActiveRules(rules.version, rules.rule_set, chosen),
        chosen=chosen,
        seeded=frozenset(b.template_id for b in closure),
        types=frozenset(event_types(badges)),
        fingerprints={t: badge_fingerprint(b) for t, b in chosen.items()},
    )


def _still_in_force(job: _Job, current: ActiveRules) -> bool:
    """Whether every chosen badge is still active under the same rules."""
    for template_id, fingerprint in job.fingerprints.items():
        badge = current.badge(template_id)
        if (
            badge is None
            or template_id not in current.active_templates
            or badge_fingerprint(badge) != fingerprint
        ):
            return False
    return True


# -- one chunk -----------------------------------------------------------------


class _ReplayStore:
    """The engine's storage port for one replayed batch: it starts from the seeded
    awards and keeps what the batch writes. Unlike `MemoryBatchStore` it copies nothing
    (the batch is its only user) and skips de-duplication (the log holds each id once):
    that halves the cost of a replay."""

    def __init__(self, seeds: Sequence[AwardRecord]) -> None:
        self._seeds = {(a.learner_id, a.template_id): a for a in seeds}
        self.progress: dict[Key, ProgressRecord] = {}
        #: Per key, the first award the replay made, in its final state (a repeatable
        #: badge may have been earned several times).
        self.made: dict[Key, AwardRecord] = {}

    def lock_learners(self, learner_ids: Collection[str]) -> None:
        """The chunk's learners are locked by `run_chunk`."""

    def existing_event_ids(self, ids: Collection[str]) -> set[str]:
        return set()

    def load_state(
        self, keys: Collection[Key]
    ) -> tuple[dict[Key, ProgressRecord], dict[Key, AwardRecord]]:
        return {}, {k: self._seeds[k] for k in keys if k in self._seeds}

    def write(self, changes: BatchChanges) -> None:
        self.progress = {(r.learner_id, r.template_id): r for r in changes.progress}
        for award in changes.awards:
            if award.id is not None:
                continue  # a seeded award changed: facts from the store are not replayed
            award.id = -1  # made here; never written as such
            key = (award.learner_id, award.template_id)
            if key not in self.made or award.sequence < self.made[key].sequence:
                self.made[key] = award


def _replay(
    session: Session, job: _Job, learners: Sequence[str], now: datetime
) -> tuple[_ReplayStore, dict[Key, AwardRecord], int]:
    """Replay the learners' events; returns the outcome, the stored latest awards of the
    chosen and dependency templates, and how many events were replayed."""
    events = log_repo.learner_events(session, learners, job.types)
    stored = awards_repo.latest_awards(session, [(lid, t) for lid in learners for t in job.seeded])
    store = _ReplayStore(
        [
            award
            for (_, template_id), award in stored.items()
            if template_id not in job.chosen or award.revoked_by_admin
        ]
    )
    if events:
        process_batch(job.rules, [to_incoming(e) for e in events], store, now)
    return store, stored, len(events)


def _same_progress(a: ProgressRecord, b: ProgressRecord) -> bool:
    return (a.requirements, a.partial, a.fulfilled_groups, a.total_groups) == (
        b.requirements,
        b.partial,
        b.fulfilled_groups,
        b.total_groups,
    )


def _progress_to_write(
    replayed: ProgressRecord | None, stored: ProgressRecord | None, awarded: bool, now: datetime
) -> ProgressRecord | None:
    """The replayed row, when it says something new and takes nothing unexplained away."""
    if replayed is None:
        return None
    times = (stored.times_awarded if stored else 0) + (1 if awarded else 0)
    if stored is not None:
        if not awarded and not set(stored.requirements) <= set(replayed.requirements):
            return None
        if _same_progress(replayed, stored) and times == stored.times_awarded:
            return None
    return replace(replayed, times_awarded=times, updated_at=now)


def _backfill_award(
    badge: CompiledBadge, stored: AwardRecord | None, replayed: AwardRecord, now: datetime
) -> AwardChange:
    """The award that stands, built as live awarding builds it (a new row, or the one row
    of a badge a penalty revoked), with the replay's earning events and evidence."""
    change = next_award(
        badge, replayed.learner_id, stored, now, replayed.event_ids, origin=AwardOrigin.BACKFILL
    )
    return replace(change, award=replace(change.award, evidence=replayed.evidence))


def _decide(
    badge: CompiledBadge,
    key: Key,
    stored: AwardRecord | None,
    replayed: AwardRecord | None,
    progress: tuple[ProgressRecord | None, ProgressRecord | None],
    now: datetime,
) -> _Decision:
    """What the backfill does for one learner and badge; `progress` is (replayed, stored)."""
    replayed_progress, stored_progress = progress
    earned = replayed if replayed is not None and replayed.state is AwardState.AWARDED else None
    if stored is not None and stored.state is AwardState.AWARDED:
        return _Decision(key, _Verdict.HELD if earned else _Verdict.NONE)
    if stored is not None and stored.revoked_by_admin:
        completed = replayed_progress is not None and replayed_progress.completed
        return _Decision(key, _Verdict.REVOKED_BY_ADMIN if completed else _Verdict.NONE)
    change = _backfill_award(badge, stored, earned, now) if earned else None
    row = _progress_to_write(replayed_progress, stored_progress, change is not None, now)
    return _Decision(key, _Verdict.AWARD if change else _Verdict.NONE, change, row)


def _decisions(
    session: Session, job: _Job, learners: Sequence[str], now: datetime
) -> _ChunkOutcome:
    store, stored, events = _replay(session, job, learners, now)
    keys = [(learner, t) for learner in learners for t in job.chosen]
    stored_progress = progress_repo.load_progress(session, keys)
    decisions = [
        _decide(
            job.chosen[key[1]],
            key,
            stored.get(key),
            store.made.get(key),
            (store.progress.get(key), stored_progress.get(key)),
            now,
        )
        for key in keys
    ]
    return _ChunkOutcome(events, decisions, [])


def _write(session: Session, decisions: Sequence[_Decision], now: datetime) -> list[AwardChange]:
    """Awards, their outbox rows and progress, as live awarding writes them."""
    changes = [d.award for d in decisions if d.award is not None]
    new = [c for c in changes if c.is_new]
    awards_repo.insert_awards(session, [c.award for c in new])
    written = list(new)
    for change in changes:
        if not change.is_new:
            awards_repo.update_award(session, change.award)
            written.append(change)
    items = [OutboxItem(c.award.id, OutboxAction.ISSUE, c.award.template_id) for c in written]  # type: ignore[arg-type]
    outbox_repo.enqueue(session, items, now)
    progress_repo.save_progress(session, [d.progress for d in decisions if d.progress])
    return written


def run_chunk(
    session: Session, job: _Job, learners: Sequence[str], now: datetime, dry_run: bool
) -> _ChunkOutcome:
    """Replay and decide for a chunk of learners; write the outcome unless a dry run.
    The learners are locked first: ingest on another replica may be writing them."""
    if not dry_run:
        locks.lock_learners(session, learners)
    outcome = _decisions(session, job, learners, now)
    if dry_run:
        return outcome
    return replace(outcome, changes=_write(session, outcome.decisions, now))


def split_page(
    page: Sequence[tuple[str, int]],
    max_learners: int = CHUNK_LEARNERS,
    max_events: int = CHUNK_EVENTS,
) -> Iterator[list[str]]:
    """Cut a page of (learner, event count) into chunks of bounded size."""
    chunk: list[str] = []
    events = 0
    for learner_id, count in page:
        chunk.append(learner_id)
        events += count
        if len(chunk) >= max_learners or events >= max_events:
            yield chunk
            chunk, events = [], 0
    if chunk:
        yield chunk


def _learner_chunks(session: Session, types: Collection[str]) -> Iterator[list[str]]:
    after: str | None = None
    while True:
        page = log_repo.learner_event_counts(session, types, after, PAGE_LEARNERS)
        yield from split_page(page)
        if len(page) < PAGE_LEARNERS:
            return
        after = page[-1][0]


def estimate(
    session: Session, rule_set: RuleSet, badges: Sequence[CompiledBadge], now: datetime
) -> tuple[dict[str, TemplateTally], int]:
    """What a backfill of `badges` would do were `rule_set` in force with them active,
    and how many events it would replay: the plan's estimate, by the backfill's own
    rules (held badges and admin revocations count), read a chunk at a time."""
    job = _job(ActiveRules(0, rule_set, ()), badges)
    tallies = {t: TemplateTally(t, b.slug) for t, b in job.chosen.items()}
    events = 0
    for learners in _learner_chunks(session, job.types):
        outcome = run_chunk(session, job, learners, now, dry_run=True)
        events += outcome.events
        _tally(tallies, outcome.decisions)
    return tallies, events


# -- a run ---------------------------------------------------------------------


def _tally(tallies: dict[str, TemplateTally], decisions: Sequence[_Decision]) -> int:
    """Add a chunk's decisions to the tallies; returns the awards among them."""
    awards = 0
    for d in decisions:
        tally = tallies[d.key[1]]
        if d.verdict is _Verdict.AWARD:
            awards += 1
            tally.awards += 1
            if len(tally.awarded_learner_ids) < MAX_LISTED_LEARNERS:
                tally.awarded_learner_ids.append(d.key[0])
        elif d.verdict is _Verdict.HELD:
            tally.already_held += 1
        elif d.verdict is _Verdict.REVOKED_BY_ADMIN:
            tally.revoked_by_admin += 1
        if d.progress is not None:
            tally.progress_updated += 1
    return awards


async def _while_running(task: asyncio.Task[Any], every: float) -> AsyncIterator[None]:
    """Yield every `every` seconds until the task is done (never cancelling it)."""
    while True:
        done, _ = await asyncio.wait({task}, timeout=every)
        if done:
            return
        yield None


class Backfiller:
    def __init__(
        self,
        runner: TransactionRunner,
        holder: RulesHolder,
        broadcaster: AwardBroadcaster,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._runner = runner
        self._holder = holder
        self._broadcaster = broadcaster
        self._clock = clock
        self._running: set[asyncio.Task[_ChunkOutcome]] = set()

    async def run(
        self, template_ids: Sequence[str], dry_run: bool
    ) -> AsyncIterator[BackfillReport]:
        """Yield a report at the start, after every chunk (at most ~1,000 events) and at
        least every HEARTBEAT_SECONDS, then a final one with `done`. Raises the domain
        errors of `choose_badges` before anything is replayed. Cancelling the consumer
        stops after the chunk being written (it commits and is announced)."""
        rules = self._holder.current
        badges = await self._runner.read(lambda s: choose_badges(s, rules, template_ids))
        job = _job(rules, badges)
        total = await self._runner.read(lambda s: log_repo.count_events_of_types(s, job.types))
        tallies = {t: TemplateTally(t, b.slug) for t, b in job.chosen.items()}
        report = BackfillReport(0, total, 0, 0)
        yield report
        async for learners in self._chunks(job):
            self._check_rules(job)
            task = self._start_chunk(job, learners, dry_run)
            async for _ in _while_running(task, HEARTBEAT_SECONDS):
                yield report
            outcome = task.result()
            report = replace(
                report,
                events_replayed=report.events_replayed + outcome.events,
                learners_replayed=report.learners_replayed + len(learners),
                awards=report.awards + _tally(tallies, outcome.decisions),
            )
            yield report
        _log.info("backfill done", extra={"dry_run": dry_run, **asdict(report)})
        yield replace(report, done=True, results=tuple(tallies.values()))

    def _check_rules(self, job: _Job) -> None:
        if not _still_in_force(job, self._holder.current):
            raise FailedPrecondition(
                "RULES_CHANGED",
                "the rules or active templates of the backfilled badges changed during the "
                "backfill; what was written stands, run it again to finish",
                metadata={"subject": "rules"},
            )

    async def _chunks(self, job: _Job) -> AsyncIterator[list[str]]:
        after: str | None = None
        while True:
            page = await self._runner.read(
                functools.partial(
                    log_repo.learner_event_counts,
                    types=job.types,
                    after=after,
                    limit=PAGE_LEARNERS,
                )
            )
            for chunk in split_page(page):
                yield chunk
            if len(page) < PAGE_LEARNERS:
                return
            after = page[-1][0]

    def _start_chunk(
        self, job: _Job, learners: list[str], dry_run: bool
    ) -> asyncio.Task[_ChunkOutcome]:
        """A task of its own, so a client going away mid-chunk still gets the chunk
        committed *and* announced to WatchAwards."""
        work = functools.partial(
            run_chunk, job=job, learners=learners, now=self._clock(), dry_run=dry_run
        )
        task = asyncio.ensure_future(
            self._runner.read(work) if dry_run else self._write_and_publish(work)
        )
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return task

    async def _write_and_publish(self, work: Callable[[Session], _ChunkOutcome]) -> _ChunkOutcome:
        outcome = await self._runner.write(work)
        self._broadcaster.publish(outcome.changes)
        return outcome
