"""The issuance outbox and the provider badges it produces.

Rows are claimed with a lease: a worker that dies holding rows (SIGKILL) simply lets
the lease run out, and another worker takes them. On PostgreSQL the claim uses
`FOR UPDATE SKIP LOCKED`, so several replicas share the work without waiting on each
other; SQLite has one writer and needs no lock clause."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.orm import Session

from server.domain import OutboxAction, OutboxItem, OutboxState, ProviderBadgeRecord
from server.store._driver import Driver, RowInsert
from server.store._statements import upsert_insert
from server.store.models import Award, Outbox, ProviderBadge

__all__ = [
    "claim_due",
    "enqueue",
    "enqueue_item",
    "get_outbox_item",
    "list_outbox",
    "outbox_counts",
    "provider_badges_for_award",
    "provider_badges_for_learner",
    "provider_badges_for_template",
    "retry_failed",
    "save_item",
    "upsert_provider_badge",
]

_MUTABLE = (
    "state",
    "attempts",
    "next_attempt_at",
    "lease_until",
    "outcome_unknown",
    "last_error",
    "provider_badge_id",
)


def enqueue(session: Session, items: Sequence[OutboxItem], now: datetime) -> None:
    """Add items, due now unless they say otherwise; one driver-level executemany (see
    `_driver`: ingest queues one item per award it makes)."""
    if not items:
        return
    driver = Driver(session)
    at = driver.time(now)
    rows = [
        (
            item.award_id,
            item.action.value,
            item.template_id,
            item.state.value,
            item.attempts,
            at if item.next_attempt_at is None else driver.time(item.next_attempt_at),
            item.outcome_unknown,
            item.last_error,
            item.provider_badge_id,
            at,
            at,
        )
        for item in items
    ]
    driver.insert(_ENQUEUE, rows)


_ENQUEUE = RowInsert(
    "outbox",
    [
        ("award_id", "integer"),
        ("action", "text"),
        ("template_id", "text"),
        ("state", "text"),
        ("attempts", "integer"),
        ("next_attempt_at", "timestamptz"),
        ("outcome_unknown", "boolean"),
        ("last_error", "text"),
        ("provider_badge_id", "text"),
        ("created_at", "timestamptz"),
        ("updated_at", "timestamptz"),
    ],
)


def enqueue_item(session: Session, item: OutboxItem, now: datetime) -> int:
    """Add one item and return its id (what a caller shows, e.g. a re-issue)."""
    table = Outbox.__table__
    stmt = insert(table).values(_new_row(item, now)).returning(table.c.id)
    return int(session.connection().execute(stmt).scalar_one())


def _new_row(item: OutboxItem, now: datetime) -> dict[str, Any]:
    return {
        "award_id": item.award_id,
        "action": item.action.value,
        "template_id": item.template_id,
        "state": item.state.value,
        "attempts": item.attempts,
        "next_attempt_at": item.next_attempt_at or now,
        "lease_until": None,
        "outcome_unknown": item.outcome_unknown,
        "last_error": item.last_error,
        "provider_badge_id": item.provider_badge_id,
        "created_at": now,
        "updated_at": now,
    }


def claim_due(session: Session, now: datetime, limit: int, lease: timedelta) -> list[OutboxItem]:
    """Take up to `limit` pending items that are due and not leased by a live worker."""
    stmt = (
        select(Outbox)
        .where(
            Outbox.state == OutboxState.PENDING.value,
            Outbox.next_attempt_at <= now,
            or_(Outbox.lease_until.is_(None), Outbox.lease_until < now),
        )
        .order_by(Outbox.next_attempt_at, Outbox.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    rows = session.scalars(stmt).all()
    if not rows:
        return []
    until = now + lease
    # A row still carrying an expired lease was claimed by a worker that died before
    # recording any result (a clean worker always clears the lease): its call may have
    # reached the provider, so the next attempt must ask before sending again.
    orphaned = [r.id for r in rows if r.lease_until is not None]
    session.execute(
        update(Outbox).where(Outbox.id.in_([r.id for r in rows])).values(lease_until=until)
    )
    if orphaned:
        session.execute(update(Outbox).where(Outbox.id.in_(orphaned)).values(outcome_unknown=True))
    items = [_to_item(r) for r in rows]
    for item in items:
        item.outcome_unknown = item.outcome_unknown or item.id in orphaned
        item.lease_until = until
    return items


def save_item(session: Session, item: OutboxItem, now: datetime) -> None:
    values: dict[str, Any] = {name: getattr(item, name) for name in _MUTABLE}
    values["state"] = item.state.value
    values["updated_at"] = now
    session.execute(update(Outbox).where(Outbox.id == item.id).values(values))


def list_outbox(
    session: Session,
    *,
    state: OutboxState | None = None,
    award_id: int | None = None,
    newest: int | None = None,
) -> list[OutboxItem]:
    """Items in id order; with `newest`, only the last that many (read as such, not
    filtered after loading the whole queue)."""
    stmt = select(Outbox).execution_options(populate_existing=True)
    if state is not None:
        stmt = stmt.where(Outbox.state == state.value)
    if award_id is not None:
        stmt = stmt.where(Outbox.award_id == award_id)
    if newest is not None:
        rows = session.scalars(stmt.order_by(Outbox.id.desc()).limit(newest)).all()
        return [_to_item(r) for r in reversed(rows)]
    return [_to_item(r) for r in session.scalars(stmt.order_by(Outbox.id))]


def get_outbox_item(session: Session, item_id: int) -> OutboxItem | None:
    row = session.get(Outbox, item_id, populate_existing=True)
    return _to_item(row) if row is not None else None


def outbox_counts(session: Session) -> dict[str, int]:
    stmt = select(Outbox.state, func.count()).group_by(Outbox.state)
    return {state: count for state, count in session.execute(stmt)}


def retry_failed(session: Session, item_id: int, now: datetime) -> bool:
    """Make a failed item due again (an admin's retry); False if it is not failed."""
    result = session.execute(
        update(Outbox)
        .where(Outbox.id == item_id, Outbox.state == OutboxState.FAILED.value)
        .values(
            state=OutboxState.PENDING.value, next_attempt_at=now, lease_until=None, updated_at=now
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def upsert_provider_badge(session: Session, record: ProviderBadgeRecord, now: datetime) -> None:
    table = ProviderBadge.__table__
    row = {
        "provider": record.provider,
        "external_id": record.external_id,
        "template_external_id": record.template_external_id,
        "state": record.state,
        "recipient_email": record.recipient_email,
        "award_id": record.award_id,
        "issued_at": record.issued_at,
        "expires_at": record.expires_at,
        "replaced_by": record.replaced_by,
        "url": record.url,
        "accept_url": record.accept_url,
        "updated_at": record.updated_at or now,
    }
    stmt = upsert_insert(session, table)
    changing = {
        k: stmt.excluded[k] for k in row if k not in ("provider", "external_id", "award_id")
    }
    # A badge first seen by reconciliation keeps the award it is later matched to.
    changing["award_id"] = func.coalesce(stmt.excluded.award_id, table.c.award_id)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.provider, table.c.external_id], set_=changing
    )
    session.connection().execute(stmt, [row])


def provider_badges_for_award(session: Session, award_id: int) -> list[ProviderBadgeRecord]:
    return _provider_badges(session, ProviderBadge.award_id == award_id)


def provider_badges_for_learner(
    session: Session, learner_id: str, email: str
) -> list[ProviderBadgeRecord]:
    """Badges issued for the learner's awards, and badges issued directly to the email."""
    awards = select(Award.id).where(Award.learner_id == learner_id)
    condition = ProviderBadge.award_id.in_(awards)
    if email:
        condition = or_(
            condition,
            and_(ProviderBadge.award_id.is_(None), ProviderBadge.recipient_email == email),
        )
    return _provider_badges(session, condition)


def provider_badges_for_template(
    session: Session, provider: str, template_external_id: str
) -> list[ProviderBadgeRecord]:
    return _provider_badges(
        session,
        and_(
            ProviderBadge.provider == provider,
            ProviderBadge.template_external_id == template_external_id,
        ),
    )


def _provider_badges(session: Session, condition: Any) -> list[ProviderBadgeRecord]:
    stmt = (
        select(ProviderBadge)
        .where(condition)
        .order_by(ProviderBadge.provider, ProviderBadge.id)
        .execution_options(populate_existing=True)
    )
    return [provider_badge_from_row(r) for r in session.scalars(stmt)]


def provider_badge_from_row(row: ProviderBadge) -> ProviderBadgeRecord:
    return ProviderBadgeRecord(
        provider=row.provider,
        external_id=row.external_id,
        template_external_id=row.template_external_id,
        state=row.state,
        recipient_email=row.recipient_email,
        award_id=row.award_id,
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        replaced_by=row.replaced_by,
        url=row.url,
        accept_url=row.accept_url,
        updated_at=row.updated_at,
    )


def _to_item(row: Outbox) -> OutboxItem:
    return OutboxItem(
        id=row.id,
        award_id=row.award_id,
        action=OutboxAction(row.action),
        template_id=row.template_id,
        state=OutboxState(row.state),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        lease_until=row.lease_until,
        outcome_unknown=row.outcome_unknown,
        last_error=row.last_error,
        provider_badge_id=row.provider_badge_id,
    )
