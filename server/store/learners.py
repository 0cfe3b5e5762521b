"""Learners as the latest events describe them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.domain import LearnerRecord
from server.store._driver import Driver, RowInsert
from server.store.models import Learner

__all__ = ["get_learner", "learner_rows", "upsert_learners"]

_PROFILE_FIELDS = ("email", "first_name", "last_name")
_UPSERT = RowInsert(
    "learners",
    [
        ("id", "text"),
        ("email", "text"),
        ("first_name", "text"),
        ("last_name", "text"),
        ("created_at", "timestamptz"),
        ("updated_at", "timestamptz"),
    ],
    " ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(
        f"{name} = CASE WHEN excluded.{name} <> '' THEN excluded.{name} ELSE learners.{name} END"
        for name in _PROFILE_FIELDS
    )
    + ", updated_at = excluded.updated_at WHERE "
    + " OR ".join(
        f"(excluded.{name} <> '' AND excluded.{name} <> learners.{name})"
        for name in _PROFILE_FIELDS
    ),
)


def upsert_learners(session: Session, learners: Sequence[LearnerRecord], now: datetime) -> None:
    """Insert new learners; refresh known ones only with non-empty, changed values.

    Events often carry a partial profile (an id and an email, no name), so an empty
    value means "not told", never "erase". `updated_at` moves only when a value changes.
    """
    driver = Driver(session)
    driver.insert(*learner_rows(driver, learners, now))


def learner_rows(
    driver: Driver, learners: Sequence[LearnerRecord], now: datetime
) -> tuple[RowInsert, list[Any]]:
    """The upsert of `learners`, for `Driver.insert_all`."""
    at = driver.time(now)
    rows = [
        (learner.id, learner.email, learner.first_name, learner.last_name, at, at)
        for learner in _merge_by_id(learners).values()
    ]
    return _UPSERT, rows


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
