"""Reconciliation against the emulated Credly over real HTTP: badge states, replacements
and badges issued directly on the provider are read back into a temporary SQLite store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.domain import AwardState, OutboxAction, RevokedBy
from server.providers.base import BadgeProvider, IssueRequest, Recipient
from server.providers.emulator import EmulatorServer
from server.reconcile import ReconcileReport, reconcile_connection
from server.store import get_provider_badge, provider_badges_for_award
from tests.service.test_sync import (
    NOW,
    Store,
    award,
    awards_of,
    clients_fixture,  # noqa: F401  (fixture)
    connect_credly,
    emulator_fixture,  # noqa: F401  (fixture)
    issue_all,
    outbox,
    passing,
    process,
    store_fixture,  # noqa: F401  (fixture)
)


def badges_of(store: Store, learner: str) -> list[tuple[str, str, str]]:
    """(external id, state, replaced_by) of the learner's one award's provider badges."""
    (record,) = awards_of(store, learner)
    found = store.read(lambda s: provider_badges_for_award(s, record.id or 0))
    return [(b.external_id, b.state, b.replaced_by) for b in found]


@pytest.mark.parametrize(
    ("provider_state", "award_state", "revoked_here"),
    [
        pytest.param("accepted", AwardState.AWARDED, 0, id="accepted"),
        pytest.param("rejected", AwardState.AWARDED, 0, id="rejected"),
        pytest.param("revoked", AwardState.REVOKED, 1, id="revoked"),
        pytest.param("pending", AwardState.AWARDED, 0, id="unchanged"),
    ],
)
async def test_state_changes_on_the_provider_are_read_back(
    store: Store,
    emulator: EmulatorServer,
    clients: list[BadgeProvider],
    provider_state: str,
    award_state: AwardState,
    revoked_here: int,
) -> None:
    org = emulator.state.credly.add_organization("Reconcile Academy")
    template = emulator.state.credly.add_template(org.id, "States")
    connection, client = await connect_credly(store, emulator, org, clients)
    await award(store, f"credly:{template.id}", ["ada", "ben"], connection.id, client)
    ((ada_badge, _, _),) = badges_of(store, "ada")
    if provider_state == "revoked":
        emulator.state.credly.revoke(org.id, ada_badge, "policy")
    elif provider_state != "pending":
        emulator.state.credly.set_badge_state(org.id, ada_badge, provider_state)

    report = await reconcile_connection(store.runner, connection, client, None, NOW)

    assert report == ReconcileReport(seen=2, linked=2, direct=0, revoked_here=revoked_here)
    assert badges_of(store, "ada") == [(ada_badge, provider_state, "")]
    (ada,) = awards_of(store, "ada")
    assert ada.state is award_state
    if award_state is AwardState.REVOKED:
        assert (ada.revoked_by, ada.revoke_reason, ada.revoked_at) == (
            RevokedBy.ADMIN,
            "revoked on Credly",
            NOW,
        )
    assert [a.state for a in awards_of(store, "ben")] == [AwardState.AWARDED]
    assert [i.action for i in outbox(store)] == [OutboxAction.ISSUE, OutboxAction.ISSUE]


async def test_a_replacement_is_read_back_and_linked_to_the_same_award(
    store: Store, emulator: EmulatorServer, clients: list[BadgeProvider]
) -> None:
    org = emulator.state.credly.add_organization("Replace Academy")
    template = emulator.state.credly.add_template(org.id, "Renewable")
    connection, client = await connect_credly(store, emulator, org, clients)
    await award(store, f"credly:{template.id}", ["ada"], connection.id, client)
    ((old_id, _, _),) = badges_of(store, "ada")
    emulator.state.credly.set_badge_state(org.id, old_id, "accepted")
    expires = datetime(2027, 3, 1, tzinfo=UTC)
    new = await client.update_expiry(old_id, expires)

    report = await reconcile_connection(store.runner, connection, client, None, NOW)

    assert report == ReconcileReport(seen=2, linked=2, direct=0, revoked_here=0)
    assert sorted(badges_of(store, "ada")) == sorted(
        [(old_id, "accepted", new.external_id), (new.external_id, "accepted", "")]
    )
    stored = store.read(lambda s: get_provider_badge(s, "credly", new.external_id))
    assert stored is not None and stored.expires_at == expires
    assert [a.state for a in awards_of(store, "ada")] == [AwardState.AWARDED]

    emulator.state.credly.revoke(org.id, new.external_id, "renewal withdrawn")
    again = await reconcile_connection(store.runner, connection, client, None, NOW)

    assert again == ReconcileReport(seen=2, linked=2, direct=0, revoked_here=1)
    assert [a.state for a in awards_of(store, "ada")] == [AwardState.REVOKED]


async def test_a_badge_issued_directly_on_the_provider_is_recorded_without_an_award(
    store: Store, emulator: EmulatorServer, clients: list[BadgeProvider]
) -> None:
    org = emulator.state.credly.add_organization("Direct Academy")
    template = emulator.state.credly.add_template(org.id, "Handed out")
    connection, client = await connect_credly(store, emulator, org, clients)
    await award(store, f"credly:{template.id}", ["ada"], connection.id, client)
    direct = await client.issue(
        IssueRequest(
            template.id,
            Recipient("", "walk-in@example.org", "Walk", "In"),
            datetime(2026, 3, 1, tzinfo=UTC),
            earner_key="",
        )
    )
    lookalike = await client.issue(
        IssueRequest(
            template.id,
            Recipient("", "lookalike@example.org", "Look", "Alike"),
            datetime(2026, 3, 1, tzinfo=UTC),
            earner_key="badgeflow-999-999",  # looks like ours; no such award asked for it
        )
    )
    emulator.state.credly.revoke(org.id, lookalike.external_id, "mistake")

    report = await reconcile_connection(store.runner, connection, client, None, NOW)

    assert report == ReconcileReport(seen=3, linked=1, direct=2, revoked_here=0)
    for badge, state in ((direct, "pending"), (lookalike, "revoked")):
        stored = store.read(lambda s, b=badge: get_provider_badge(s, "credly", b.external_id))
        assert stored is not None
        assert (stored.award_id, stored.state, stored.template_external_id) == (
            None,
            state,
            template.id,
        )
    assert [a.state for a in awards_of(store, "ada")] == [AwardState.AWARDED]


async def test_the_old_revoked_badge_of_an_award_earned_again_does_not_revoke_it(
    store: Store, emulator: EmulatorServer, clients: list[BadgeProvider]
) -> None:
    """Revoked by a penalty (the worker revokes on Credly), earned again (a new badge with
    a new earner key): the first badge, revoked on Credly, must not take the award back."""
    org = emulator.state.credly.add_organization("Second Chance Academy")
    template = emulator.state.credly.add_template(org.id, "Again")
    template_id = f"credly:{template.id}"
    connection, client = await connect_credly(store, emulator, org, clients)
    await award(store, template_id, ["ada"], connection.id, client)
    await process(store, template_id, [passing("fail-ada", "ada", False)])
    await issue_all(store, connection.id, client)
    pending_reissue = [passing("pass-again-ada", "ada")]
    await process(store, template_id, pending_reissue)

    before = await reconcile_connection(store.runner, connection, client, None, NOW)
    await issue_all(store, connection.id, client)
    after = await reconcile_connection(store.runner, connection, client, None, NOW)

    assert before == ReconcileReport(seen=1, linked=1, direct=0, revoked_here=0)
    assert after == ReconcileReport(seen=2, linked=2, direct=0, revoked_here=0)
    assert [i.action for i in outbox(store)] == [
        OutboxAction.ISSUE,
        OutboxAction.REVOKE,
        OutboxAction.ISSUE,
    ]
    (ada,) = awards_of(store, "ada")
    assert (ada.state, ada.revoked_by) == (AwardState.AWARDED, None)
    assert sorted(state for _, state, _ in badges_of(store, "ada")) == ["pending", "revoked"]


async def test_since_limits_the_sweep_to_badges_updated_after_it(
    store: Store, emulator: EmulatorServer, clients: list[BadgeProvider]
) -> None:
    org = emulator.state.credly.add_organization("Incremental Academy")
    template = emulator.state.credly.add_template(org.id, "Delta")
    connection, client = await connect_credly(store, emulator, org, clients)
    await award(store, f"credly:{template.id}", ["ada", "ben"], connection.id, client)
    ((ben_badge, _, _),) = badges_of(store, "ben")
    mark = emulator.state.clock.now  # type: ignore[attr-defined]
    emulator.state.credly.set_badge_state(org.id, ben_badge, "accepted")

    report = await reconcile_connection(
        store.runner, connection, client, mark + timedelta(microseconds=1), NOW
    )

    assert report == ReconcileReport(seen=1, linked=1, direct=0, revoked_here=0)
    assert badges_of(store, "ben") == [(ben_badge, "accepted", "")]
