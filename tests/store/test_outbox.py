from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

import dsl
from server.domain import (
    AwardRecord,
    AwardState,
    LearnerRecord,
    OutboxAction,
    OutboxItem,
    OutboxState,
    ProviderBadgeRecord,
    TemplateRecord,
)
from server.engine.events import IncomingEvent
from server.engine.processor import process_batch
from server.engine.ruleset import ActiveRules
from server.store import (
    claim_due,
    enqueue,
    ensure_templates,
    get_outbox_item,
    insert_award,
    list_outbox,
    make_session_factory,
    outbox_counts,
    provider_badges_for_award,
    retry_failed,
    save_item,
    upsert_provider_badge,
)
from server.store.batch_store import SqlBatchStore
from tests.store.conftest import NOW

LEASE = timedelta(seconds=30)


def _award(session: Session, template: TemplateRecord, learner: str = "l1") -> int:
    award = AwardRecord(learner, template.id, "demo", 1, AwardState.AWARDED, NOW)
    stored = insert_award(session, award)
    assert stored.id is not None
    return stored.id


def test_claim_takes_due_items_once_until_the_lease_ends(
    session: Session, template: TemplateRecord
) -> None:
    awards = [_award(session, template, f"l{i}") for i in range(3)]
    enqueue(session, [OutboxItem(a, OutboxAction.ISSUE, template.id) for a in awards], NOW)
    enqueue(
        session,
        [
            OutboxItem(
                awards[0],
                OutboxAction.REVOKE,
                template.id,
                next_attempt_at=NOW + timedelta(hours=1),
            )
        ],
        NOW,
    )
    session.commit()

    first = claim_due(session, NOW, limit=2, lease=LEASE)
    session.commit()
    assert [i.award_id for i in first] == awards[:2]
    assert all(i.lease_until == NOW + LEASE for i in first)
    second = claim_due(session, NOW, limit=10, lease=LEASE)
    assert [i.award_id for i in second] == awards[2:]  # leased rows and future rows wait
    session.commit()
    after_lease = claim_due(session, NOW + LEASE + timedelta(seconds=1), limit=10, lease=LEASE)
    assert sorted(i.award_id for i in after_lease) == awards  # a dead worker's rows come back
    assert all(i.outcome_unknown for i in after_lease)  # ...and are looked up before resending
    session.commit()
    assert all(i.outcome_unknown for i in list_outbox(session) if i.action is OutboxAction.ISSUE)


def test_saved_state_round_trips_and_failed_items_can_be_retried(
    session: Session, template: TemplateRecord
) -> None:
    award_id = _award(session, template)
    enqueue(session, [OutboxItem(award_id, OutboxAction.ISSUE, template.id)], NOW)
    (item,) = claim_due(session, NOW, limit=1, lease=LEASE)
    item.state, item.attempts, item.last_error, item.outcome_unknown = (
        OutboxState.FAILED,
        8,
        "rejected: 400",
        True,
    )
    save_item(session, item, NOW)
    session.commit()
    (stored,) = list_outbox(session, award_id=award_id)
    assert (stored.state, stored.attempts, stored.last_error, stored.outcome_unknown) == (
        OutboxState.FAILED,
        8,
        "rejected: 400",
        True,
    )
    assert outbox_counts(session) == {"failed": 1}
    assert retry_failed(session, item.id, NOW) is True
    assert retry_failed(session, item.id, NOW) is False
    session.commit()
    assert [i.state for i in claim_due(session, NOW, limit=5, lease=LEASE)] == [OutboxState.PENDING]


def test_provider_badges_upsert_by_external_id(session: Session, template: TemplateRecord) -> None:
    award_id = _award(session, template)
    upsert_provider_badge(
        session, ProviderBadgeRecord("credly", "b-1", "t", "pending", "a@x.org"), NOW
    )
    upsert_provider_badge(
        session,
        ProviderBadgeRecord("credly", "b-1", "t", "accepted", "a@x.org", award_id=award_id),
        NOW,
    )
    upsert_provider_badge(
        session, ProviderBadgeRecord("credly", "b-1", "t", "revoked", "a@x.org"), NOW
    )
    session.commit()
    (badge,) = provider_badges_for_award(session, award_id)
    assert (badge.external_id, badge.state, badge.award_id) == ("b-1", "revoked", award_id)


def test_an_award_and_its_outbox_item_commit_together(engine: Engine) -> None:
    text = 'badge "b" {\n template accredible 5\n require on course_passed\n}\n'
    rules = ActiveRules(1, dsl.compile_rules([dsl.SourceFile("b", text)]), ["accredible:5"])
    sessions = make_session_factory(engine)
    with sessions() as session, session.begin():
        ensure_templates(session, [("accredible", "5", "b", "")], NOW)
    event = IncomingEvent(
        "e1", "org.openedx.learning.course.passing.status.updated.v1", LearnerRecord("l1"), NOW, {}
    )
    with sessions() as session, session.begin():
        process_batch(rules, [event], SqlBatchStore(session), NOW)
    with sessions() as session:
        (item,) = list_outbox(session)
    assert (item.action, item.template_id, item.state) == (
        OutboxAction.ISSUE,
        "accredible:5",
        OutboxState.PENDING,
    )


def test_newest_items_and_one_item_are_read_directly(
    session: Session, template: TemplateRecord
) -> None:
    awards = [_award(session, template, f"l{i}") for i in range(4)]
    enqueue(session, [OutboxItem(a, OutboxAction.ISSUE, template.id) for a in awards], NOW)
    session.commit()
    assert [i.award_id for i in list_outbox(session, newest=2)] == awards[2:]
    first = list_outbox(session)[0]
    assert get_outbox_item(session, first.id) == first
    assert get_outbox_item(session, 10_000) is None
