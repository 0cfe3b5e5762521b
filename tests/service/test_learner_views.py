"""The learner dashboard (GetLearnerBadges), the admin's view of a learner
(ListLearnerAwards) and the filters of ListTemplateProgress, over gRPC against a server
whose issuance the test plays itself: provider states are written as the worker and
reconciliation would write them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from badgeflow.v1 import (
    award_service_pb2,
    award_service_pb2_grpc,
    event_pb2,
    event_service_pb2,
    progress_pb2,
    progress_service_pb2,
    rule_service_pb2,
    rules_pb2,
    template_service_pb2,
)
from google.protobuf import json_format, struct_pb2
from google.rpc import error_details_pb2
from sqlalchemy.orm import Session

from server.app import App, build_server
from server.domain import AwardRecord, OutboxState, ProviderBadgeRecord
from server.settings import Settings
from server.store import awards as awards_repo
from server.store import outbox as outbox_repo
from tests.conftest import TEST_SECRET_KEY
from tests.service.stubs import Stubs, rich_status, stubs, unpack

NOW = datetime.now(UTC)


BADGE_URL = "https://credly.example/badges/"
ACCEPT_URL = "https://credly.example/accept/pending"


def on(key: str) -> str:
    """A requirement's description, as the rules language writes it back."""
    return f'on course_passed where course.course_key == "{key}"'


def state_name(state: int) -> str:
    return progress_pb2.EarnedBadgeState.Name(state).removeprefix("EARNED_BADGE_STATE_")


def _single(slug: str, key: str, description: str = "") -> str:
    line = f'    description "{description}"\n' if description else ""
    return (
        f'badge "{slug}" {{\n    template credly "{key}"\n{line}'
        f'    require on course_passed where course.course_key == "{key}"\n}}\n'
    )


RULES = (
    """
badge "half-way" {
    template credly "hw"
    require on course_passed where course.course_key == "hw-1"
    require on course_passed where course.course_key == "hw-2"
}
badge "third" {
    template credly "th"
    require on course_passed where course.course_key == "th-1"
    require steady: count >= 3 of (on course_passed where course.course_key == "th-2")
    any either {
        require on course_passed where course.course_key == "th-3"
        require on course_passed where course.course_key == "th-4"
    }
}
badge "later-half" {
    template credly "lh"
    require on course_passed where course.course_key == "lh-1"
    require on course_passed where course.course_key == "lh-2"
}
"""
    + _single("alpha-offered", "z-offer", "Offered first by name")
    + _single("beta-offered", "a-offer")
    + _single("never-active", "never")
    + _single("switched-off", "off")
    + "".join(
        _single(slug, slug)
        for slug in ("issuing", "pending", "accepted", "expired", "failed", "rejected")
    )
    + _single("revoked", "revoked")
    + _single("retired", "retired")
)
ACTIVE = ["hw", "th", "lh", "z-offer", "a-offer", "off"] + [
    "issuing",
    "pending",
    "accepted",
    "expired",
    "failed",
    "rejected",
    "revoked",
    "retired",
]


@pytest.fixture
async def quiet_app(tmp_path: Path) -> AsyncIterator[App]:
    """A server with no issuance worker and no reconciliation: the test sets provider
    states itself, and nothing overwrites them."""
    settings = Settings(
        grpc_port=0,
        database_url=f"sqlite:///{tmp_path / 'views.db'}",
        secret_key=TEST_SECRET_KEY,
        http_port=0,
        issuance_worker=False,
        reconcile_interval_seconds=0,
        shutdown_grace_seconds=1.0,
    )
    app = await build_server(settings)
    try:
        yield app
    finally:
        await app.stop(1.0)


@pytest.fixture
async def s(quiet_app: App) -> AsyncIterator[Stubs]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{quiet_app.port}") as channel:
        yield stubs(channel)


def passed(event_id: str, key: str, learner: str = "ada") -> event_pb2.Event:
    payload = struct_pb2.Struct()
    payload.update({"is_passing": True, "course": {"course_key": key}})
    event = event_pb2.Event(
        id=event_id,
        type="org.openedx.learning.course.passing.status.updated.v1",
        learner=event_pb2.Learner(id=learner, email=f"{learner.title()}@Example.org"),
        payload=payload,
    )
    event.occurred_at.FromDatetime(datetime(2026, 11, 1, tzinfo=UTC))
    return event


async def publish(s: Stubs, *events: event_pb2.Event) -> None:
    reply = await s.events.PublishEvents(event_service_pb2.PublishEventsRequest(events=events))
    assert [r.outcome for r in reply.results] == [event_pb2.EVENT_OUTCOME_ACCEPTED] * len(events)


async def apply(s: Stubs, text: str, active: list[str]) -> None:
    await s.rules.ApplyRules(
        rule_service_pb2.ApplyRulesRequest(files=[rules_pb2.RuleFile(name="v.badge", content=text)])
    )
    for key in active:
        await s.templates.ActivateTemplate(
            template_service_pb2.ActivateTemplateRequest(template_id=f"credly:{key}")
        )


async def deactivate(s: Stubs, key: str) -> None:
    await s.templates.DeactivateTemplate(
        template_service_pb2.DeactivateTemplateRequest(template_id=f"credly:{key}")
    )


async def awards_by_slug(app: App, learner: str = "ada") -> dict[str, AwardRecord]:
    found = await app.runner.read(lambda session: awards_repo.learner_awards(session, learner))
    return {a.badge: a for a in found}


def provider_badge(award: AwardRecord, state: str, **fields: object) -> ProviderBadgeRecord:
    key = award.template_id.split(":", 1)[1]
    return ProviderBadgeRecord(
        provider="credly",
        external_id=f"cb-{award.badge}",
        template_external_id=key,
        state=state,
        recipient_email="ada@example.org",
        award_id=award.id,
        issued_at=NOW - timedelta(days=1),
        url=BADGE_URL + award.badge,
        **fields,  # type: ignore[arg-type]
    )


async def issued(app: App, award: AwardRecord, badge: ProviderBadgeRecord | None) -> None:
    """What the worker writes when the provider answered: the item sent, the badge kept;
    with no badge, the item failed (rejected, or out of retries)."""

    def write(session: Session) -> None:
        (item,) = outbox_repo.list_outbox(session, award_id=award.id)
        item.state = OutboxState.SENT if badge else OutboxState.FAILED
        item.provider_badge_id = badge.external_id if badge else ""
        outbox_repo.save_item(session, item, NOW)
        if badge is not None:
            outbox_repo.upsert_provider_badge(session, badge, NOW)

    await app.runner.write(write)


async def direct_badge(app: App, external_id: str, template: str, email: str) -> None:
    """A badge reconciliation found on the provider that badgeflow did not issue."""
    record = ProviderBadgeRecord(
        provider="credly",
        external_id=external_id,
        template_external_id=template,
        state="accepted",
        recipient_email=email,
        url=f"https://credly.example/badges/{external_id}",
    )
    await app.runner.write(lambda session: outbox_repo.upsert_provider_badge(session, record, NOW))


async def revoke(channel: grpc.aio.Channel, award: AwardRecord) -> None:
    awards = award_service_pb2_grpc.AwardServiceStub(channel)
    await awards.RevokeAward(
        award_service_pb2.RevokeAwardRequest(award_id=str(award.id), reason="issued in error")
    )


async def learner_with_every_state(s: Stubs, app: App) -> dict[str, AwardRecord]:
    """ada: three badges in progress, one of every earned state, one revoked, one earned
    on a template since switched off. Each earned badge is its own batch, so each has
    its own award time."""
    await apply(s, RULES, ACTIVE)
    for slug in ("retired", "issuing", "pending", "accepted", "expired", "failed", "rejected"):
        await publish(s, passed(f"e-{slug}", slug))
    await publish(s, passed("e-revoked", "revoked"))
    await publish(s, passed("hw-1", "hw-1"), passed("th-1", "th-1"), passed("th-2a", "th-2"))
    await publish(s, passed("lh-1", "lh-1"))  # 50 % like half-way, but changed later
    await deactivate(s, "off")
    await deactivate(s, "retired")
    awards = await awards_by_slug(app)
    await revoke(s.channel, awards["revoked"])
    pending = provider_badge(awards["pending"], "pending", accept_url=ACCEPT_URL)
    await issued(app, awards["pending"], pending)
    await issued(app, awards["accepted"], provider_badge(awards["accepted"], "accepted"))
    await issued(app, awards["rejected"], provider_badge(awards["rejected"], "rejected"))
    expired = provider_badge(awards["expired"], "accepted", expires_at=NOW - timedelta(hours=1))
    await issued(app, awards["expired"], expired)
    await issued(app, awards["failed"], None)
    return awards


async def test_the_dashboard_lists_every_state_in_order(s: Stubs, quiet_app: App) -> None:
    awards = await learner_with_every_state(s, quiet_app)

    reply = await s.progress.GetLearnerBadges(
        progress_service_pb2.GetLearnerBadgesRequest(learner_id="ada")
    )

    assert [
        (b.template_id, b.badge, b.percent, b.fulfilled_groups, b.total_groups, list(b.remaining))
        for b in reply.in_progress
    ] == [
        ("credly:lh", "later-half", 50.0, 1, 2, [on("lh-2")]),
        ("credly:hw", "half-way", 50.0, 1, 2, [on("hw-2")]),
        (
            "credly:th",
            "third",
            33.33,
            1,
            3,
            [f"3 of: {on('th-2')} (1 of 3 matching events)", f"one of: {on('th-3')}; {on('th-4')}"],
        ),
    ]
    later, earlier = (b.update_time.ToDatetime(UTC) for b in reply.in_progress[:2])
    assert later > earlier
    assert reply.in_progress[0].name == "later-half"
    assert [
        (b.template_id, b.badge, b.name, b.description, list(b.how_to_earn), b.repeatable)
        for b in reply.available
    ] == [
        (
            "credly:z-offer",
            "alpha-offered",
            "alpha-offered",
            "Offered first by name",
            [on("z-offer")],
            False,
        ),
        ("credly:a-offer", "beta-offered", "beta-offered", on("a-offer"), [on("a-offer")], False),
    ]
    assert [(b.badge, state_name(b.state), b.badge_url, b.accept_url) for b in reply.earned] == [
        ("rejected", "REJECTED", BADGE_URL + "rejected", ""),
        ("failed", "ISSUE_FAILED", "", ""),
        ("expired", "EXPIRED", BADGE_URL + "expired", ""),
        ("accepted", "ACCEPTED", BADGE_URL + "accepted", ""),
        ("pending", "PENDING", BADGE_URL + "pending", ACCEPT_URL),
        ("issuing", "ISSUING", "", ""),
        ("retired", "ISSUING", "", ""),
    ]
    first = reply.earned[0]
    rejected = awards["rejected"]
    assert (first.award_id, first.template_id, first.name, first.sequence) == (
        str(rejected.id),
        "credly:rejected",
        "rejected",
        1,
    )
    assert first.award_time.ToDatetime(UTC) == rejected.awarded_at


async def test_a_learner_never_seen_gets_every_available_badge(s: Stubs) -> None:
    await apply(s, RULES, ACTIVE)
    await deactivate(s, "off")

    reply = await s.progress.GetLearnerBadges(
        progress_service_pb2.GetLearnerBadgesRequest(learner_id="nobody")
    )

    assert (list(reply.in_progress), list(reply.earned)) == ([], [])
    assert [b.badge for b in reply.available] == [
        "accepted",
        "alpha-offered",
        "beta-offered",
        "expired",
        "failed",
        "half-way",
        "issuing",
        "later-half",
        "pending",
        "rejected",
        "retired",
        "revoked",
        "third",
    ]


async def test_an_empty_learner_id_is_a_field_violation(s: Stubs) -> None:
    calls: list[Callable[[], object]] = [
        lambda: s.progress.GetLearnerBadges(progress_service_pb2.GetLearnerBadgesRequest()),
        lambda: s.progress.ListLearnerAwards(progress_service_pb2.ListLearnerAwardsRequest()),
    ]
    for call in calls:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await call()  # type: ignore[misc]
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        status = rich_status(info.value)
        assert unpack(status, error_details_pb2.ErrorInfo).reason == "MISSING_LEARNER_ID"
        violations = unpack(status, error_details_pb2.BadRequest).field_violations
        assert [v.field for v in violations] == ["learner_id"]


def admin_row(item: progress_service_pb2.LearnerAward) -> tuple[object, ...]:
    """(template, name, award state, "provider badge id and state", event ids, direct)."""
    award = progress_pb2.AwardState.Name(item.award.state).removeprefix("AWARD_STATE_")
    badge = item.provider_badge
    return (
        item.template_id,
        item.template_name,
        award if item.HasField("award") else "",
        f"{badge.external_id} {badge.state}" if item.HasField("provider_badge") else "",
        [e.id for e in item.events],
        item.issued_on_provider,
    )


async def test_the_admin_view_has_every_award_its_events_and_direct_badges(
    s: Stubs, quiet_app: App
) -> None:
    awards = await learner_with_every_state(s, quiet_app)
    await direct_badge(quiet_app, "cb-direct-known", "a-offer", "ADA@example.org")
    await direct_badge(quiet_app, "cb-direct-unknown", "elsewhere", "ada@example.org")
    await direct_badge(quiet_app, "cb-someone-else", "a-offer", "ben@example.org")

    reply = await s.progress.ListLearnerAwards(
        progress_service_pb2.ListLearnerAwardsRequest(learner_id="ada")
    )

    assert (reply.learner.id, reply.learner.email) == ("ada", "Ada@Example.org")
    assert [admin_row(a) for a in reply.awards] == [
        ("credly:accepted", "accepted", "AWARDED", "cb-accepted accepted", ["e-accepted"], False),
        ("credly:expired", "expired", "AWARDED", "cb-expired accepted", ["e-expired"], False),
        ("credly:failed", "failed", "AWARDED", "", ["e-failed"], False),
        ("credly:issuing", "issuing", "AWARDED", "", ["e-issuing"], False),
        ("credly:pending", "pending", "AWARDED", "cb-pending pending", ["e-pending"], False),
        ("credly:rejected", "rejected", "AWARDED", "cb-rejected rejected", ["e-rejected"], False),
        ("credly:retired", "retired", "AWARDED", "", ["e-retired"], False),
        ("credly:revoked", "revoked", "REVOKED", "", ["e-revoked"], False),
        ("credly:a-offer", "beta-offered", "", "cb-direct-known accepted", [], True),
        ("", "", "", "cb-direct-unknown accepted", [], True),
    ]
    (accepted,) = [a for a in reply.awards if a.award.badge == "accepted"]
    assert accepted.award.id == str(awards["accepted"].id)
    assert accepted.provider_badge.award_id == str(awards["accepted"].id)
    assert accepted.provider_badge.url == "https://credly.example/badges/accepted"
    (event,) = accepted.events
    assert (event.type, event.learner.id, json_format.MessageToDict(event.payload)) == (
        "org.openedx.learning.course.passing.status.updated.v1",
        "ada",
        {"is_passing": True, "course": {"course_key": "accepted"}},
    )
    assert event.occurred_at.ToDatetime(UTC) == datetime(2026, 11, 1, tzinfo=UTC)
    direct = reply.awards[-1]
    assert (direct.HasField("award"), direct.provider_badge.award_id) == (False, "")

    standing = await s.progress.ListLearnerAwards(
        progress_service_pb2.ListLearnerAwardsRequest(learner_id="ada", exclude_revoked=True)
    )
    assert "revoked" not in [a.award.badge for a in standing.awards]
    assert len(standing.awards) == len(reply.awards) - 1


async def test_the_admin_view_of_a_learner_never_seen_is_not_found(s: Stubs) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await s.progress.ListLearnerAwards(
            progress_service_pb2.ListLearnerAwardsRequest(learner_id="nobody")
        )
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    info_detail = unpack(rich_status(info.value), error_details_pb2.ErrorInfo)
    assert (info_detail.reason, dict(info_detail.metadata)) == (
        "LEARNER_NOT_FOUND",
        {"learner_id": "nobody"},
    )


# -- ListTemplateProgress filters ----------------------------------------------------------

TWO_GROUPS = """
badge "two" {
    template credly "two"
    require x: on course_passed where course.course_key == "x"
    require y: on course_passed where course.course_key == "y"
}
"""
IN_PROGRESS = progress_service_pb2.PROGRESS_STATUS_IN_PROGRESS
COMPLETED = progress_service_pb2.PROGRESS_STATUS_COMPLETED


@pytest.fixture
async def six_learners(s: Stubs) -> datetime:
    """l1, l3 complete and l2, l4 half-way before the returned time; l5 half-way and l6
    complete after it."""
    await apply(s, TWO_GROUPS, ["two"])
    await publish(
        s,
        *(passed(f"{who}-x", "x", who) for who in ("l1", "l2", "l3")),
        *(passed(f"{who}-y", "y", who) for who in ("l1", "l3", "l4")),
    )
    between = datetime.now(UTC)
    await publish(
        s, passed("l5-x", "x", "l5"), passed("l6-x", "x", "l6"), passed("l6-y", "y", "l6")
    )
    return between


async def pages(s: Stubs, **filters: object) -> list[list[tuple[str, float]]]:
    """Every page of two, as (learner, percent)."""
    found, token = [], ""
    while True:
        request = progress_service_pb2.ListTemplateProgressRequest(
            template_id="credly:two", **filters
        )
        request.page.page_size = 2
        request.page.page_token = token
        reply = await s.progress.ListTemplateProgress(request)
        found.append([(r.learner_id, r.percent) for r in reply.records])
        token = reply.next_page_token
        if not token:
            return found


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        pytest.param(
            {},
            [
                [("l1", 100.0), ("l2", 50.0)],
                [("l3", 100.0), ("l4", 50.0)],
                [("l5", 50.0), ("l6", 100.0)],
            ],
            id="all",
        ),
        pytest.param(
            {"status": IN_PROGRESS},
            [[("l2", 50.0), ("l4", 50.0)], [("l5", 50.0)]],
            id="in-progress",
        ),
        pytest.param(
            {"status": COMPLETED},
            [[("l1", 100.0), ("l3", 100.0)], [("l6", 100.0)]],
            id="completed",
        ),
        pytest.param(
            {"completed_only": True, "status": COMPLETED},
            [[("l1", 100.0), ("l3", 100.0)], [("l6", 100.0)]],
            id="completed-only-agrees",
        ),
        pytest.param(
            {"min_percent": 50.01},
            [[("l1", 100.0), ("l3", 100.0)], [("l6", 100.0)]],
            id="min-percent",
        ),
        pytest.param(
            {"min_percent": 50.0, "status": IN_PROGRESS},
            [[("l2", 50.0), ("l4", 50.0)], [("l5", 50.0)]],
            id="min-percent-inclusive",
        ),
    ],
)
async def test_progress_filters_page_in_sql(
    s: Stubs,
    six_learners: datetime,
    filters: dict[str, object],
    expected: list[list[tuple[str, float]]],
) -> None:
    assert await pages(s, **filters) == expected


async def test_updated_after_lists_only_later_changes(s: Stubs, six_learners: datetime) -> None:
    request_time = progress_service_pb2.ListTemplateProgressRequest().updated_after
    request_time.FromDatetime(six_learners)
    assert await pages(s, updated_after=request_time) == [[("l5", 50.0), ("l6", 100.0)]]
    assert await pages(s, updated_after=request_time, status=COMPLETED) == [[("l6", 100.0)]]


@pytest.mark.parametrize(
    ("filters", "reason", "field"),
    [
        pytest.param(
            {"completed_only": True, "status": IN_PROGRESS},
            "CONFLICTING_STATUS",
            "status",
            id="contradictory-status",
        ),
        pytest.param({"min_percent": 100.5}, "INVALID_MIN_PERCENT", "min_percent", id="over-100"),
        pytest.param({"min_percent": -1.0}, "INVALID_MIN_PERCENT", "min_percent", id="negative"),
        pytest.param({"min_percent": float("nan")}, "INVALID_MIN_PERCENT", "min_percent", id="nan"),
    ],
)
async def test_bad_filters_are_field_violations(
    s: Stubs, filters: dict[str, object], reason: str, field: str
) -> None:
    await apply(s, TWO_GROUPS, ["two"])
    request = progress_service_pb2.ListTemplateProgressRequest(template_id="credly:two", **filters)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await s.progress.ListTemplateProgress(request)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rich_status(info.value)
    assert unpack(status, error_details_pb2.ErrorInfo).reason == reason
    violations = unpack(status, error_details_pb2.BadRequest).field_violations
    assert [v.field for v in violations] == [field]
