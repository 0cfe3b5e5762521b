"""The people's side through both clients against a real server: backfill, the learner
dashboard, the admin view of a learner's awards, grants, re-issues, progress filters
and pagers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from badgeflow.v1 import progress_pb2, progress_service_pb2
from badgeflow_client import FailedPrecondition, NotFound, PreconditionViolation

from tests.service.sdk_harness import FLAVOURS, invoke
from tests.service.test_sdk import RULES, TEMPLATE_ID, passed

OTHER_COURSE = "course-v1:Other+X+Y"
TWO_STEPS = RULES.replace(
    "    require on",
    f'    require other: on course_passed where course.course_key == "{OTHER_COURSE}"\n'
    "    require demo: on",
)


async def _logged(flavour: str, target: str) -> None:
    """Rules applied; L1 passed the demo course and L2 another one while the template was
    inactive; then the template was activated."""
    await invoke(flavour, target, "apply_rules", {"demo.badge": RULES})
    await invoke(
        flavour,
        target,
        "publish_events",
        [passed("e1", "L1"), passed("e2", "L2", course_key=OTHER_COURSE)],
    )
    await invoke(flavour, target, "activate_template", TEMPLATE_ID)


async def _backfilled(flavour: str, target: str) -> None:
    """`_logged`, then a backfill that awarded L1."""
    await _logged(flavour, target)
    await invoke(flavour, target, "backfill_rules")


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_backfill_streams_progress_then_results(flavour: str, target: str) -> None:
    await _logged(flavour, target)

    dry = await invoke(flavour, target, "backfill_rules", dry_run=True)
    assert (
        dry[-1].done,
        dry[-1].awards,
        [list(r.awarded_learner_ids) for r in dry[-1].results],
    ) == (
        True,
        1,
        [["L1"]],
    )
    assert list((await invoke(flavour, target, "learner_awards", "L1")).awards) == []

    updates = await invoke(flavour, target, "backfill_rules", [TEMPLATE_ID])
    assert all(not u.done for u in updates[:-1])
    last = updates[-1]
    assert (last.done, last.events_replayed, last.events_total, last.awards) == (True, 2, 2, 1)
    assert [(r.template_id, list(r.awarded_learner_ids), r.awards) for r in last.results] == [
        (TEMPLATE_ID, ["L1"], 1)
    ]


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_learner_dashboard(flavour: str, target: str) -> None:
    await _backfilled(flavour, target)
    earned = await invoke(flavour, target, "learner_badges", "L1")
    assert [(b.template_id, b.badge, b.sequence) for b in earned.earned] == [
        (TEMPLATE_ID, "demo-graduate", 1)
    ]
    assert (list(earned.in_progress), list(earned.available)) == ([], [])

    offered = await invoke(flavour, target, "learner_badges", "L2")
    assert [b.template_id for b in offered.available] == [TEMPLATE_ID]
    assert list(offered.earned) == []


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_admin_view_of_a_learners_awards(flavour: str, target: str) -> None:
    await _backfilled(flavour, target)
    response = await invoke(flavour, target, "learner_awards", "L1", exclude_revoked=True)
    assert response.learner.email == "l1@example.org"
    [item] = response.awards
    assert (item.template_id, item.award.origin, [e.id for e in item.events]) == (
        TEMPLATE_ID,
        progress_pb2.AWARD_ORIGIN_BACKFILL,
        ["e1"],
    )


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_grant_and_reissue(flavour: str, target: str) -> None:
    await _backfilled(flavour, target)
    award = await invoke(
        flavour,
        target,
        "grant_award",
        TEMPLATE_ID,
        "L9",
        "in person",
        email="l9@example.org",
        first_name="Lena",
        last_name="Nine",
    )
    assert (award.learner_id, award.origin, award.grant_reason, award.state) == (
        "L9",
        progress_pb2.AWARD_ORIGIN_GRANT,
        "in person",
        progress_pb2.AWARD_STATE_AWARDED,
    )
    with pytest.raises(FailedPrecondition) as held:
        await invoke(flavour, target, "grant_award", TEMPLATE_ID, "L9", "again")
    assert (held.value.reason, held.value.metadata["award_id"]) == ("AWARD_ALREADY_HELD", award.id)

    with pytest.raises(FailedPrecondition) as under_way:
        await invoke(flavour, target, "reissue_award", award.id)
    assert under_way.value.reason == "ISSUANCE_UNDER_WAY"
    assert [v.type for v in under_way.value.precondition_violations] == ["ISSUANCE_UNDER_WAY"]
    with pytest.raises(NotFound) as unknown:
        await invoke(flavour, target, "reissue_award", "999")
    assert (unknown.value.reason, unknown.value.metadata) == (
        "AWARD_NOT_FOUND",
        {"award_id": "999"},
    )


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_grant_to_an_unknown_learner_needs_an_email(flavour: str, target: str) -> None:
    await _backfilled(flavour, target)
    with pytest.raises(FailedPrecondition) as raised:
        await invoke(flavour, target, "grant_award", TEMPLATE_ID, "L10", "in person")
    assert raised.value.precondition_violations == [
        PreconditionViolation("LEARNER_UNKNOWN", "L10", raised.value.message)
    ]


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_template_progress_filters(flavour: str, target: str) -> None:
    await invoke(flavour, target, "apply_rules", {"demo.badge": TWO_STEPS})
    await invoke(flavour, target, "activate_template", TEMPLATE_ID)
    before = datetime.now(UTC) - timedelta(minutes=1)
    await invoke(
        flavour,
        target,
        "publish_events",
        [passed("e1", "L1"), passed("e2", "L1", course_key=OTHER_COURSE), passed("e3", "L2")],
    )

    async def learners(**filters: object) -> list[tuple[str, float]]:
        records = await invoke(flavour, target, "template_progress", TEMPLATE_ID, **filters)
        return [(r.learner_id, r.percent) for r in records]

    assert await learners() == [("L1", 100.0), ("L2", 50.0)]
    assert await learners(status=progress_service_pb2.PROGRESS_STATUS_IN_PROGRESS) == [("L2", 50.0)]
    assert await learners(status=progress_service_pb2.PROGRESS_STATUS_COMPLETED) == [("L1", 100.0)]
    assert await learners(min_percent=75.0) == [("L1", 100.0)]
    assert await learners(updated_after=before) == [("L1", 100.0), ("L2", 50.0)]
    assert await learners(updated_after=datetime.now(UTC) + timedelta(hours=1)) == []
