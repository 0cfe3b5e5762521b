"""The rules of the learner views, over records built in memory: where an earned badge
stands on the provider, which provider badge is an award's latest, what is in progress
and what is offered."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

import dsl
from server.domain import (
    AwardRecord,
    AwardState,
    OutboxState,
    ProgressRecord,
    ProviderBadgeRecord,
    RequirementState,
    RevokedBy,
    TemplateRecord,
)
from server.learner_views import (
    EarnedState,
    LearnerBadges,
    build_dashboard,
    earned_state,
    group_line,
    latest_provider_badge,
)
from server.store.views import LatestIssue

NOW = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)
RULES = """
badge "again" {
    template credly "again"
    repeatable
    require on course_passed where course.course_key == "a-1"
    require on course_passed where course.course_key == "a-2"
}
badge "once" {
    template credly "once"
    require on course_passed where course.course_key == "o-1"
    require on course_passed where course.course_key == "o-2"
}
badge "taken" {
    template credly "taken"
    require on course_passed where course.course_key == "t-1"
    require on course_passed where course.course_key == "t-2"
}
badge "menu" {
    template credly "menu"
    require n: count >= 2 of (on course_passed where course.course_key == "m-1")
    any pick {
        require on course_passed where course.course_key == "m-2"
        require k: count >= 3 of (on course_passed where course.course_key == "m-3")
    }
}
"""
BADGES = {b.template_id: b for b in dsl.compile_rules([dsl.SourceFile("v.badge", RULES)]).badges}


def template(key: str, active: bool = True) -> TemplateRecord:
    return TemplateRecord(f"credly:{key}", "credly", key, key, "", active, NOW, NOW)


def award(
    key: str,
    award_id: int,
    state: AwardState = AwardState.AWARDED,
    *,
    sequence: int = 1,
    revoked_by: RevokedBy | None = None,
    expires_at: datetime | None = None,
) -> AwardRecord:
    return AwardRecord(
        learner_id="ada",
        template_id=f"credly:{key}",
        badge=key,
        sequence=sequence,
        state=state,
        awarded_at=NOW - timedelta(days=award_id),
        revoked_by=revoked_by,
        expires_at=expires_at,
        id=award_id,
    )


def badge(external_id: str, state: str = "accepted", **fields: object) -> ProviderBadgeRecord:
    return ProviderBadgeRecord("credly", external_id, "t", state, **fields)  # type: ignore[arg-type]


def half_done(key: str, requirement: str = "r1", at: datetime = NOW) -> ProgressRecord:
    done = RequirementState(at, ("e1",))
    return ProgressRecord("ada", f"credly:{key}", {requirement: done}, {}, 1, 2, updated_at=at)


SENT = LatestIssue(OutboxState.SENT, "b1")


@pytest.mark.parametrize(
    ("issue", "provider_badge", "expires_at", "expected"),
    [
        pytest.param(None, None, None, EarnedState.ISSUING, id="no-call-yet"),
        pytest.param(
            LatestIssue(OutboxState.PENDING, ""), None, None, EarnedState.ISSUING, id="owed"
        ),
        pytest.param(
            LatestIssue(OutboxState.PENDING, ""),
            badge("b1", "revoked"),
            None,
            EarnedState.ISSUING,
            id="re-issue-under-way",
        ),
        pytest.param(
            LatestIssue(OutboxState.FAILED, ""), None, None, EarnedState.ISSUE_FAILED, id="failed"
        ),
        pytest.param(SENT, badge("b1", "pending"), None, EarnedState.PENDING, id="pending"),
        pytest.param(SENT, badge("b1", "accepted"), None, EarnedState.ACCEPTED, id="accepted"),
        pytest.param(SENT, badge("b1", "rejected"), None, EarnedState.REJECTED, id="rejected"),
        pytest.param(SENT, badge("b1", "expired"), None, EarnedState.EXPIRED, id="expired-there"),
        pytest.param(
            SENT, badge("b1", "revoked"), None, EarnedState.ISSUE_FAILED, id="revoked-there"
        ),
        pytest.param(
            SENT, badge("b1", "deleted"), None, EarnedState.ISSUE_FAILED, id="deleted-there"
        ),
        pytest.param(
            SENT, badge("b1", expires_at=NOW), None, EarnedState.EXPIRED, id="provider-date-passed"
        ),
        pytest.param(
            SENT, badge("b1"), NOW - timedelta(days=1), EarnedState.EXPIRED, id="date-passed-here"
        ),
        pytest.param(
            None, None, NOW - timedelta(days=1), EarnedState.EXPIRED, id="expired-before-issued"
        ),
        pytest.param(
            SENT, badge("b1"), NOW + timedelta(days=1), EarnedState.ACCEPTED, id="not-yet-expired"
        ),
        pytest.param(
            SENT,
            badge("b1", "rejected"),
            NOW - timedelta(days=1),
            EarnedState.REJECTED,
            id="declined-stays",
        ),
    ],
)
def test_earned_state(
    issue: LatestIssue | None,
    provider_badge: ProviderBadgeRecord | None,
    expires_at: datetime | None,
    expected: EarnedState,
) -> None:
    standing = award("once", 1, expires_at=expires_at)
    assert earned_state(standing, issue, provider_badge, NOW) is expected


@pytest.mark.parametrize(
    ("badges", "issued_id", "expected"),
    [
        pytest.param([], "", None, id="none"),
        pytest.param([badge("b1"), badge("b2")], "", "b2", id="newest-stored"),
        pytest.param([badge("b1"), badge("b2")], "b1", "b1", id="the-one-issued"),
        pytest.param([badge("b1", replaced_by="b2"), badge("b2")], "b1", "b2", id="replaced"),
        pytest.param(
            [badge("b1", replaced_by="b9"), badge("b2")], "b1", "b1", id="replacement-unknown"
        ),
        pytest.param(
            [badge("b1", replaced_by="b2"), badge("b2", replaced_by="b1")],
            "b1",
            "b1",
            id="cycle-ends",
        ),
    ],
)
def test_latest_provider_badge(
    badges: list[ProviderBadgeRecord], issued_id: str, expected: str | None
) -> None:
    found = latest_provider_badge(badges, issued_id)
    assert (found.external_id if found else None) == expected


def test_a_group_reads_as_its_requirement_with_how_far_it_has_come() -> None:
    menu = BADGES["credly:menu"]
    progress = ProgressRecord("ada", "credly:menu", partial={"n": {"n": 1}, "k": {"n": 2}})
    assert [group_line(g, progress) for g in menu.groups] == [
        '2 of: on course_passed where course.course_key == "m-1" (1 of 2 matching events)',
        'one of: on course_passed where course.course_key == "m-2"; '
        '3 of: on course_passed where course.course_key == "m-3" (2 of 3 matching events)',
    ]
    assert group_line(menu.groups[0], None) == (
        '2 of: on course_passed where course.course_key == "m-1"'
    )


def dashboard_of(data: LearnerBadges) -> tuple[list[str], list[str], list[str]]:
    built = build_dashboard(data, BADGES.get, NOW)
    return (
        [i.template.id for i in built.in_progress],
        [a.template.id for a in built.available],
        [e.award.template_id for e in built.earned],
    )


def learner(
    progress: list[ProgressRecord], awards: list[AwardRecord], *templates: TemplateRecord
) -> LearnerBadges:
    return LearnerBadges(progress, awards, {t.id: t for t in templates}, {}, {})


ALL = (template("again"), template("once"), template("taken"), template("menu"))


def test_a_repeatable_badge_held_is_in_progress_again_and_a_held_one_is_not() -> None:
    data = learner(
        [
            ProgressRecord("ada", "credly:again", updated_at=NOW),  # restarted by its award
            half_done("once"),  # the rules changed after it was earned
        ],
        [award("again", 1), award("once", 2)],
        *ALL,
    )
    assert dashboard_of(data) == (
        ["credly:again"],
        ["credly:menu", "credly:taken"],
        ["credly:again", "credly:once"],
    )


def test_a_badge_an_admin_took_back_is_neither_in_progress_nor_offered() -> None:
    data = learner(
        [half_done("taken")],
        [award("taken", 1, AwardState.REVOKED, revoked_by=RevokedBy.ADMIN)],
        *ALL,
    )
    assert dashboard_of(data) == ([], ["credly:again", "credly:menu", "credly:once"], [])


def test_a_badge_a_penalty_took_back_is_offered_again() -> None:
    data = learner([], [award("taken", 1, AwardState.REVOKED, revoked_by=RevokedBy.PENALTY)], *ALL)
    assert dashboard_of(data)[1] == ["credly:again", "credly:menu", "credly:once", "credly:taken"]


def test_progress_on_an_inactive_template_or_one_without_rules_is_not_shown() -> None:
    stray = ProgressRecord("ada", "credly:gone", {}, {}, 1, 2, updated_at=NOW)
    data = learner([half_done("once"), stray], [], template("once", active=False), template("gone"))
    assert dashboard_of(data) == ([], [], [])


def test_equal_progress_is_ordered_by_update_time_then_template() -> None:
    earlier = NOW - timedelta(hours=1)
    data = learner(
        [half_done("again", at=earlier), half_done("once"), half_done("taken", at=earlier)],
        [],
        *ALL,
    )
    assert dashboard_of(data)[0] == ["credly:once", "credly:again", "credly:taken"]


def test_earned_badges_of_the_same_moment_are_ordered_newest_award_first() -> None:
    same_moment = [
        replace(award("once", 1), awarded_at=NOW),
        replace(award("again", 2), awarded_at=NOW),
    ]
    data = learner([], same_moment, *ALL)
    assert dashboard_of(data)[2] == ["credly:again", "credly:once"]


def test_a_re_issue_under_way_shows_no_stale_state_or_links() -> None:
    old = badge("b1", "revoked", url="https://credly.example/b1", expires_at=NOW)
    data = LearnerBadges(
        [], [award("once", 1)], {}, {1: LatestIssue(OutboxState.PENDING, "")}, {1: [old]}
    )
    (earned,) = build_dashboard(data, BADGES.get, NOW).earned
    assert (earned.state, earned.badge_url, earned.accept_url) == (EarnedState.ISSUING, "", "")


def test_a_pending_badge_links_to_its_page_and_where_to_accept_it() -> None:
    pending = badge("b1", "pending", url="https://credly.example/b1", accept_url="https://a/b1")
    data = LearnerBadges([], [award("once", 1)], {}, {1: SENT}, {1: [pending]})
    (earned,) = build_dashboard(data, BADGES.get, NOW).earned
    assert (earned.state, earned.badge_url, earned.accept_url) == (
        EarnedState.PENDING,
        "https://credly.example/b1",
        "https://a/b1",
    )
