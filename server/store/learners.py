"""Learners as the latest events describe them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, or_, select
from sqlalchemy.orm import Session

from server.domain import LearnerRecord
from server.store._statements import upsert_insert
from server.store.models import Learner

__all__ = ["get_learner", "upsert_learners"]

_PROFILE_FIELDS = ("email", "first_name", "last_name")


def upsert_learners(session: Session, learners: Sequence[LearnerRecord], now: datetime) -> None:
    """Insert new learners; refresh known ones only with non-empty, changed values.

    Events often carry a partial profile (an id and an email, no name), so an empty
    value means "not told", never "erase". `updated_at` moves only when a value changes.
    """
    rows = [_to_row(learner, now) for learner in _merge_by_id(learners).values()]
    if rows:
        # executemany of one cached statement (see progress.save_progress).
        session.connection().execute(_upsert_statement(session), rows)


def get_learner(session: Session, id: str) -> LearnerRecord | None:
    row = session.scalars(
        select(Learner).where(Learner.id == id).execution_options(populate_existing=True)
    ).one_or_none()
    if row is None:
        return None
    return LearnerRecord(
        id=row.id, email=row.email, first_name=row.first_name, last_name=row.last_name
    )


def _merge_by_id(learners: Sequence[LearnerRecord]) -> dict[str, LearnerRecord]:
    """One row per id: ON CONFLICT cannot touch the same row twice in one statement."""
    merged: dict[str, LearnerRecord] = {}
    for learner in learners:
        previous = merged.get(learner.id)
        merged[learner.id] = learner if previous is None else _overlay(previous, learner)
    return merged


def _overlay(old: LearnerRecord, new: LearnerRecord) -> LearnerRecord:
    return LearnerRecord(
        id=old.id,
        email=new.email or old.email,
        first_name=new.first_name or old.first_name,
        last_name=new.last_name or old.last_name,
    )


def _to_row(learner: LearnerRecord, now: datetime) -> dict[str, Any]:
    return {
        "id": learner.id,
        "email": learner.email,
        "first_name": learner.first_name,
        "last_name": learner.last_name,
        "created_at": now,
        "updated_at": now,
    }


def _upsert_statement(session: Session) -> Any:
    stmt = upsert_insert(session, Learner.__table__)
    incoming = stmt.excluded
    told = {name: incoming[name] != "" for name in _PROFILE_FIELDS}
    changes = [
        and_(told[name], incoming[name] != Learner.__table__.c[name]) for name in _PROFILE_FIELDS
    ]
    set_: dict[str, Any] = {
        name: case((told[name], incoming[name]), else_=Learner.__table__.c[name])
        for name in _PROFILE_FIELDS
    }
    set_["updated_at"] = incoming.updated_at
    return stmt.on_conflict_do_update(index_elements=[Learner.id], set_=set_, where=or_(*changes))
