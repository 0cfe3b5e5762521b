"""The reads behind the learner views, and the progress filters, on each backend."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from server.domain import (
    AwardRecord,
    AwardState,
    EventRecord,
    OutboxAction,
    OutboxItem,
    OutboxState,
    ProgressRecord,
    ProviderBadgeRecord,
    TemplateRecord,
)
from server.store import (
    enqueue,
    ensure_templates,
    events_by_ids,
    insert_award,
    insert_events,
    save_progress,
    set_template_active,
    template_progress,
    upsert_provider_badge,
)
from server.store.progress import ProgressFilter
from server.store.views import (
    LatestIssue,
    direct_provider_badges,
    latest_issues,
    provider_badges_by_award,
    templates_by_ids,
)
from tests.store.conftest import NOW

EARLIER = NOW - timedelta(days=1)


def _progress(
    learner: str, template: str, fulfilled: int, total: int, at: object
) -> ProgressRecord:
    return ProgressRecord(learner, template, {}, {}, fulfilled, total, updated_at=at)  # type: ignore[arg-type]


@pytest.fixture
def four_learners(session: Session, template: TemplateRecord) -> str:
    save_progress(
        session,
        [
            _progress("l1", template.id, 2, 2, NOW),
            _progress("l2", template.id, 1, 2, EARLIER),
            _progress("l3", template.id, 1, 3, NOW),
            _progress("l4", template.id, 0, 2, EARLIER),
        ],
    )
    session.commit()
    return template.id


@pytest.mark.parametrize(
    ("where", "learners"),
    [
        pytest.param(ProgressFilter(), ["l1", "l2", "l3", "l4"], id="all"),
        pytest.param(ProgressFilter(completed=True), ["l1"], id="completed"),
        pytest.param(ProgressFilter(completed=False), ["l2", "l3", "l4"], id="in-progress"),
        pytest.param(ProgressFilter(min_percent=50.0), ["l1", "l2"], id="at-least-half"),
        pytest.param(ProgressFilter(min_percent=33.33), ["l1", "l2", "l3"], id="shown-percent"),
        pytest.param(ProgressFilter(min_percent=33.34), ["l1", "l2"], id="just-above-a-third"),
        pytest.param(ProgressFilter(updated_after=NOW), ["l1", "l3"], id="updated-after"),
        pytest.param(
            ProgressFilter(completed=False, min_percent=1.0, updated_after=EARLIER),
            ["l2", "l3"],
            id="combined",
        ),
    ],
)
def test_progress_filters(
    session: Session, four_learners: str, where: ProgressFilter, learners: list[str]
) -> None:
    page = template_progress(session, four_learners, after_learner_id=None, limit=10, where=where)
    assert [r.learner_id for r in page] == learners


def _award(session: Session, template: TemplateRecord, learner: str = "ada") -> int:
    stored = insert_award(
        session, AwardRecord(learner, template.id, "demo", 1, AwardState.AWARDED, NOW)
    )
    assert stored.id is not None
    return stored.id


def _badge(external_id: str, award_id: int | None, email: str = "") -> ProviderBadgeRecord:
    return ProviderBadgeRecord("credly", external_id, "t1", "accepted", email, award_id)


def test_templates_by_ids_adds_every_active_one(session: Session, template: TemplateRecord) -> None:
    ensure_templates(session, [("credly", "t2", "Other", ""), ("credly", "t3", "Off", "")], NOW)
    set_template_active(session, "credly:t2", True, NOW)

    assert sorted(templates_by_ids(session, ["credly:t3", "credly:none"])) == ["credly:t3"]
    assert sorted(templates_by_ids(session, ["credly:t3"], with_active=True)) == [
        "credly:t2",
        "credly:t3",
    ]


def test_latest_issue_is_the_newest_issue_call(session: Session, template: TemplateRecord) -> None:
    first, second = _award(session, template), _award(session, template, "ben")
    enqueue(
        session,
        [
            OutboxItem(
                first, OutboxAction.ISSUE, template.id, OutboxState.SENT, provider_badge_id="b1"
            ),
            OutboxItem(first, OutboxAction.REVOKE, template.id, OutboxState.SENT),
            OutboxItem(first, OutboxAction.ISSUE, template.id, OutboxState.PENDING),
            OutboxItem(second, OutboxAction.ISSUE, template.id, OutboxState.FAILED),
        ],
        NOW,
    )

    assert latest_issues(session, [first, second, 999]) == {
        first: LatestIssue(OutboxState.PENDING, ""),
        second: LatestIssue(OutboxState.FAILED, ""),
    }


def test_provider_badges_by_award_and_direct_ones(
    session: Session, template: TemplateRecord
) -> None:
    ada, ben = _award(session, template), _award(session, template, "ben")
    for record in (
        _badge("b1", ada, "ada@example.org"),
        _badge("b2", ada, "ada@example.org"),
        _badge("b3", ben, "ben@example.org"),
        _badge("d1", None, "ADA@Example.org"),
        _badge("d2", None, "ben@example.org"),
    ):
        upsert_provider_badge(session, record, NOW)

    found = provider_badges_by_award(session, [ada, ben])
    assert {k: [b.external_id for b in v] for k, v in found.items()} == {
        ada: ["b1", "b2"],
        ben: ["b3"],
    }
    assert [b.external_id for b in direct_provider_badges(session, "ada@EXAMPLE.org")] == ["d1"]
    assert direct_provider_badges(session, "") == []


def test_events_by_ids_finds_the_logged_ones(session: Session) -> None:
    event = EventRecord("e1", "t", "ada", NOW, NOW, {"course": {"key": "c"}}, "lms")
    insert_events(session, [event])

    assert events_by_ids(session, ["e1", "gone"]) == {"e1": event}
