"""Awards: one per learner x template, or a numbered series for repeatable badges."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.orm import Session

from server.domain import AwardOrigin, AwardRecord, AwardState, EvidenceItem, RevokedBy
from server.store._driver import Driver
from server.store._statements import chunks
from server.store.models import Award

__all__ = [
    "get_award",
    "holders",
    "insert_award",
    "insert_awards",
    "latest_awards",
    "learner_awards",
    "update_award",
]

Key = tuple[str, str]  # (learner_id, template_id)

_COLUMNS = (
    "learner_id",
    "template_id",
    "badge",
    "sequence",
    "state",
    "awarded_at",
    "revoked_at",
    "revoked_by",
    "revoke_reason",
    "event_ids",
    "expires_at",
    "evidence",
    "origin",
    "grant_reason",
)
_JSON_COLUMNS = ("event_ids", "evidence")
# Everything but the identity (learner, template, badge, sequence): what an update writes.
_MUTABLE = _COLUMNS[4:]
_TIME_COLUMNS = ("awarded_at", "revoked_at", "expires_at")
_INSERT = f"INSERT INTO awards ({', '.join(_COLUMNS)})"
_INSERT_VALUES = "(" + ", ".join("JSON(?)" if c in _JSON_COLUMNS else "?" for c in _COLUMNS) + ")"
# The awards are matched back by their unique identity: RETURNING's row order is not
# promised for a multi-row INSERT.
_RETURNING = "RETURNING id, learner_id, template_id, sequence"
_INSERT_CHUNK = 200  # 14 parameters a row, well under SQLite's limit
_SELECT_LATEST = (
    f"SELECT a.id, a.{', a.'.join(_COLUMNS)} FROM awards a"
    " WHERE a.sequence = (SELECT MAX(b.sequence) FROM awards b"
    " WHERE b.learner_id = a.learner_id AND b.template_id = a.template_id)"
)


def latest_awards(session: Session, keys: Collection[Key]) -> dict[Key, AwardRecord]:
    """The highest sequence per key: what a repeatable badge's next award builds on.

    Driver-level (see `_driver`; ingest asks this for every batch) and selected by
    learner: most learners hold no award, and the unique index answers for them."""
    wanted = set(keys)
    driver = Driver(session)
    found: dict[Key, AwardRecord] = {}
    for learner_ids in chunks(sorted({learner_id for learner_id, _ in wanted})):
        where, params = driver.is_in("a.learner_id", learner_ids)
        for row in driver.query(f"{_SELECT_LATEST} AND {where}", params):
            if (row[1], row[2]) in wanted:
                found[(row[1], row[2])] = _from_driver_row(driver, row)
    return found


def insert_award(session: Session, award: AwardRecord) -> AwardRecord:
    """Returns a copy with the id the database assigned; the input is left untouched."""
    row = _to_row(award)
    award_id = session.scalar(insert(Award).values(row).returning(Award.id))
    return dataclasses.replace(award, id=award_id)


def insert_awards(session: Session, awards: Sequence[AwardRecord]) -> Sequence[AwardRecord]:
    """Insert new awards and set the `id` the database assigned on each (they are the
    caller's fresh records); returns them. Driver-level (see `_driver`): a batch that
    earns many badges costs one statement per few hundred awards, not one per award."""
    driver = Driver(session)
    for chunk in chunks(list(awards), _INSERT_CHUNK):
        values = ", ".join([_INSERT_VALUES] * len(chunk))
        params = tuple(value for award in chunk for value in _to_driver_row(driver, award))
        rows = driver.query(f"{_INSERT} VALUES {values} {_RETURNING}", params)
        ids = {(learner, template, sequence): id_ for id_, learner, template, sequence in rows}
        for award in chunk:
            award.id = ids[(award.learner_id, award.template_id, award.sequence)]
    return awards


def update_award(session: Session, award: AwardRecord) -> None:
    """Writes the mutable part of an award (its state, evidence and origin), never its
    identity: a revoked row that stands again may come from a grant or from the rules."""
    if award.id is None:
        raise ValueError("award has no id; insert it first")
    values = {name: value for name, value in _to_row(award).items() if name in _MUTABLE}
    result = session.execute(update(Award).where(Award.id == award.id).values(values))
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise KeyError(award.id)


def get_award(session: Session, award_id: int) -> AwardRecord | None:
    stmt = select(Award).where(Award.id == award_id)
    rows = _fetch(session, stmt)
    return _to_record(rows[0]) if rows else None


def learner_awards(session: Session, learner_id: str) -> list[AwardRecord]:
    stmt = (
        select(Award)
        .where(Award.learner_id == learner_id)
        .order_by(Award.template_id, Award.sequence)
    )
    return [_to_record(row) for row in _fetch(session, stmt)]


def _fetch(session: Session, stmt: Any) -> Sequence[Award]:
    # populate_existing: Core updates bypass the identity map, so never trust a cached row.
    return session.scalars(stmt.execution_options(populate_existing=True)).all()


def _values(award: AwardRecord) -> tuple[Any, ...]:
    """The award's values for `_COLUMNS`, in that order, as the typed models take them."""
    return (
        award.learner_id,
        award.template_id,
        award.badge,
        award.sequence,
        award.state.value,
        award.awarded_at,
        award.revoked_at,
        None if award.revoked_by is None else award.revoked_by.value,
        award.revoke_reason,
        list(award.event_ids),
        award.expires_at,
        [[e.kind, e.name, e.value] for e in award.evidence],
        award.origin.value,
        award.grant_reason,
    )


def _to_row(award: AwardRecord) -> dict[str, Any]:
    return dict(zip(_COLUMNS, _values(award), strict=True))


def _to_driver_row(driver: Driver, award: AwardRecord) -> tuple[Any, ...]:
    """`_values` in the driver's form (see `_driver`)."""
    return tuple(
        driver.json(value)
        if name in _JSON_COLUMNS
        else driver.time(value)
        if name in _TIME_COLUMNS
        else value
        for name, value in zip(_COLUMNS, _values(award), strict=True)
    )


def _from_driver_row(driver: Driver, row: Sequence[Any]) -> AwardRecord:
    """An award from `_SELECT_LATEST`'s columns (id, then `_COLUMNS`)."""
    return AwardRecord(
        id=row[0],
        learner_id=row[1],
        template_id=row[2],
        badge=row[3],
        sequence=row[4],
        state=AwardState(row[5]),
        awarded_at=driver.read_time(row[6]),
        revoked_at=None if row[7] is None else driver.read_time(row[7]),
        revoked_by=None if row[8] is None else RevokedBy(row[8]),
        revoke_reason=row[9],
        event_ids=tuple(driver.read_json(row[10])),
        expires_at=None if row[11] is None else driver.read_time(row[11]),
        evidence=tuple(EvidenceItem(*item) for item in driver.read_json(row[12])),
        origin=AwardOrigin(row[13]),
        grant_reason=row[14],
    )


def _to_record(row: Award) -> AwardRecord:
    return AwardRecord(
        id=row.id,
        learner_id=row.learner_id,
        template_id=row.template_id,
        badge=row.badge,
        sequence=row.sequence,
        state=AwardState(row.state),
        awarded_at=row.awarded_at,
        event_ids=tuple(row.event_ids),
        revoked_at=row.revoked_at,
        revoked_by=None if row.revoked_by is None else RevokedBy(row.revoked_by),
        revoke_reason=row.revoke_reason,
        expires_at=row.expires_at,
        evidence=tuple(EvidenceItem(*e) for e in row.evidence),
        origin=AwardOrigin(row.origin),
        grant_reason=row.grant_reason,
    )


def holders(session: Session, template_id: str) -> set[str]:
    """Learners whose latest award of the template stands."""
    latest = (
        select(Award.learner_id, func.max(Award.sequence).label("sequence"))
        .where(Award.template_id == template_id)
        .group_by(Award.learner_id)
        .subquery()
    )
    stmt = (
        select(Award.learner_id)
        .join(
            latest,
            and_(
                Award.template_id == template_id,
                Award.learner_id == latest.c.learner_id,
                Award.sequence == latest.c.sequence,
            ),
        )
        .where(Award.state == AwardState.AWARDED.value)
    )
    return set(session.scalars(stmt))
