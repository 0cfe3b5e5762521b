"""Per-learner progress on each template."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.domain import EvidenceItem, ProgressRecord, RequirementState
from server.store._driver import Driver, RowInsert
from server.store._statements import chunks
from server.store.models import Progress

__all__ = [
    "ProgressFilter",
    "learner_progress",
    "load_progress",
    "progress_rows",
    "save_progress",
    "template_progress",
]

Key = tuple[str, str]  # (learner_id, template_id)

_UPDATED_COLUMNS = (
    "requirements",
    "partial",
    "fulfilled_groups",
    "total_groups",
    "completed",
    "times_awarded",
    "updated_at",
)
_UPSERT = RowInsert(
    "progress",
    [
        ("learner_id", "text"),
        ("template_id", "text"),
        ("requirements", "jsonb"),
        ("partial", "jsonb"),
        ("fulfilled_groups", "integer"),
        ("total_groups", "integer"),
        ("completed", "boolean"),
        ("times_awarded", "integer"),
        ("updated_at", "timestamptz"),
    ],
    " ON CONFLICT (learner_id, template_id) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in _UPDATED_COLUMNS),
)
_SELECT = (
    "SELECT learner_id, template_id, requirements, partial, fulfilled_groups, total_groups,"
    " times_awarded, updated_at FROM progress"
)


@dataclass(frozen=True, slots=True)
class ProgressFilter:
    """Which records of a template to list; the defaults list all."""

    completed: bool | None = None  # True: completed only; False: not completed only
    min_percent: float = 0.0  # fulfilled groups / total groups x 100, at least
    updated_after: datetime | None = None  # changed at or after


def load_progress(session: Session, keys: Collection[Key]) -> dict[Key, ProgressRecord]:
    """Rows for the keys that have one; a batch of events costs a few statements.

    Driver-level (see `_driver`), and selected by learner only: a learner has few rows,
    while `learner IN (...) AND template IN (...)` made SQLite probe every pair."""
    wanted = set(keys)
    driver = Driver(session)
    found: dict[Key, ProgressRecord] = {}
    for learner_ids in chunks(list({learner_id for learner_id, _ in wanted})):
        where, params = driver.is_in("learner_id", learner_ids)
        for row in driver.query(f"{_SELECT} WHERE {where}", params):
            if (row[0], row[1]) in wanted:
                found[(row[0], row[1])] = _from_driver_row(driver, row)
    return found


def save_progress(session: Session, records: Sequence[ProgressRecord]) -> None:
    """Insert or overwrite by (learner, template); the last record for a key wins.
    One driver-level statement (see `_driver`)."""
    driver = Driver(session)
    driver.insert(*progress_rows(driver, records))


def progress_rows(driver: Driver, records: Sequence[ProgressRecord]) -> tuple[RowInsert, list[Any]]:
    """The upsert of `records`, for `Driver.insert_all`."""
    rows = {(r.learner_id, r.template_id): _to_driver_row(driver, r) for r in records}
    return _UPSERT, list(rows.values())


def learner_progress(session: Session, learner_id: str) -> list[ProgressRecord]:
    stmt = select(Progress).where(Progress.learner_id == learner_id).order_by(Progress.template_id)
    return [_to_record(row) for row in _fetch(session, stmt)]


def template_progress(
    session: Session,
    template_id: str,
    *,
    after_learner_id: str | None,
    limit: int,
    where: ProgressFilter = ProgressFilter(),
) -> list[ProgressRecord]:
    """One page, keyset-paged by learner id so pages stay stable while rows are added;
    filtered in SQL, so every page but the last is full."""
    stmt = select(Progress).where(Progress.template_id == template_id, *_conditions(where))
    if after_learner_id is not None:
        stmt = stmt.where(Progress.learner_id > after_learner_id)
    stmt = stmt.order_by(Progress.learner_id).limit(limit)
    return [_to_record(row) for row in _fetch(session, stmt)]


def _conditions(where: ProgressFilter) -> list[Any]:
    conditions: list[Any] = []
    if where.completed is not None:
        conditions.append(Progress.completed.is_(where.completed))
    if where.min_percent > 0:
        # The stored counts, multiplied out: no division, and no row with zero groups.
        conditions.append(
            Progress.fulfilled_groups * 100.0 >= Progress.total_groups * where.min_percent
        )
        conditions.append(Progress.total_groups > 0)
    if where.updated_after is not None:
        conditions.append(Progress.updated_at >= where.updated_after)
    return conditions


def _fetch(session: Session, stmt: Any) -> Sequence[Progress]:
    # populate_existing: upserts bypass the identity map, so never trust a cached row.
    return session.scalars(stmt.execution_options(populate_existing=True)).all()


def _to_driver_row(driver: Driver, record: ProgressRecord) -> tuple[Any, ...]:
    if record.updated_at is None:
        raise ValueError(
            f"progress for {record.learner_id!r} on {record.template_id!r} has no updated_at"
        )
    return (
        record.learner_id,
        record.template_id,
        driver.json(_requirements_to_json(record.requirements)),
        driver.json(record.partial),
        record.fulfilled_groups,
        record.total_groups,
        record.completed,
        record.times_awarded,
        driver.time(record.updated_at),
    )


def _from_driver_row(driver: Driver, row: tuple[Any, ...]) -> ProgressRecord:
    return ProgressRecord(
        learner_id=row[0],
        template_id=row[1],
        requirements=_requirements_from_json(driver.read_json(row[2])),
        partial=dict(driver.read_json(row[3])),
        fulfilled_groups=row[4],
        total_groups=row[5],
        times_awarded=row[6],
        updated_at=driver.read_time(row[7]),
    )


def _to_record(row: Progress) -> ProgressRecord:
    return ProgressRecord(
        learner_id=row.learner_id,
        template_id=row.template_id,
        requirements=_requirements_from_json(row.requirements),
        partial=dict(row.partial),
        fulfilled_groups=row.fulfilled_groups,
        total_groups=row.total_groups,
        times_awarded=row.times_awarded,
        updated_at=row.updated_at,
    )


def _requirements_to_json(requirements: dict[str, RequirementState]) -> dict[str, Any]:
    return {
        name: {
            "at": _iso_utc(state.fulfilled_at),
            "events": list(state.event_ids),
            "evidence": [[e.kind, e.name, e.value] for e in state.evidence],
        }
        for name, state in requirements.items()
    }


def _requirements_from_json(data: dict[str, Any]) -> dict[str, RequirementState]:
    return {
        name: RequirementState(
            fulfilled_at=datetime.fromisoformat(item["at"]),
            event_ids=tuple(item["events"]),
            evidence=tuple(EvidenceItem(*e) for e in item.get("evidence", ())),
        )
        for name, item in data.items()
    }


def _iso_utc(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()} given; use an aware UTC value")
    return value.astimezone(UTC).isoformat()
