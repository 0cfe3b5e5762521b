"""BackfillRules over gRPC: badges learners earned before the rules said so are awarded
from the stored event log, once, with progress streamed and nothing done twice."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace

import grpc
import pytest
from badgeflow.v1 import (
    event_pb2,
    event_service_pb2,
    progress_pb2,
    progress_service_pb2,
    rule_service_pb2,
    rules_pb2,
    template_service_pb2,
)
from google.rpc import error_details_pb2
from sqlalchemy import delete

from server.app import App
from server.domain import AwardOrigin, AwardRecord, AwardState, OutboxAction, RevokedBy
from server.store import awards as awards_repo
from server.store import list_outbox, load_progress
from server.store.models import Event
from tests.service.stubs import (
    DEMO_COURSE,
    DEMO_RULES,
    DEMO_TEMPLATE,
    Stubs,
    apply_and_activate,
    passed,
    rich_status,
    stubs,
    unpack,
)

TWO_COURSES = """
badge "two-courses" {
    template accredible 77
    require a: on course_passed where is_passing and course.course_key == "A"
    require b: on course_passed where is_passing and course.course_key == "B"
}
"""
TWO_TEMPLATE = "accredible:77"


@pytest.fixture
async def s(target: str) -> AsyncIterator[Stubs]:
    async with grpc.aio.insecure_channel(target) as channel:
        yield stubs(channel)


async def _publish(s: Stubs, events: Sequence[event_pb2.Event]) -> None:
    reply = await s.events.PublishEvents(event_service_pb2.PublishEventsRequest(events=events))
    assert {r.outcome for r in reply.results} == {event_pb2.EVENT_OUTCOME_ACCEPTED}


async def _apply(s: Stubs, *texts: str) -> None:
    files = [rules_pb2.RuleFile(name=f"r{i}.badge", content=t) for i, t in enumerate(texts)]
    await s.rules.ApplyRules(rule_service_pb2.ApplyRulesRequest(files=files))


async def _activate(s: Stubs, template_id: str) -> None:
    await s.templates.ActivateTemplate(
        template_service_pb2.ActivateTemplateRequest(template_id=template_id)
    )


async def _backfill(
    s: Stubs, *template_ids: str, dry_run: bool = False
) -> list[rule_service_pb2.BackfillRulesResponse]:
    request = rule_service_pb2.BackfillRulesRequest(template_ids=template_ids, dry_run=dry_run)
    return [reply async for reply in s.rules.BackfillRules(request)]


def _results(replies: Sequence[rule_service_pb2.BackfillRulesResponse]) -> dict[str, tuple]:
    final = replies[-1]
    assert final.done and not any(r.done for r in replies[:-1])
    return {
        r.template_id: (
            list(r.awarded_learner_ids),
            r.awards,
            r.already_held,
            r.revoked_by_admin,
            r.progress_updated,
        )
        for r in final.results
    }


async def _awards(app: App, learner_id: str) -> list[AwardRecord]:
    return await app.runner.read(lambda s: awards_repo.learner_awards(s, learner_id))


async def test_a_new_rule_awards_the_learners_who_already_met_it_once(app: App, s: Stubs) -> None:
    await _publish(
        s,
        [
            passed("e1", "ada"),
            passed("e2", "ben", passing=False),
            passed("e3", "cy", course="other"),
            passed("e4", "dee"),
        ],
    )
    await apply_and_activate(s)

    first = await _backfill(s)

    assert _results(first) == {DEMO_TEMPLATE: (["ada", "dee"], 2, 0, 0, 2)}
    assert (first[-1].events_replayed, first[-1].events_total) == (4, 4)
    assert (first[-1].learners_replayed, first[-1].awards) == (4, 2)
    ada = await _awards(app, "ada")
    assert [(a.sequence, a.state, a.origin, a.event_ids) for a in ada] == [
        (1, AwardState.AWARDED, AwardOrigin.BACKFILL, ("e1",))
    ]
    assert await _awards(app, "ben") == []
    second = await _backfill(s)
    assert _results(second) == {DEMO_TEMPLATE: ([], 0, 2, 0, 0)}
    assert len(await app.runner.read(list_outbox)) == 2


async def test_backfill_awards_have_outbox_rows_and_are_watched(app: App, s: Stubs) -> None:
    await _publish(s, [passed("e1", "ada")])
    await apply_and_activate(s)
    watch = s.progress.WatchAwards(progress_service_pb2.WatchAwardsRequest())
    assert dict(await watch.initial_metadata())["badgeflow-watch"] == "subscribed"

    await _backfill(s, DEMO_TEMPLATE)

    change = await asyncio.wait_for(watch.read(), timeout=10)
    watch.cancel()
    assert change.kind == progress_pb2.AWARD_EVENT_KIND_AWARDED
    assert (change.award.learner_id, change.award.origin) == (
        "ada",
        progress_pb2.AWARD_ORIGIN_BACKFILL,
    )
    [item] = await app.runner.read(list_outbox)
    assert (item.action, item.template_id, str(item.award_id)) == (
        OutboxAction.ISSUE,
        DEMO_TEMPLATE,
        change.award.id,
    )


async def test_learners_holding_the_badge_or_revoked_by_an_admin_are_skipped(
    app: App, s: Stubs
) -> None:
    await apply_and_activate(s)
    await _publish(s, [passed("e1", "ada"), passed("e2", "ben")])  # both earn it live
    [ben] = await _awards(app, "ben")
    revoked = replace(
        ben, state=AwardState.REVOKED, revoked_by=RevokedBy.ADMIN, revoked_at=ben.awarded_at
    )
    await app.runner.write(lambda session: awards_repo.update_award(session, revoked))
    await _publish(s, [passed("e3", "cy", course="other")])
    changed = DEMO_RULES.replace(f'== "{DEMO_COURSE}"', f'in ["other", "{DEMO_COURSE}"]')
    plan = await s.rules.PlanRules(
        rule_service_pb2.PlanRulesRequest(files=[rules_pb2.RuleFile(name="r", content=changed)])
    )
    await _apply(s, changed)

    replies = await _backfill(s)

    assert _results(replies) == {DEMO_TEMPLATE: (["cy"], 1, 1, 1, 1)}
    [badge] = plan.badges  # the plan said exactly this
    assert (badge.backfill_awards, list(badge.backfill_learner_ids)) == (1, ["cy"])
    [ben_after] = await _awards(app, "ben")
    assert (ben_after.state, ben_after.revoked_by) == (AwardState.REVOKED, RevokedBy.ADMIN)
    assert [a.origin for a in await _awards(app, "ada")] == [AwardOrigin.RULES]


async def test_a_dry_run_reports_who_would_be_awarded_and_writes_nothing(
    app: App, s: Stubs
) -> None:
    await _publish(s, [passed("e1", "ada"), passed("e2", "ben", course="A")])
    await _apply(s, DEMO_RULES, TWO_COURSES)
    await _activate(s, DEMO_TEMPLATE)
    await _activate(s, TWO_TEMPLATE)

    replies = await _backfill(s, dry_run=True)

    assert _results(replies) == {
        DEMO_TEMPLATE: (["ada"], 1, 0, 0, 1),
        TWO_TEMPLATE: ([], 0, 0, 0, 1),
    }
    assert await _awards(app, "ada") == []
    keys = [("ada", DEMO_TEMPLATE), ("ben", TWO_TEMPLATE)]
    assert await app.runner.read(lambda session: load_progress(session, keys)) == {}
    assert await app.runner.read(list_outbox) == []


async def test_partial_progress_is_brought_up_to_date(app: App, s: Stubs) -> None:
    await _publish(s, [passed("e1", "ada", course="A"), passed("e2", "ben", course="A")])
    await _apply(s, TWO_COURSES)
    await _activate(s, TWO_TEMPLATE)
    await _publish(s, [passed("e3", "ben", course="B")])  # live: ben has b only

    replies = await _backfill(s, TWO_TEMPLATE)

    assert _results(replies) == {TWO_TEMPLATE: (["ben"], 1, 0, 0, 2)}
    reply = await s.progress.GetLearnerProgress(
        progress_service_pb2.GetLearnerProgressRequest(learner_id="ada")
    )
    [ada] = reply.progress
    assert (ada.fulfilled_groups, ada.total_groups, ada.award.state) == (1, 2, 0)
    progress = await app.runner.read(
        lambda session: load_progress(session, [("ben", TWO_TEMPLATE)])
    )
    ben = progress[("ben", TWO_TEMPLATE)]
    assert (sorted(ben.requirements), ben.times_awarded) == (["a", "b"], 1)
    assert _results(await _backfill(s, TWO_TEMPLATE)) == {TWO_TEMPLATE: ([], 0, 1, 0, 0)}


async def test_a_repeatable_badge_is_backfilled_once(app: App, s: Stubs) -> None:
    await _publish(s, [passed(f"e{i}", "ada") for i in range(3)])
    await apply_and_activate(s, DEMO_RULES.replace("require on", "repeatable\n    require on"))

    assert _results(await _backfill(s)) == {DEMO_TEMPLATE: (["ada"], 1, 0, 0, 1)}
    assert [a.sequence for a in await _awards(app, "ada")] == [1]
    assert _results(await _backfill(s)) == {DEMO_TEMPLATE: ([], 0, 1, 0, 0)}


@pytest.mark.parametrize(
    ("names", "code", "reason"),
    [
        pytest.param(
            ["credly:nope"], grpc.StatusCode.NOT_FOUND, "TEMPLATE_NOT_FOUND", id="unknown"
        ),
        pytest.param(
            [TWO_TEMPLATE], grpc.StatusCode.FAILED_PRECONDITION, "TEMPLATE_INACTIVE", id="inactive"
        ),
        pytest.param(
            ["accredible:1"],
            grpc.StatusCode.FAILED_PRECONDITION,
            "TEMPLATE_NOT_BOUND",
            id="unbound",
        ),
        pytest.param(
            [DEMO_TEMPLATE, DEMO_TEMPLATE],
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_TEMPLATE_IDS",
            id="named-twice",
        ),
        pytest.param([""], grpc.StatusCode.INVALID_ARGUMENT, "INVALID_TEMPLATE_IDS", id="empty"),
    ],
)
async def test_templates_that_cannot_be_backfilled_are_refused(
    s: Stubs, names: list[str], code: grpc.StatusCode, reason: str
) -> None:
    await _apply(s, DEMO_RULES, TWO_COURSES, UNBOUND_LATER)
    await _apply(s, DEMO_RULES, TWO_COURSES)  # accredible:1 exists, bound to nothing now
    await _activate(s, DEMO_TEMPLATE)

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _backfill(s, *names)

    assert caught.value.code() is code
    assert unpack(rich_status(caught.value), error_details_pb2.ErrorInfo).reason == reason


UNBOUND_LATER = """
badge "gone" {
    template accredible 1
    require on course_passed where is_passing
}
"""


async def test_ten_thousand_stored_events_award_the_right_learners_once(app: App, s: Stubs) -> None:
    """2,500 learners x 4 events, sent before any rule exists; every 7th learner passes
    both A and B (the others pass A only, fail B, or pass other courses)."""
    learners = [f"learner-{i:04d}" for i in range(2500)]
    expected = sorted(learner for i, learner in enumerate(learners) if i % 7 == 0)
    events = [e for i, learner in enumerate(learners) for e in _four_events(i, learner)]
    for start in range(0, len(events), 1000):
        await _publish(s, events[start : start + 1000])
    await _apply(s, TWO_COURSES)
    await _activate(s, TWO_TEMPLATE)

    replies = await _backfill(s, TWO_TEMPLATE)

    results = _results(replies)
    awarded, awards, held, revoked, _ = results[TWO_TEMPLATE]
    assert (awarded, awards, held, revoked) == (expected, len(expected), 0, 0)
    assert (replies[-1].events_total, replies[-1].events_replayed) == (10_000, 10_000)
    assert replies[-1].learners_replayed == 2500
    assert len(replies) >= 10  # progress at least every ~1,000 events
    steps = [r.events_replayed for r in replies]
    assert steps == sorted(steps) and all(b - a <= 1000 for a, b in itertools.pairwise(steps))
    holders = await app.runner.read(lambda session: awards_repo.holders(session, TWO_TEMPLATE))
    assert holders == set(expected)
    again = _results(await _backfill(s, TWO_TEMPLATE))
    assert again[TWO_TEMPLATE][:4] == ([], 0, len(expected), 0)
    assert len(await app.runner.read(list_outbox)) == len(expected)


def _four_events(i: int, learner: str) -> list[event_pb2.Event]:
    both = i % 7 == 0
    return [
        passed(f"{learner}-1", learner, course="A"),
        passed(f"{learner}-2", learner, course="B", passing=both),
        passed(f"{learner}-3", learner, course="C"),
        passed(f"{learner}-4", learner, course="D" if i % 2 else "B", passing=both),
    ]


NEXT_STEP = """
badge "next-step" {
    template accredible 78
    require has badge "demo-graduate"
    require b: on course_passed where is_passing and course.course_key == "B"
}
"""


async def test_has_badge_is_decided_by_the_badges_learners_hold(app: App, s: Stubs) -> None:
    await apply_and_activate(s)
    await _publish(s, [passed("d1", "ada"), passed("d2", "cy")])  # both earn demo live
    [cy] = await _awards(app, "cy")
    revoked = replace(
        cy, state=AwardState.REVOKED, revoked_by=RevokedBy.ADMIN, revoked_at=cy.awarded_at
    )
    await app.runner.write(lambda session: awards_repo.update_award(session, revoked))
    await _publish(s, [passed(f"b-{who}", who, course="B") for who in ("ada", "cy", "dee")])
    await _apply(s, DEMO_RULES, NEXT_STEP)
    await _activate(s, "accredible:78")

    replies = await _backfill(s, "accredible:78")

    assert _results(replies) == {"accredible:78": (["ada"], 1, 0, 0, 3)}
    [ada_next] = [a for a in await _awards(app, "ada") if a.template_id == "accredible:78"]
    assert ada_next.event_ids == ("d1", "b-ada")


async def test_plan_lists_the_learners_a_backfill_would_award(s: Stubs) -> None:
    await _publish(s, [passed("e1", "ben"), passed("e2", "ada"), passed("e3", "cy", course="x")])

    plan = await s.rules.PlanRules(
        rule_service_pb2.PlanRulesRequest(
            files=[rules_pb2.RuleFile(name="demo.badge", content=DEMO_RULES)]
        )
    )

    [badge] = plan.badges
    assert (badge.change, badge.backfill_awards, list(badge.backfill_learner_ids)) == (
        "added",
        2,
        ["ada", "ben"],
    )


async def test_a_cancelled_backfill_keeps_what_it_wrote_and_a_rerun_finishes(
    app: App, s: Stubs
) -> None:
    learners = [f"l{i:03d}" for i in range(600)]
    events = [e for i, learner in enumerate(learners) for e in _four_events(i, learner)]
    for start in range(0, len(events), 1000):
        await _publish(s, events[start : start + 1000])
    await _apply(s, TWO_COURSES)
    await _activate(s, TWO_TEMPLATE)
    expected = {learner for i, learner in enumerate(learners) if i % 7 == 0}

    call = s.rules.BackfillRules(rule_service_pb2.BackfillRulesRequest())
    async for reply in call:
        if reply.learners_replayed:
            break
    call.cancel()
    assert 0 < reply.learners_replayed < len(learners) and not reply.done

    rerun = _results(await _backfill(s))[TWO_TEMPLATE]
    holders = await app.runner.read(lambda session: awards_repo.holders(session, TWO_TEMPLATE))
    assert holders == expected
    assert rerun[1] + rerun[2] == len(expected)  # awarded now, or held from the first run
    assert rerun[1] <= len(expected) - reply.awards
    assert len(await app.runner.read(list_outbox)) == len(expected)


async def test_progress_from_events_past_the_retention_is_not_taken_away(
    app: App, s: Stubs
) -> None:
    await _publish(s, [passed("e0", "ada", course="B")])  # before the rule: only a replay sees it
    await _apply(s, TWO_COURSES)
    await _activate(s, TWO_TEMPLATE)
    await _publish(s, [passed("e1", "ada", course="A")])  # live: a
    await app.runner.write(
        lambda session: session.execute(delete(Event).where(Event.id == "e1"))
    )  # as if e1 had passed the retention

    replies = await _backfill(s, TWO_TEMPLATE)

    assert _results(replies) == {TWO_TEMPLATE: ([], 0, 0, 0, 0)}
    progress = await app.runner.read(
        lambda session: load_progress(session, [("ada", TWO_TEMPLATE)])
    )
    assert sorted(progress[("ada", TWO_TEMPLATE)].requirements) == ["a"]


async def test_events_arriving_during_a_backfill_are_counted_once(app: App, s: Stubs) -> None:
    """l001 (replayed in the first chunk) and l599 (in the last) pass B while the backfill
    runs: each ends with one award, from live processing or from the backfill."""
    learners = [f"l{i:03d}" for i in range(600)]
    events = [e for i, learner in enumerate(learners) for e in _four_events(i, learner)]
    for start in range(0, len(events), 1000):
        await _publish(s, events[start : start + 1000])
    await _apply(s, TWO_COURSES)
    await _activate(s, TWO_TEMPLATE)
    expected = {learner for i, learner in enumerate(learners) if i % 7 == 0} | {"l001", "l599"}

    call = s.rules.BackfillRules(rule_service_pb2.BackfillRulesRequest())
    async for reply in call:
        if reply.learners_replayed:
            break
    await _publish(s, [passed("late-1", "l001", course="B"), passed("late-2", "l599", course="B")])
    rest = [reply async for reply in call]

    assert rest[-1].done
    holders = await app.runner.read(lambda session: awards_repo.holders(session, TWO_TEMPLATE))
    assert holders == expected
    assert len(await app.runner.read(list_outbox)) == len(expected)
    assert _results(await _backfill(s))[TWO_TEMPLATE][:2] == ([], 0)


WITH_PENALTY = f"""
badge "demo-graduate" {{
    template credly "8f2b7c1e-0000-4000-8000-000000000001"
    require demo: on course_passed where is_passing and course.course_key == "{DEMO_COURSE}"
    penalty on course_passed where is_passing == false
        and course.course_key == "{DEMO_COURSE}" resets demo
}}
"""


async def test_an_award_a_dropped_penalty_revoked_stands_again_on_its_row(
    app: App, s: Stubs
) -> None:
    await apply_and_activate(s, WITH_PENALTY)
    await _publish(s, [passed("e1", "ada"), passed("e2", "ada", passing=False)])
    [revoked] = await _awards(app, "ada")
    assert (revoked.state, revoked.revoked_by) == (AwardState.REVOKED, RevokedBy.PENALTY)
    await _apply(s, DEMO_RULES)  # the penalty is dropped

    assert _results(await _backfill(s)) == {DEMO_TEMPLATE: (["ada"], 1, 0, 0, 1)}

    [again] = await _awards(app, "ada")
    assert (again.id, again.sequence, again.state, again.origin, again.revoked_by) == (
        revoked.id,
        1,
        AwardState.AWARDED,
        AwardOrigin.BACKFILL,
        None,
    )
    actions = [i.action for i in await app.runner.read(list_outbox)]
    assert actions == [OutboxAction.ISSUE, OutboxAction.REVOKE, OutboxAction.ISSUE]
