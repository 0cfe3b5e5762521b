"""Both clients against the provider emulator over real HTTP on loopback: the same wire
format from the other side, plus faults a MockTransport cannot fake as faithfully (a
connection dropped after the request was applied)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from server.providers.accredible import AccredibleClient
from server.providers.base import IssueRequest, ProviderBadgeState, Recipient
from server.providers.credly import CredlyClient
from server.providers.emulator import EmulatorServer, EmulatorState, Faults
from server.providers.emulator.credly_store import CredlyOrganization
from server.providers.errors import (
    ProviderAuthError,
    ProviderDuplicate,
    ProviderNotFound,
    ProviderOutcomeUnknown,
    ProviderRateLimited,
    ProviderTransportError,
)

CREDLY_TOKEN = "emu-credly-token-9b1"
ACCREDIBLE_KEY = "emu-accredible-key-4d2"
ACTIVE_TEMPLATES = 55  # two pages of 50


@pytest.fixture
def state() -> EmulatorState:
    state = EmulatorState()
    org = state.credly.add_organization("Acme Academy", token=CREDLY_TOKEN)
    for n in range(ACTIVE_TEMPLATES):
        state.credly.add_template(org.id, f"Skill {n:02d}")
    state.credly.add_template(org.id, "Draft skill", state="draft")
    state.credly.add_template(org.id, "Old skill", state="archived")
    state.accredible.add_configuration("Acme Academy", key=ACCREDIBLE_KEY)
    for n in range(3):
        design = state.accredible.add_design(ACCREDIBLE_KEY, f"Design {n}")
        state.accredible.add_group(
            ACCREDIBLE_KEY, f"course-{n}", course_name=f"Course {n}", design_id=design.id
        )
    state.accredible.add_group(ACCREDIBLE_KEY, "no-design")
    return state


@pytest.fixture
async def emulator(state: EmulatorState) -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer(state, Faults(seed=7)) as server:
        yield server


@pytest.fixture
def org(state: EmulatorState) -> CredlyOrganization:
    return next(iter(state.credly.organizations.values()))


@pytest.fixture
async def credly(emulator: EmulatorServer, org: CredlyOrganization) -> AsyncIterator[CredlyClient]:
    async with CredlyClient(org.id, CREDLY_TOKEN, base_url=emulator.credly_url) as client:
        yield client


@pytest.fixture
async def accredible(emulator: EmulatorServer) -> AsyncIterator[AccredibleClient]:
    async with AccredibleClient(ACCREDIBLE_KEY, base_url=emulator.accredible_url) as client:
        yield client


def request_for(
    template: str, key: str = "award-1", email: str = "ada@example.com"
) -> IssueRequest:
    return IssueRequest(
        template_external_id=template,
        recipient=Recipient(
            learner_id="learner-1", email=email, first_name="Ada", last_name="Lovelace"
        ),
        issued_at=datetime.now(UTC).replace(microsecond=0),
        earner_key=key,
        expires_at=datetime.now(UTC).replace(microsecond=0) + timedelta(days=365),
    )


async def first_template(credly: CredlyClient) -> str:
    async for template in credly.templates():
        return template.external_id
    raise AssertionError("no templates")


# -- Credly ---------------------------------------------------------------------------------


async def test_credly_templates_are_the_active_ones_over_all_pages(credly: CredlyClient) -> None:
    assert await credly.organization_name() == "Acme Academy"
    templates = [t async for t in credly.templates()]
    assert len(templates) == ACTIVE_TEMPLATES
    assert {t.state for t in templates} == {"active"}
    assert [t.name for t in templates] == sorted(t.name for t in templates)


async def test_credly_lifecycle(
    credly: CredlyClient, state: EmulatorState, org: CredlyOrganization
) -> None:
    template = await first_template(credly)
    issued = await credly.issue(request_for(template))
    assert (issued.state, issued.earner_key, issued.template_external_id) == (
        ProviderBadgeState.PENDING,
        "award-1",
        template,
    )
    with pytest.raises(ProviderDuplicate):
        await credly.issue(request_for(template))
    assert await credly.find(template, "award-1", "ada@example.com") == issued

    state.credly.set_badge_state(org.id, issued.external_id, "accepted")
    later = datetime(2030, 1, 1, tzinfo=UTC)
    renewed = await credly.update_expiry(issued.external_id, later)
    assert renewed.external_id != issued.external_id
    assert (renewed.expires_at, renewed.earner_key) == (later, "award-1")
    old = await credly.get_badge(issued.external_id)
    assert old is not None and old.replaced_by == renewed.external_id
    assert old.state is ProviderBadgeState.ACCEPTED  # a replaced badge keeps its state
    found = await credly.find(template, "award-1", "")
    assert found is not None and found.external_id == renewed.external_id

    revoked = await credly.revoke(renewed.external_id, "issued in error")
    assert revoked.state is ProviderBadgeState.REVOKED
    assert {b.external_id async for b in credly.badges(None)} == {
        issued.external_id,
        renewed.external_id,
    }

    event = state.credly_events(org.id)[-1]
    fetched = await credly.fetch_event(event.id)
    assert (fetched.id, fetched.type, fetched.organization_id) == (
        event.id,
        event.event_type,
        org.id,
    )
    assert fetched.badge is not None and fetched.badge.external_id == renewed.external_id


async def test_credly_dropped_after_applying_is_an_unknown_outcome(
    credly: CredlyClient, emulator: EmulatorServer
) -> None:
    template = await first_template(credly)
    emulator.faults.methods = frozenset({"POST"})
    emulator.faults.drop_next = 1
    with pytest.raises(ProviderOutcomeUnknown) as caught:
        await credly.issue(request_for(template, key="award-drop"))
    assert CREDLY_TOKEN not in str(caught.value)
    found = await credly.find(template, "award-drop", "ada@example.com")
    assert found is not None and found.earner_key == "award-drop"  # it was applied


async def test_credly_dropped_read_is_a_transport_error(
    credly: CredlyClient, emulator: EmulatorServer
) -> None:
    emulator.faults.methods = frozenset({"GET"})
    emulator.faults.drop_next = 1
    with pytest.raises(ProviderTransportError) as caught:
        await credly.organization_name()
    assert type(caught.value) is ProviderTransportError
    assert await credly.organization_name() == "Acme Academy"  # the pool recovers


async def test_credly_rate_limit_and_server_error(
    credly: CredlyClient, emulator: EmulatorServer
) -> None:
    emulator.faults.rate_limit_next = 1
    with pytest.raises(ProviderRateLimited) as limited:
        await credly.organization_name()
    assert limited.value.retry_after == 1.0
    emulator.faults.error_next = 1
    with pytest.raises(ProviderTransportError):
        await credly.organization_name()


async def test_credly_wrong_token_and_unknown_ids(
    emulator: EmulatorServer, org: CredlyOrganization
) -> None:
    async with CredlyClient(org.id, "not-the-token", base_url=emulator.credly_url) as client:
        with pytest.raises(ProviderAuthError) as caught:
            await client.organization_name()
    assert "not-the-token" not in str(caught.value)
    async with CredlyClient(org.id, CREDLY_TOKEN, base_url=emulator.credly_url) as client:
        assert await client.get_badge("00000000-0000-0000-0000-000000000000") is None
        with pytest.raises(ProviderNotFound):
            await client.fetch_event("00000000-0000-0000-0000-000000000000")


# -- Accredible -----------------------------------------------------------------------------


async def test_accredible_templates_with_design_images(accredible: AccredibleClient) -> None:
    templates = [t async for t in accredible.templates()]
    assert [t.name for t in templates] == ["Course 0", "Course 1", "Course 2", "no-design"]
    assert all(t.image_url for t in templates[:3])
    assert templates[3].image_url == ""


async def test_accredible_lifecycle(accredible: AccredibleClient, state: EmulatorState) -> None:
    group = [t async for t in accredible.templates()][0].external_id
    since = datetime.now(UTC) - timedelta(minutes=1)
    issued = await accredible.issue(request_for(group))
    assert (issued.state, issued.earner_key, issued.template_external_id) == (
        ProviderBadgeState.ACCEPTED,
        "award-1",
        group,
    )
    with pytest.raises(ProviderDuplicate):
        await accredible.issue(request_for(group, key="award-2"))
    found = await accredible.find(group, "award-1", "ada@example.com")
    assert found is not None and found.external_id == issued.external_id

    later = datetime(2030, 1, 1, tzinfo=UTC)
    extended = await accredible.update_expiry(issued.external_id, later)
    assert (extended.external_id, extended.expires_at) == (issued.external_id, later)
    revoked = await accredible.revoke(issued.external_id, "issued in error")
    assert revoked.state is ProviderBadgeState.EXPIRED

    other = await accredible.issue(request_for(group, key="award-3", email="grace@example.com"))
    assert [b.external_id async for b in accredible.badges(since)] == [
        issued.external_id,
        other.external_id,
    ]
    state.accredible.delete_credential(
        state.accredible.configurations[ACCREDIBLE_KEY], other.external_id
    )
    gone = await accredible.get_badge(other.external_id)
    assert gone is not None and gone.state is ProviderBadgeState.DELETED


async def test_accredible_dropped_after_applying_is_an_unknown_outcome(
    accredible: AccredibleClient, emulator: EmulatorServer
) -> None:
    group = [t async for t in accredible.templates()][1].external_id
    emulator.faults.path_contains = "/v1/credentials"
    emulator.faults.drop_next = 1
    with pytest.raises(ProviderOutcomeUnknown):
        await accredible.issue(request_for(group, key="award-drop"))
    found = await accredible.find(group, "award-drop", "ada@example.com")
    assert found is not None and found.earner_key == "award-drop"


async def test_accredible_wrong_key(emulator: EmulatorServer) -> None:
    async with AccredibleClient("not-the-key", base_url=emulator.accredible_url) as client:
        with pytest.raises(ProviderAuthError, match="the accredible API key was refused") as caught:
            await client.get_badge("1")
    assert "not-the-key" not in str(caught.value)
