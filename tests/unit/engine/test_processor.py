"""The engine's rules of awarding, against an in-memory store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

import dsl
from server.domain import AwardState, LearnerRecord, RevokedBy
from server.engine.awarding import ChangeKind
from server.engine.events import IncomingEvent, Outcome
from server.engine.processor import BatchOutcome, process_batch
from server.engine.progress import group_statuses
from server.engine.ruleset import ActiveRules
from tests.unit.engine.fakes import FakeBatchStore

PASSED = "org.openedx.learning.course.passing.status.updated.v1"
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TEMPLATE = "credly:t-1"

RULES = """
badge "two-courses" {
    template credly "t-1"
    require a: on course_passed where is_passing and course.course_key == "A"
    any {
        require b: on course_passed where is_passing and course.course_key == "B"
        require c: on course_passed where is_passing and course.course_key == "C"
    }
    penalty failed_a: on course_passed where is_passing == false and course.course_key == "A"
        resets a
}
"""

REPEATABLE = """
badge "any-pass" {
    template credly "t-2"
    repeatable
    require on course_passed where is_passing
}
"""


def rules(text: str = RULES, active: tuple[str, ...] = (TEMPLATE,)) -> ActiveRules:
    return ActiveRules(1, dsl.compile_rules([dsl.SourceFile("t.badge", text)]), active)


class Feed:
    """Builds events with fresh ids and runs batches through the engine."""

    def __init__(self, active_rules: ActiveRules) -> None:
        self.rules = active_rules
        self.store = FakeBatchStore()
        self._ids = count(1)
        self._clock = count(0)

    def event(
        self, course: str, passing: bool = True, learner: str | None = "l1", id: str | None = None
    ) -> IncomingEvent:
        return IncomingEvent(
            id=id or f"e{next(self._ids)}",
            type=PASSED,
            learner=LearnerRecord(learner, f"{learner}@example.org", "Ada", "Lovelace")
            if learner is not None
            else None,
            occurred_at=None,
            payload={"is_passing": passing, "course": {"course_key": course}},
        )

    def send(self, *events: IncomingEvent) -> BatchOutcome:
        now = T0 + timedelta(seconds=next(self._clock))
        return process_batch(self.rules, events, self.store, now)


def test_award_only_when_the_last_group_is_fulfilled() -> None:
    feed = Feed(rules())
    first = feed.send(feed.event("A"))
    assert first.award_changes == []
    assert feed.store.progress[("l1", TEMPLATE)].fulfilled_groups == 1
    second = feed.send(feed.event("C"))
    assert [c.kind for c in second.award_changes] == [ChangeKind.AWARDED]
    award = second.award_changes[0].award
    assert (award.learner_id, award.template_id, award.sequence, award.state) == (
        "l1",
        TEMPLATE,
        1,
        AwardState.AWARDED,
    )
    assert award.event_ids == ("e1", "e2")
    assert award.id == 1


def test_either_member_fulfils_an_any_group_and_awards_once() -> None:
    feed = Feed(rules())
    outcome = feed.send(feed.event("B"), feed.event("A"), feed.event("C"), feed.event("A", id="e9"))
    assert [c.kind for c in outcome.award_changes] == [ChangeKind.AWARDED]
    assert len(feed.store.awards) == 1
    record = feed.store.progress[("l1", TEMPLATE)]
    assert sorted(record.requirements) == ["a", "b", "c"]
    badge = feed.rules.badge(TEMPLATE)
    assert [s.fulfilled_by for s in group_statuses(badge, record)] == ["a", "b"]  # b came first


def test_event_without_learner_is_rejected_and_has_no_effect() -> None:
    feed = Feed(rules())
    outcome = feed.send(feed.event("A", learner=None), feed.event("A", learner=""))
    assert [(a.outcome, a.reason_code) for a in outcome.acks] == [
        (Outcome.REJECTED, "MISSING_LEARNER")
    ] * 2
    assert "learner.id" in outcome.acks[0].reason
    assert feed.store.events == {} and feed.store.progress == {}


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        pytest.param("id", "", "MISSING_EVENT_ID", id="no-id"),
        pytest.param("type", "", "MISSING_EVENT_TYPE", id="no-type"),
        pytest.param("id", "x" * 256, "EVENT_ID_TOO_LONG", id="long-id"),
    ],
)
def test_invalid_events_are_rejected_with_a_code(field: str, value: str, code: str) -> None:
    feed = Feed(rules())
    event = feed.event("A")
    bad = IncomingEvent(**{**{f: getattr(event, f) for f in event.__slots__}, field: value})
    (ack,) = feed.send(bad).acks
    assert (ack.outcome, ack.reason_code) == (Outcome.REJECTED, code)
    assert feed.store.events == {}


def test_same_event_id_twice_is_a_duplicate_with_no_second_effect() -> None:
    feed = Feed(rules(REPEATABLE, active=("credly:t-2",)))
    within = feed.send(feed.event("A", id="same"), feed.event("A", id="same"))
    assert [a.outcome for a in within.acks] == [Outcome.ACCEPTED, Outcome.DUPLICATE]
    across = feed.send(feed.event("A", id="same"))
    assert [a.outcome for a in across.acks] == [Outcome.DUPLICATE]
    assert across.award_changes == []
    assert len(feed.store.awards) == 1


def test_inactive_template_does_not_count() -> None:
    feed = Feed(rules(active=()))
    outcome = feed.send(feed.event("A"), feed.event("B"))
    assert outcome.award_changes == [] and feed.store.progress == {}
    assert [a.outcome for a in outcome.acks] == [Outcome.ACCEPTED] * 2
    assert sorted(feed.store.events) == ["e1", "e2"]  # still in the event log


def test_penalty_resets_and_revokes_then_the_badge_can_be_earned_again() -> None:
    feed = Feed(rules())
    feed.send(feed.event("A"), feed.event("B"))
    revoked = feed.send(feed.event("A", passing=False))
    assert [c.kind for c in revoked.award_changes] == [ChangeKind.REVOKED]
    award = feed.store.awards[1]
    assert (award.state, award.revoked_by, award.revoke_reason) == (
        AwardState.REVOKED,
        RevokedBy.PENALTY,
        "penalty failed_a",
    )
    assert "a" not in feed.store.progress[("l1", TEMPLATE)].requirements
    again = feed.send(feed.event("A"))
    assert [c.kind for c in again.award_changes] == [ChangeKind.AWARDED]
    assert list(feed.store.awards) == [1]  # the one award of a non-repeatable badge stands again
    assert feed.store.awards[1].state is AwardState.AWARDED
    assert feed.store.awards[1].revoked_by is None


def test_penalty_never_revokes_what_was_never_awarded() -> None:
    feed = Feed(rules())
    feed.send(feed.event("A"))
    outcome = feed.send(feed.event("A", passing=False))
    assert outcome.award_changes == []
    assert feed.store.progress[("l1", TEMPLATE)].requirements == {}
    assert feed.store.awards == {}


def test_penalty_on_a_requirement_not_fulfilled_changes_nothing() -> None:
    feed = Feed(rules())
    feed.send(feed.event("B"))
    before = feed.store.writes
    outcome = feed.send(feed.event("A", passing=False))
    assert outcome.award_changes == []
    assert feed.store.writes == before + 1
    assert sorted(feed.store.progress[("l1", TEMPLATE)].requirements) == ["b"]


def test_admin_revoked_badge_is_not_awarded_again_by_processing() -> None:
    feed = Feed(rules())
    feed.send(feed.event("A"), feed.event("B"))
    award = feed.store.awards[1]
    award.state, award.revoked_by = AwardState.REVOKED, RevokedBy.ADMIN
    feed.send(feed.event("A", passing=False))  # takes progress below complete
    outcome = feed.send(feed.event("A"))  # and complete again
    assert outcome.award_changes == []
    assert feed.store.awards[1].revoked_by is RevokedBy.ADMIN


def test_repeatable_badge_is_awarded_again_each_time_the_criteria_are_met() -> None:
    feed = Feed(rules(REPEATABLE, active=("credly:t-2",)))
    outcome = feed.send(feed.event("A"), feed.event("B"), feed.event("C"))
    assert [c.award.sequence for c in outcome.award_changes] == [1, 2, 3]
    record = feed.store.progress[("l1", "credly:t-2")]
    assert (record.times_awarded, record.requirements) == (3, {})


def test_learners_are_tracked_separately() -> None:
    feed = Feed(rules())
    outcome = feed.send(
        feed.event("A", learner="x"), feed.event("B", learner="y"), feed.event("C", learner="x")
    )
    assert [c.award.learner_id for c in outcome.award_changes] == ["x"]
    assert feed.store.progress[("y", TEMPLATE)].fulfilled_groups == 1


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({"is_passing": True}, id="missing-course"),
        pytest.param({"is_passing": True, "course": "A"}, id="course-not-an-object"),
        pytest.param({"is_passing": 1, "course": {"course_key": "A"}}, id="number-is-not-bool"),
        pytest.param(
            {"is_passing": "true", "course": {"course_key": "A"}}, id="string-is-not-bool"
        ),
    ],
)
def test_payloads_that_do_not_match_leave_no_progress(payload: dict) -> None:
    feed = Feed(rules())
    event = IncomingEvent("e1", PASSED, LearnerRecord("l1"), None, payload)
    outcome = feed.send(event)
    assert outcome.acks[0].outcome is Outcome.ACCEPTED
    assert feed.store.progress == {}


def test_requirement_without_data_rules_matches_every_event_of_its_type() -> None:
    text = 'badge "x" {\n template accredible 7\n require on course_passed\n}\n'
    feed = Feed(rules(text, active=("accredible:7",)))
    outcome = feed.send(IncomingEvent("e1", PASSED, LearnerRecord("l1"), None, {}))
    assert [c.kind for c in outcome.award_changes] == [ChangeKind.AWARDED]


def test_awards_and_revocations_queue_provider_calls_in_order() -> None:
    feed = Feed(rules())
    feed.send(feed.event("A"), feed.event("B"))
    feed.send(feed.event("A", passing=False), feed.event("A"))
    assert [(i.award_id, i.action.value, i.template_id) for i in feed.store.outbox] == [
        (1, "issue", TEMPLATE),
        (1, "revoke", TEMPLATE),
        (1, "issue", TEMPLATE),
    ]
