from __future__ import annotations

from datetime import UTC, timedelta, timezone

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.domain import EvidenceItem, ProgressRecord, RequirementState, TemplateRecord
from server.store import (
    ensure_templates,
    learner_progress,
    load_progress,
    save_progress,
    template_progress,
)
from server.store.models import Progress
from server.store.progress import ProgressFilter
from tests.store.conftest import NOW


def progress(learner_id: str, template_id: str, *, fulfilled: int = 1) -> ProgressRecord:
    return ProgressRecord(
        learner_id=learner_id,
        template_id=template_id,
        requirements={
            "passed": RequirementState(
                NOW - timedelta(days=1),
                ("e1", "e2"),
                (EvidenceItem("url", "Course", "https://lms.example.org/c/1"),),
            ),
            "ccx": RequirementState(NOW, ()),
        },
        partial={"quizzes": {"times": ["2026-11-20T10:00:00+00:00"]}, "order": {"step": 1}},
        fulfilled_groups=fulfilled,
        total_groups=2,
        times_awarded=fulfilled // 2,
        updated_at=NOW,
    )


def test_saved_progress_loads_back_equal(session: Session, template: TemplateRecord) -> None:
    save_progress(session, [progress("l1", template.id), progress("l2", template.id)])
    session.commit()

    loaded = load_progress(session, [("l1", template.id), ("l3", template.id)])

    assert loaded == {("l1", template.id): progress("l1", template.id)}
    stored = loaded[("l1", template.id)]
    assert stored.updated_at is not None and stored.updated_at.utcoffset() == timedelta(0)
    assert stored.requirements["passed"].fulfilled_at.utcoffset() == timedelta(0)


def test_requirement_times_are_stored_in_utc(session: Session, template: TemplateRecord) -> None:
    tokyo = timezone(timedelta(hours=9))
    record = progress("l1", template.id)
    record.requirements = {"passed": RequirementState(NOW.astimezone(tokyo), ("e1",))}
    record.updated_at = NOW.astimezone(tokyo)
    save_progress(session, [record])
    session.commit()

    stored = load_progress(session, [("l1", template.id)])[("l1", template.id)]
    assert stored.requirements["passed"].fulfilled_at.tzinfo == UTC
    assert stored.requirements["passed"].fulfilled_at == NOW
    assert stored.updated_at is not None and stored.updated_at.tzinfo == UTC


def test_saving_again_overwrites_the_row(session: Session, template: TemplateRecord) -> None:
    save_progress(session, [progress("l1", template.id)])
    session.commit()
    updated = progress("l1", template.id, fulfilled=2)
    updated.requirements = {}
    updated.updated_at = NOW + timedelta(hours=1)

    save_progress(session, [updated])
    session.commit()

    assert load_progress(session, [("l1", template.id)]) == {("l1", template.id): updated}
    assert learner_progress(session, "l1") == [updated]


def test_load_progress_matches_exact_keys(session: Session) -> None:
    ensure_templates(session, [("credly", "a", "A", ""), ("credly", "b", "B", "")], NOW)
    save_progress(session, [progress("l1", "credly:a"), progress("l2", "credly:b")])
    session.commit()

    loaded = load_progress(session, [("l1", "credly:b"), ("l2", "credly:b")])

    assert list(loaded) == [("l2", "credly:b")]
    assert load_progress(session, []) == {}


def test_a_second_row_for_a_key_is_rejected(session: Session, template: TemplateRecord) -> None:
    save_progress(session, [progress("l1", template.id)])
    session.commit()
    row = {"learner_id": "l1", "template_id": template.id, "requirements": {}, "updated_at": NOW}

    with pytest.raises(IntegrityError):
        session.execute(insert(Progress).values(row))
    session.rollback()


def test_progress_needs_a_known_template(session: Session) -> None:
    with pytest.raises(IntegrityError):
        save_progress(session, [progress("l1", "credly:unknown")])
        session.flush()
    session.rollback()


def test_progress_without_updated_at_is_refused(session: Session, template: TemplateRecord) -> None:
    record = progress("l1", template.id)
    record.updated_at = None
    with pytest.raises(ValueError) as info:
        save_progress(session, [record])
    assert str(info.value) == "progress for 'l1' on 'credly:t1' has no updated_at"


def test_learner_progress_is_ordered_by_template(session: Session) -> None:
    specs = [("credly", name, name, "") for name in ("c", "a", "b")]
    ensure_templates(session, specs, NOW)
    save_progress(session, [progress("l1", f"credly:{name}") for name in ("c", "a", "b")])
    save_progress(session, [progress("l2", "credly:a")])
    session.commit()

    assert [p.template_id for p in learner_progress(session, "l1")] == [
        "credly:a",
        "credly:b",
        "credly:c",
    ]
    assert learner_progress(session, "nobody") == []


@pytest.mark.parametrize(
    ("completed_only", "pages"),
    [
        pytest.param(False, [["l0", "l1"], ["l2", "l3"], ["l4"], []], id="all"),
        pytest.param(True, [["l0", "l2"], ["l4"], []], id="completed-only"),
    ],
)
def test_template_progress_pages_by_learner(
    session: Session, template: TemplateRecord, completed_only: bool, pages: list[list[str]]
) -> None:
    records = [progress(f"l{i}", template.id, fulfilled=2 if i % 2 == 0 else 1) for i in range(5)]
    save_progress(session, list(reversed(records)))
    session.commit()

    seen: list[list[str]] = []
    after: str | None = None
    for _ in pages:
        page = template_progress(
            session,
            template.id,
            after_learner_id=after,
            limit=2,
            where=ProgressFilter(completed=True if completed_only else None),
        )
        seen.append([p.learner_id for p in page])
        after = page[-1].learner_id if page else after
    assert seen == pages


@pytest.mark.parametrize(
    "micros", [pytest.param(0, id="whole-second"), pytest.param(7, id="microseconds")]
)
def test_fast_path_rows_read_the_same_through_the_models(
    session: Session, template: TemplateRecord, micros: int
) -> None:
    """save/load_progress go through the driver; views read through the typed models:
    both must agree on the stored form of times (SQLite stores text)."""
    record = progress("l1", template.id)
    record.updated_at = NOW.replace(microsecond=micros)
    save_progress(session, [record])
    session.commit()

    (listed,) = learner_progress(session, "l1")
    assert listed == record == load_progress(session, [("l1", template.id)])[("l1", template.id)]
    after = template_progress(
        session,
        template.id,
        after_learner_id=None,
        limit=5,
        where=ProgressFilter(updated_after=NOW.replace(microsecond=micros)),
    )
    assert [p.learner_id for p in after] == ["l1"]
