"""CredlyClient over a scripted MockTransport: exact requests, mapped responses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from provider_wire import (
    BADGE_ID,
    CREDLY_AUTH,
    CREDLY_ORG,
    CREDLY_TOKEN,
    NEW_BADGE_ID,
    ORG_PATH,
    TEMPLATE_ID,
    Call,
    Script,
    credly_badge,
    credly_one,
    credly_page,
    credly_template,
    reply,
)

from server.providers.base import (
    EvidenceSpec,
    IssueRequest,
    ProviderBadge,
    ProviderBadgeState,
    ProviderTemplate,
    Recipient,
)
from server.providers.credly import CREDLY_PRODUCTION, CREDLY_SANDBOX, CredlyClient
from server.providers.errors import ProviderDuplicate, ProviderRejected

Connect = Callable[[list[Call]], CredlyClient]


@pytest.fixture
async def credly() -> AsyncIterator[Callable[[list[Call]], CredlyClient]]:
    """`credly(calls)`: a client whose transport expects exactly `calls`, all of them."""
    scripts: list[Script] = []
    clients: list[CredlyClient] = []

    def connect(calls: list[Call]) -> CredlyClient:
        script = Script(CREDLY_AUTH, calls)
        scripts.append(script)
        clients.append(CredlyClient(CREDLY_ORG, CREDLY_TOKEN, transport=script.transport()))
        return clients[-1]

    try:
        yield connect
    finally:
        for client in clients:
            await client.aclose()
    assert all(script.done() for script in scripts), "expected requests were not sent"


REQUEST = IssueRequest(
    template_external_id=TEMPLATE_ID,
    recipient=Recipient(
        learner_id="learner-1", email="ada@example.com", first_name="Ada", last_name="Lovelace"
    ),
    issued_at=datetime(2026, 3, 1, 9, 41, tzinfo=timezone(timedelta(hours=-5))),
    earner_key="award-42",
    expires_at=datetime(2027, 3, 1, 0, 0, tzinfo=UTC),
    evidence=(
        EvidenceSpec(kind="url", name="Final project", value="https://git.example.com/ada/p"),
        EvidenceSpec(kind="id", name="Certificate number", value="CN-2026-0042"),
        EvidenceSpec(kind="text", name="Assessor note", value="Excellent work"),
    ),
)

ISSUE_BODY = {
    "badge_template_id": TEMPLATE_ID,
    "recipient_email": "ada@example.com",
    "issued_to_first_name": "Ada",
    "issued_to_last_name": "Lovelace",
    "issued_at": "2026-03-01 09:41:00 -0500",
    "expires_at": "2027-03-01 00:00:00 +0000",
    "issuer_earner_id": "award-42",
    "evidence": [
        {"type": "UrlEvidence", "name": "Final project", "value": "https://git.example.com/ada/p"},
        {"type": "IdEvidence", "title": "Certificate number", "description": "CN-2026-0042"},
        {"type": "IdEvidence", "title": "Assessor note", "description": "Excellent work"},
    ],
}

PENDING_BADGE = ProviderBadge(
    external_id=BADGE_ID,
    template_external_id=TEMPLATE_ID,
    recipient_email="ada@example.com",
    state=ProviderBadgeState.PENDING,
    issued_at=datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
    expires_at=datetime(2027, 3, 1, 9, 0, tzinfo=UTC),
    earner_key="award-42",
    url=f"https://www.credly.com/badges/{BADGE_ID}",
    accept_url=f"https://www.credly.com/badges/{BADGE_ID}/accept",
    updated_at=datetime(2026, 3, 1, 9, 0, 1, tzinfo=UTC),
)


async def test_organization_name_reads_the_org(credly: Connect) -> None:
    client = credly(
        [Call("GET", ORG_PATH, reply(200, credly_one({"id": CREDLY_ORG, "name": "Acme Academy"})))]
    )
    assert await client.organization_name() == "Acme Academy"


async def test_templates_follow_pages_up_to_total_pages(credly: Connect) -> None:
    ids = [f"t-{n}" for n in range(5)]
    page = {"filter": "state::active", "sort": "name"}
    client = credly(
        [
            Call(
                "GET",
                f"{ORG_PATH}/badge_templates",
                reply(200, credly_page([credly_template(ids[0]), credly_template(ids[1])], 1, 3)),
                page | {"page": "1"},
            ),
            Call(
                "GET",
                f"{ORG_PATH}/badge_templates",
                reply(200, credly_page([credly_template(ids[2]), credly_template(ids[3])], 2, 3)),
                page | {"page": "2"},
            ),
            Call(
                "GET",
                f"{ORG_PATH}/badge_templates",
                reply(
                    200,
                    credly_page(
                        [credly_template(ids[4], image_url=None, allow_duplicate_badges=True)], 3, 3
                    ),
                ),
                page | {"page": "3"},
            ),
        ]
    )
    templates = [t async for t in client.templates()]
    assert [t.external_id for t in templates] == ids
    assert templates[0] == ProviderTemplate(
        external_id="t-0",
        name="Python Foundations",
        description="Completed the Python foundations track.",
        image_url="https://images.credly.com/t-0.png",
        state="active",
        url="https://www.credly.com/org/acme/badge/t-0",
        allow_duplicates=False,
    )
    # no image_url: the image object's url
    assert templates[4].image_url == "https://images.credly.com/t-4.png"
    assert templates[4].allow_duplicates is True


async def test_issue_sends_the_documented_payload(credly: Connect) -> None:
    client = credly(
        [
            Call(
                "POST",
                f"{ORG_PATH}/badges",
                reply(201, credly_one(credly_badge())),
                json=ISSUE_BODY,
            )
        ]
    )
    assert await client.issue(REQUEST) == PENDING_BADGE


async def test_issue_without_expiry_or_evidence_sends_null_expiry(credly: Connect) -> None:
    request = IssueRequest(
        template_external_id=TEMPLATE_ID,
        recipient=REQUEST.recipient,
        issued_at=datetime(2026, 3, 1, 14, 41, 7, 123456, tzinfo=UTC),
        earner_key="award-42",
    )
    body = {k: v for k, v in ISSUE_BODY.items() if k != "evidence"}
    body |= {"issued_at": "2026-03-01 14:41:07 +0000", "expires_at": None}
    client = credly(
        [Call("POST", f"{ORG_PATH}/badges", reply(201, credly_one(credly_badge())), json=body)]
    )
    await client.issue(request)


async def test_issue_refuses_an_unknown_evidence_kind_before_sending(credly: Connect) -> None:
    request = IssueRequest(
        template_external_id=TEMPLATE_ID,
        recipient=REQUEST.recipient,
        issued_at=REQUEST.issued_at,
        earner_key="award-42",
        evidence=(EvidenceSpec(kind="video", name="Talk", value="https://v.example.com/1"),),
    )
    with pytest.raises(ProviderRejected, match="unsupported evidence kind 'video'") as caught:
        await credly([]).issue(request)
    assert caught.value.status == 0


async def test_duplicate_then_find_by_earner_key(credly: Connect) -> None:
    duplicate = {"data": {"message": "User already has this badge"}, "metadata": {}}
    accepted = credly_badge(state="accepted", accept_badge_url=None)
    client = credly(
        [
            Call("POST", f"{ORG_PATH}/badges", reply(422, duplicate), json=ISSUE_BODY),
            Call(
                "GET",
                f"{ORG_PATH}/badges",
                reply(200, credly_page([accepted], 1, 1)),
                {
                    "filter": f"issuer_earner_id::award-42|badge_template_id::{TEMPLATE_ID}",
                    "sort": "-issued_at",
                },
            ),
        ]
    )
    with pytest.raises(ProviderDuplicate) as caught:
        await client.issue(REQUEST)
    assert caught.value.status == 422
    assert str(caught.value) == (
        f"credly POST {ORG_PATH}/badges -> HTTP 422: User already has this badge"
    )
    found = await client.find(TEMPLATE_ID, "award-42", "ada@example.com")
    assert found is not None
    assert (found.external_id, found.state, found.accept_url) == (
        BADGE_ID,
        ProviderBadgeState.ACCEPTED,
        "",
    )


async def test_find_falls_back_to_email_and_prefers_the_badge_not_replaced(credly: Connect) -> None:
    old = credly_badge(state="accepted", issuer_earner_id=None, replacement_badge_id=NEW_BADGE_ID)
    new = credly_badge(
        NEW_BADGE_ID, state="accepted", issuer_earner_id=None, replaces_badge_id=BADGE_ID
    )
    other = credly_badge("b-other", recipient_email="someone@example.com")
    client = credly(
        [
            Call(
                "GET",
                f"{ORG_PATH}/badges",
                reply(200, credly_page([], 1, 1)),
                {
                    "filter": f"issuer_earner_id::award-42|badge_template_id::{TEMPLATE_ID}",
                    "sort": "-issued_at",
                },
            ),
            Call(
                "GET",
                f"{ORG_PATH}/badges",
                reply(200, credly_page([old, other, new], 1, 1)),
                {
                    "filter": f"recipient_email::Ada@Example.com|badge_template_id::{TEMPLATE_ID}",
                    "sort": "-issued_at",
                },
            ),
        ]
    )
    found = await client.find(TEMPLATE_ID, "award-42", "Ada@Example.com")
    assert found is not None and found.external_id == NEW_BADGE_ID


async def test_find_returns_none_when_nothing_matches(credly: Connect) -> None:
    stranger = credly_badge(issuer_earner_id="award-4")  # a partial match the filter let through
    client = credly(
        [
            Call(
                "GET",
                f"{ORG_PATH}/badges",
                reply(200, credly_page([stranger], 1, 1)),
                {
                    "filter": f"issuer_earner_id::award-42|badge_template_id::{TEMPLATE_ID}",
                    "sort": "-issued_at",
                },
            ),
        ]
    )
    assert await client.find(TEMPLATE_ID, "award-42", "") is None


async def test_find_refuses_a_filter_breaking_value(credly: Connect) -> None:
    with pytest.raises(ProviderRejected, match="contains"):
        await credly([]).find(TEMPLATE_ID, "a|state::revoked", "")


async def test_get_badge_maps_and_404_is_none(credly: Connect) -> None:
    client = credly(
        [
            Call("GET", f"{ORG_PATH}/badges/{BADGE_ID}", reply(200, credly_one(credly_badge()))),
            Call(
                "GET",
                f"{ORG_PATH}/badges/nope",
                reply(404, {"data": {"message": "Not found"}, "metadata": {}}),
            ),
        ]
    )
    assert await client.get_badge(BADGE_ID) == PENDING_BADGE
    assert await client.get_badge("nope") is None


async def test_ids_are_escaped_as_one_path_segment(credly: Connect) -> None:
    client = credly([Call("GET", f"{ORG_PATH}/badges/..%2Fevents%2Fx", reply(404, {}))])
    assert await client.get_badge("../events/x") is None


async def test_revoke_puts_the_reason(credly: Connect) -> None:
    revoked = credly_badge(state="revoked", revocation_reason="Issued in error")
    client = credly(
        [
            Call(
                "PUT",
                f"{ORG_PATH}/badges/{BADGE_ID}/revoke",
                reply(200, credly_one(revoked)),
                json={"reason": "Issued in error"},
            )
        ]
    )
    badge = await client.revoke(BADGE_ID, "Issued in error")
    assert badge.state is ProviderBadgeState.REVOKED


async def test_revoke_with_an_empty_answer_reads_the_badge(credly: Connect) -> None:
    client = credly(
        [
            Call("PUT", f"{ORG_PATH}/badges/{BADGE_ID}/revoke", reply(204), json={"reason": "x"}),
            Call(
                "GET",
                f"{ORG_PATH}/badges/{BADGE_ID}",
                reply(200, credly_one(credly_badge(state="revoked"))),
            ),
        ]
    )
    assert (await client.revoke(BADGE_ID, "x")).state is ProviderBadgeState.REVOKED


async def test_update_expiry_replaces_the_newest_badge_of_the_chain(credly: Connect) -> None:
    first = credly_badge("b-first", state="accepted", replacement_badge_id=BADGE_ID)
    current = credly_badge(
        state="accepted",
        replaces_badge_id="b-first",
        evidence=[
            {
                "id": "e1",
                "type": "UrlEvidence",
                "name": "Project",
                "value": "https://x.example.com",
                "description": None,
            },
            {"id": "e2", "type": "IdEvidence", "name": "Certificate number", "description": "CN-1"},
        ],
    )
    replacement = credly_badge(
        NEW_BADGE_ID,
        state="accepted",
        replaces_badge_id=BADGE_ID,
        expires_at="2028-03-01T00:00:00.000Z",
    )
    client = credly(
        [
            Call("GET", f"{ORG_PATH}/badges/b-first", reply(200, credly_one(first))),
            Call("GET", f"{ORG_PATH}/badges/{BADGE_ID}", reply(200, credly_one(current))),
            Call(
                "POST",
                f"{ORG_PATH}/badges/{BADGE_ID}/replace",
                reply(201, credly_one(replacement)),
                json={
                    "badge_template_id": TEMPLATE_ID,
                    "issued_at": "2026-03-01 09:00:00 +0000",
                    "issued_to_first_name": "Ada",
                    "issued_to_last_name": "Lovelace",
                    "issuer_earner_id": "award-42",
                    "expires_at": "2028-03-01 00:00:00 +0000",
                    "evidence": [
                        {
                            "type": "UrlEvidence",
                            "name": "Project",
                            "value": "https://x.example.com",
                        },
                        {
                            "type": "IdEvidence",
                            "title": "Certificate number",
                            "description": "CN-1",
                        },
                    ],
                },
            ),
        ]
    )
    badge = await client.update_expiry("b-first", datetime(2028, 3, 1, tzinfo=UTC))
    assert badge.external_id == NEW_BADGE_ID
    assert badge.expires_at == datetime(2028, 3, 1, tzinfo=UTC)
    assert badge.earner_key == "award-42"


@pytest.mark.parametrize(
    ("raw", "state", "replaced_by"),
    [
        pytest.param({"state": "pending"}, ProviderBadgeState.PENDING, "", id="pending"),
        pytest.param({"state": "accepted"}, ProviderBadgeState.ACCEPTED, "", id="accepted"),
        pytest.param({"state": "rejected"}, ProviderBadgeState.REJECTED, "", id="rejected"),
        pytest.param({"state": "revoked"}, ProviderBadgeState.REVOKED, "", id="revoked"),
        pytest.param(
            {"state": "accepted", "replacement_badge_id": NEW_BADGE_ID},
            ProviderBadgeState.ACCEPTED,
            NEW_BADGE_ID,
            id="replaced-keeps-its-state",
        ),
        pytest.param(
            {"state": "pending", "replacement_badge_id": NEW_BADGE_ID},
            ProviderBadgeState.PENDING,
            NEW_BADGE_ID,
            id="replaced-while-pending",
        ),
    ],
)
async def test_badge_states(
    credly: Connect, raw: dict[str, str], state: ProviderBadgeState, replaced_by: str
) -> None:
    client = credly(
        [Call("GET", f"{ORG_PATH}/badges/{BADGE_ID}", reply(200, credly_one(credly_badge(**raw))))]
    )
    badge = await client.get_badge(BADGE_ID)
    assert badge is not None and (badge.state, badge.replaced_by) == (state, replaced_by)


async def test_badges_pages_and_keeps_the_updated_ones(credly: Connect) -> None:
    old = credly_badge("b-old", updated_at="2026-01-01T00:00:00Z")
    new = credly_badge("b-new", updated_at="2026-03-05T10:00:00+01:00")
    edge = credly_badge("b-edge", updated_at="2026-03-05 09:00:00 +0000")
    client = credly(
        [
            Call(
                "GET",
                f"{ORG_PATH}/badges",
                reply(200, credly_page([old, new], 1, 2)),
                {"page": "1"},
            ),
            Call("GET", f"{ORG_PATH}/badges", reply(200, credly_page([edge], 2, 2)), {"page": "2"}),
        ]
    )
    since = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
    assert [b.external_id async for b in client.badges(since)] == ["b-new", "b-edge"]


async def test_badges_without_a_bound_lists_everything(credly: Connect) -> None:
    client = credly(
        [
            Call(
                "GET",
                f"{ORG_PATH}/badges",
                reply(200, credly_page([credly_badge()], 1, 1)),
                {"page": "1"},
            )
        ]
    )
    assert [b async for b in client.badges(None)] == [PENDING_BADGE]


async def test_fetch_event_maps_the_badge(credly: Connect) -> None:
    event = {
        "id": "ev-1",
        "organization_id": CREDLY_ORG,
        "event_type": "badge.state.changed",
        "occurred_at": "2026-03-02T10:00:00.000Z",
        "badge": credly_badge(state="accepted"),
    }
    client = credly([Call("GET", f"{ORG_PATH}/events/ev-1", reply(200, credly_one(event)))])
    got = await client.fetch_event("ev-1")
    assert (got.id, got.type, got.organization_id, got.template) == (
        "ev-1",
        "badge.state.changed",
        CREDLY_ORG,
        None,
    )
    assert got.badge is not None and got.badge.state is ProviderBadgeState.ACCEPTED


async def test_fetch_event_maps_a_template_and_a_deletion(credly: Connect) -> None:
    changed = {
        "id": "ev-2",
        "organization_id": CREDLY_ORG,
        "event_type": "badge_template.changed",
        "occurred_at": "2026-03-02T10:00:00.000Z",
        "badge_template": {
            "id": TEMPLATE_ID,
            "name": "Python Foundations",
            "state": "archived",
            "description": "d",
            "image_url": "https://images.credly.com/t.png",
            "owner": {"id": CREDLY_ORG},
        },
    }
    deleted = {
        "id": "ev-3",
        "organization_id": CREDLY_ORG,
        "event_type": "badge.deleted",
        "occurred_at": "2026-03-02T10:00:00.000Z",
        "badge": credly_badge(state="accepted"),
    }
    client = credly(
        [
            Call("GET", f"{ORG_PATH}/events/ev-2", reply(200, credly_one(changed))),
            Call("GET", f"{ORG_PATH}/events/ev-3", reply(200, credly_one(deleted))),
        ]
    )
    got = await client.fetch_event("ev-2")
    assert got.badge is None
    assert got.template == ProviderTemplate(
        external_id=TEMPLATE_ID,
        name="Python Foundations",
        description="d",
        image_url="https://images.credly.com/t.png",
        state="archived",
    )
    gone = await client.fetch_event("ev-3")
    assert gone.badge is not None and gone.badge.state is ProviderBadgeState.DELETED


async def test_sandbox_base_url_and_repr_hide_the_token() -> None:
    client = CredlyClient(CREDLY_ORG, CREDLY_TOKEN, base_url=CREDLY_SANDBOX + "/")
    try:
        text = repr(client)
        assert text == f"CredlyClient(organization_id='{CREDLY_ORG}', base_url='{CREDLY_SANDBOX}')"
        assert CREDLY_TOKEN not in text and CREDLY_TOKEN not in str(client)
        assert CREDLY_PRODUCTION == "https://api.credly.com/v1"
    finally:
        await client.aclose()


async def test_async_with_closes_the_pool() -> None:
    async with CredlyClient(CREDLY_ORG, CREDLY_TOKEN) as client:
        pass
    assert client._http._client.is_closed


@pytest.mark.parametrize(
    ("org", "token"),
    [pytest.param("", "t", id="no-org"), pytest.param("o", "", id="no-token")],
)
def test_constructor_requires_org_and_token(org: str, token: str) -> None:
    with pytest.raises(ValueError, match="required"):
        CredlyClient(org, token)
