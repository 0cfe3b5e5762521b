from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.domain import LearnerRecord
from server.store import get_learner, upsert_learners
from server.store.models import Learner
from tests.store.conftest import NOW

LATER = NOW + timedelta(hours=1)


def test_new_learners_are_inserted(session: Session) -> None:
    ada = LearnerRecord("l1", "ada@example.com", "Ada", "Lovelace")
    upsert_learners(session, [ada, LearnerRecord("l2")], NOW)
    session.commit()

    assert get_learner(session, "l1") == ada
    assert get_learner(session, "l2") == LearnerRecord("l2")
    assert get_learner(session, "missing") is None


def test_empty_values_do_not_erase_known_ones(session: Session) -> None:
    upsert_learners(session, [LearnerRecord("l1", "ada@example.com", "Ada", "Lovelace")], NOW)
    session.commit()

    upsert_learners(session, [LearnerRecord("l1", "ada@new.example.com", "", "")], LATER)
    session.commit()

    assert get_learner(session, "l1") == LearnerRecord(
        "l1", "ada@new.example.com", "Ada", "Lovelace"
    )
    assert _updated_at(session, "l1") == LATER


def test_an_unchanged_learner_keeps_its_updated_at(session: Session) -> None:
    upsert_learners(session, [LearnerRecord("l1", "ada@example.com", "Ada", "Lovelace")], NOW)
    session.commit()

    upsert_learners(session, [LearnerRecord("l1", "ada@example.com", "", "Lovelace")], LATER)
    session.commit()

    assert _updated_at(session, "l1") == NOW


def test_repeated_ids_in_one_batch_merge_in_order(session: Session) -> None:
    batch = [
        LearnerRecord("l1", "old@example.com", "Ada", ""),
        LearnerRecord("l1", "new@example.com", "", "Lovelace"),
    ]
    upsert_learners(session, batch, NOW)
    session.commit()

    assert get_learner(session, "l1") == LearnerRecord("l1", "new@example.com", "Ada", "Lovelace")


def _updated_at(session: Session, learner_id: str) -> object:
    return session.scalar(select(Learner.updated_at).where(Learner.id == learner_id))
