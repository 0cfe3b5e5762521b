from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.domain import AwardRecord, AwardState, EvidenceItem, RevokedBy, TemplateRecord
from server.store import (
    ensure_templates,
    holders,
    insert_award,
    insert_awards,
    latest_awards,
    learner_awards,
    update_award,
)
from tests.store.conftest import NOW


def award(learner_id: str, template_id: str, sequence: int = 1) -> AwardRecord:
    return AwardRecord(
        learner_id=learner_id,
        template_id=template_id,
        badge="demo-graduate",
        sequence=sequence,
        state=AwardState.AWARDED,
        awarded_at=NOW + timedelta(days=sequence),
        event_ids=("e1", f"e{sequence}"),
        expires_at=NOW + timedelta(days=365 + sequence),
        evidence=(EvidenceItem("url", "Course", f"https://lms.example.org/c/{sequence}"),),
    )


def test_insert_award_assigns_an_id(session: Session, template: TemplateRecord) -> None:
    new = award("l1", template.id)

    stored = insert_award(session, new)
    other = insert_award(session, award("l2", template.id))
    session.commit()

    assert stored.id is not None and other.id is not None and stored.id != other.id
    assert dataclasses.replace(stored, id=None) == new
    assert new.id is None
    assert learner_awards(session, "l1") == [stored]


def test_latest_awards_picks_the_highest_sequence(session: Session) -> None:
    ensure_templates(session, [("credly", "a", "A", ""), ("credly", "b", "B", "")], NOW)
    for sequence in (1, 3, 2):
        insert_award(session, award("l1", "credly:a", sequence))
    insert_award(session, award("l1", "credly:b"))
    latest_b_for_l2 = insert_award(session, award("l2", "credly:b", 2))
    session.commit()

    latest = latest_awards(session, [("l1", "credly:a"), ("l2", "credly:b"), ("l2", "credly:a")])

    assert {key: record.sequence for key, record in latest.items()} == {
        ("l1", "credly:a"): 3,
        ("l2", "credly:b"): 2,
    }
    assert latest[("l2", "credly:b")] == latest_b_for_l2
    assert latest_awards(session, []) == {}


def test_update_award_records_a_revocation(session: Session, template: TemplateRecord) -> None:
    stored = insert_award(session, award("l1", template.id))
    session.commit()
    revoked = dataclasses.replace(
        stored,
        state=AwardState.REVOKED,
        revoked_at=NOW + timedelta(days=9),
        revoked_by=RevokedBy.PENALTY,
        revoke_reason="failed the retake",
        event_ids=("e1", "e9"),
    )

    learner_awards(session, "l1")  # loaded once, so a stale cached row would show
    update_award(session, revoked)
    session.commit()

    assert learner_awards(session, "l1") == [revoked]
    assert latest_awards(session, [("l1", template.id)]) == {("l1", template.id): revoked}


def test_update_award_needs_a_known_id(session: Session, template: TemplateRecord) -> None:
    with pytest.raises(ValueError):
        update_award(session, award("l1", template.id))
    with pytest.raises(KeyError):
        update_award(session, dataclasses.replace(award("l1", template.id), id=999))


def test_a_second_award_with_the_same_sequence_is_rejected(
    session: Session, template: TemplateRecord
) -> None:
    insert_award(session, award("l1", template.id))
    session.commit()

    with pytest.raises(IntegrityError):
        insert_award(session, award("l1", template.id))
    session.rollback()
    assert [a.sequence for a in learner_awards(session, "l1")] == [1]


def test_learner_awards_are_ordered_by_template_then_sequence(session: Session) -> None:
    ensure_templates(session, [("credly", "a", "A", ""), ("credly", "b", "B", "")], NOW)
    for template_id, sequence in [("credly:b", 1), ("credly:a", 2), ("credly:a", 1)]:
        insert_award(session, award("l1", template_id, sequence))
    session.commit()

    assert [(a.template_id, a.sequence) for a in learner_awards(session, "l1")] == [
        ("credly:a", 1),
        ("credly:a", 2),
        ("credly:b", 1),
    ]


def test_insert_awards_returns_ids_in_order(session: Session, template: TemplateRecord) -> None:
    batch = [award(f"l{i}", template.id) for i in range(5)]
    stored = insert_awards(session, batch)
    session.commit()
    assert [a.learner_id for a in stored] == [f"l{i}" for i in range(5)]
    assert len({a.id for a in stored}) == 5
    for record in stored:
        assert learner_awards(session, record.learner_id) == [record]


def test_holders_are_learners_whose_latest_award_stands(
    session: Session, template: TemplateRecord
) -> None:
    insert_award(session, award("l1", template.id))
    insert_award(session, dataclasses.replace(award("l2", template.id), state=AwardState.REVOKED))
    insert_award(session, dataclasses.replace(award("l3", template.id), state=AwardState.REVOKED))
    insert_award(session, award("l3", template.id, 2))
    session.commit()
    assert holders(session, template.id) == {"l1", "l3"}
