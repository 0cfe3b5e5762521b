"""AccredibleClient over a scripted MockTransport: exact requests, mapped responses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from provider_wire import (
    ACCREDIBLE_AUTH,
    ACCREDIBLE_KEY,
    Call,
    Script,
    accredible_credential,
    accredible_design,
    accredible_group,
    accredible_item,
    reply,
)

from server.providers.accredible import (
    ACCREDIBLE_EU,
    ACCREDIBLE_PRODUCTION,
    ACCREDIBLE_SANDBOX,
    AccredibleClient,
)
from server.providers.base import (
    IssueRequest,
    ProviderBadge,
    ProviderBadgeState,
    ProviderTemplate,
    Recipient,
)
from server.providers.errors import ProviderDuplicate, ProviderRejected

NOW = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)
SEARCH = "https://api.accredible.com/v2/credentials/search"
Connect = Callable[[list[Call]], AccredibleClient]


@pytest.fixture
async def accredible() -> AsyncIterator[Connect]:
    """`accredible(calls)`: a client (today is NOW) whose transport expects exactly `calls`."""
    scripts: list[Script] = []
    clients: list[AccredibleClient] = []

    def connect(calls: list[Call]) -> AccredibleClient:
        script = Script(ACCREDIBLE_AUTH, calls)
        scripts.append(script)
        client = AccredibleClient(ACCREDIBLE_KEY, transport=script.transport(), clock=lambda: NOW)
        clients.append(client)
        return client

    try:
        yield connect
    finally:
        for client in clients:
            await client.aclose()
    assert all(script.done() for script in scripts), "expected requests were not sent"


REQUEST = IssueRequest(
    template_external_id="7",
    recipient=Recipient(
        learner_id="learner-1", email="ada@example.com", first_name="Ada", last_name="Lovelace"
    ),
    issued_at=datetime(2026, 3, 1, 23, 30, tzinfo=UTC),
    earner_key="award-42",
    expires_at=datetime(2027, 3, 1, tzinfo=UTC),
)

ISSUE_BODY = {
    "credential": {
        "recipient": {"name": "Ada Lovelace", "email": "ada@example.com", "id": "learner-1"},
        "group_id": 7,
        "issued_on": "2026-03-01",
        "expired_on": "2027-03-01",
        "meta_data": {"badgeflow_earner_key": "award-42"},
    }
}

ISSUED = ProviderBadge(
    external_id="10000005",
    template_external_id="7",
    recipient_email="ada@example.com",
    state=ProviderBadgeState.ACCEPTED,
    issued_at=datetime(2026, 3, 1, tzinfo=UTC),
    expires_at=datetime(2027, 3, 1, tzinfo=UTC),
    earner_key="award-42",
    url="https://www.credential.net/10000005",
    updated_at=datetime(2026, 3, 1, 9, 0, 1, tzinfo=UTC),
)


def groups_page(groups: list[dict], page: int, next_page: int | None) -> dict:
    return {
        "groups": groups,
        "meta": {
            "current_page": page,
            "next_page": next_page,
            "prev_page": page - 1 if page > 1 else None,
            "total_pages": 2,
            "total_count": 3,
        },
    }


async def test_organization_name_reads_the_issuer(accredible: Connect) -> None:
    body = {"issuer": {"id": 1, "name": "Acme Academy", "url": "https://academy.example.com"}}
    client = accredible([Call("GET", "/v1/issuer/details", reply(200, body))])
    assert await client.organization_name() == "Acme Academy"


async def test_templates_page_groups_and_resolve_design_images(accredible: Connect) -> None:
    first = accredible_group(1, primary_design_id=30, badge_design_id=31)
    second = accredible_group(2, primary_design_id=None, badge_design_id=30)  # cached design
    third = accredible_group(3, primary_design_id=None, badge_design_id=None)
    fourth = accredible_group(4, primary_design_id=44, allow_duplicate_credentials=True)
    search = "/v1/issuer/groups/search"
    client = accredible(
        [
            Call(
                "POST",
                search,
                reply(200, groups_page([first, second], 1, 2)),
                json={"page": 1, "page_size": 50},
            ),
            Call("GET", "/v1/designs/30", reply(200, accredible_design(30))),
            Call(
                "POST",
                search,
                reply(200, groups_page([third, fourth], 2, None)),
                json={"page": 2, "page_size": 50},
            ),
            Call("GET", "/v1/designs/44", reply(404, {"errors": "Doesn't exist"})),
        ]
    )
    templates = [t async for t in client.templates()]
    assert templates[0] == ProviderTemplate(
        external_id="1",
        name="Course 1",
        description="About course 1",
        image_url="https://images.accredible.com/designs/30.png",
        state="active",
        url="https://academy.example.com/courses/1",
        allow_duplicates=False,
    )
    assert [t.image_url for t in templates[1:]] == [
        "https://images.accredible.com/designs/30.png",
        "",
        "",
    ]
    assert templates[3].allow_duplicates is True


async def test_issue_sends_the_documented_payload(accredible: Connect) -> None:
    client = accredible(
        [
            Call(
                "POST",
                "/v1/credentials",
                reply(200, {"credential": accredible_credential()}),
                json=ISSUE_BODY,
            )
        ]
    )
    assert await client.issue(REQUEST) == ISSUED


async def test_issue_without_expiry_sends_null(accredible: Connect) -> None:
    request = IssueRequest(
        template_external_id="7",
        recipient=REQUEST.recipient,
        issued_at=datetime(2026, 3, 1),  # naive: UTC
        earner_key="award-42",
    )
    body = {"credential": ISSUE_BODY["credential"] | {"expired_on": None}}
    reply_body = {"credential": accredible_credential(expired_on=None)}
    client = accredible([Call("POST", "/v1/credentials", reply(200, reply_body), json=body)])
    assert (await client.issue(request)).expires_at is None


async def test_duplicate_then_find_by_email_and_group(accredible: Connect) -> None:
    duplicate = {
        "errors": {
            "recipient.email": [
                "has already been taken. Your group settings do not allow duplicates of this "
                "credential to be sent to the same email."
            ]
        }
    }
    other = accredible_item(10000001, meta_data={"badgeflow_earner_key": "award-7"})
    mine = accredible_item(10000005)
    client = accredible(
        [
            Call("POST", "/v1/credentials", reply(422, duplicate), json=ISSUE_BODY),
            Call(
                "POST",
                SEARCH,
                reply(200, {"credentials": [other, mine], "meta": {"count": 2, "size": 50}}),
                json={
                    "query": {"group.id": 7, "recipient_email": "ada@example.com"},
                    "sort": {"id": "asc"},
                    "page": {"size": 50},
                },
            ),
        ]
    )
    with pytest.raises(ProviderDuplicate) as caught:
        await client.issue(REQUEST)
    assert "has already been taken" in str(caught.value)
    found = await client.find("7", "award-42", "ada@example.com")
    assert found == ProviderBadge(
        external_id="10000005",
        template_external_id="7",
        recipient_email="ada@example.com",
        state=ProviderBadgeState.ACCEPTED,
        issued_at=datetime(2026, 3, 1, tzinfo=UTC),
        earner_key="award-42",
        updated_at=datetime(2026, 3, 2, 10, tzinfo=UTC),
    )


async def test_find_without_email_uses_the_earner_key_and_may_find_nothing(
    accredible: Connect,
) -> None:
    client = accredible(
        [
            Call(
                "POST",
                SEARCH,
                reply(200, {"credentials": [], "meta": {"count": 0, "size": 50}}),
                json={
                    "query": {"group.id": 7, "meta_data": {"badgeflow_earner_key": "award-42"}},
                    "sort": {"id": "asc"},
                    "page": {"size": 50},
                },
            )
        ]
    )
    assert await client.find("7", "award-42", "") is None


async def test_revoke_expires_today(accredible: Connect) -> None:
    expired = accredible_credential(expired_on="2026-03-10")
    client = accredible(
        [
            Call(
                "PUT",
                "/v1/credentials/10000005",
                reply(200, {"credential": expired}),
                json={"credential": {"expired_on": "2026-03-10"}},
            )
        ]
    )
    badge = await client.revoke("10000005", "issued in error")
    assert (badge.state, badge.expires_at) == (
        ProviderBadgeState.EXPIRED,
        datetime(2026, 3, 10, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("expires_at", "sent"),
    [
        pytest.param(datetime(2028, 1, 31, 22, 0, tzinfo=UTC), "2028-01-31", id="a-date"),
        pytest.param(None, None, id="no-expiry"),
    ],
)
async def test_update_expiry_puts_expired_on(
    accredible: Connect, expires_at: datetime | None, sent: str | None
) -> None:
    updated = accredible_credential(expired_on=sent)
    client = accredible(
        [
            Call(
                "PUT",
                "/v1/credentials/10000005",
                reply(200, {"credential": updated}),
                json={"credential": {"expired_on": sent}},
            )
        ]
    )
    badge = await client.update_expiry("10000005", expires_at)
    assert badge.state is ProviderBadgeState.ACCEPTED
    assert badge.external_id == "10000005"  # updated in place


@pytest.mark.parametrize(
    ("fields", "state"),
    [
        pytest.param({"expired_on": "2026-03-09"}, ProviderBadgeState.EXPIRED, id="expired-past"),
        pytest.param({"expired_on": "2026-03-10"}, ProviderBadgeState.EXPIRED, id="expired-today"),
        pytest.param({"expired_on": "2026-03-11"}, ProviderBadgeState.ACCEPTED, id="expires-later"),
        pytest.param({"expired_on": None}, ProviderBadgeState.ACCEPTED, id="no-expiry"),
        pytest.param({"approve": False}, ProviderBadgeState.PENDING, id="unpublished"),
    ],
)
async def test_credential_states(
    accredible: Connect, fields: dict, state: ProviderBadgeState
) -> None:
    body = {"credential": accredible_credential(**fields)}
    client = accredible([Call("GET", "/v1/credentials/10000005", reply(200, body))])
    badge = await client.get_badge("10000005")
    assert badge is not None and badge.state is state


async def test_a_missing_credential_is_deleted(accredible: Connect) -> None:
    body = {"success": False, "data": "No credential with the id given in your account"}
    client = accredible([Call("GET", "/v1/credentials/10000005", reply(404, body))])
    assert await client.get_badge("10000005") == ProviderBadge(
        external_id="10000005",
        template_external_id="",
        recipient_email="",
        state=ProviderBadgeState.DELETED,
    )


async def test_badges_follow_the_cursor(accredible: Connect) -> None:
    query = {"updated_at[gte]": "2026-03-01T08:00:00Z"}
    client = accredible(
        [
            Call(
                "POST",
                SEARCH,
                reply(
                    200,
                    {
                        "credentials": [accredible_item(1), accredible_item(2)],
                        "meta": {"count": 3, "size": 2, "cursor": "c-1"},
                    },
                ),
                json={"query": query, "sort": {"id": "asc"}, "page": {"size": 50}},
            ),
            Call(
                "POST",
                SEARCH,
                reply(
                    200,
                    {
                        "credentials": [accredible_item(3, expired_on="2026-03-01")],
                        "meta": {"count": 3, "size": 2, "cursor": "c-2"},
                    },
                ),
                json={"query": query, "sort": {"id": "asc"}, "page": {"cursor": "c-1", "size": 50}},
            ),
            Call(
                "POST",
                SEARCH,
                reply(200, {"credentials": [], "meta": {"count": 3, "size": 2, "cursor": None}}),
                json={"query": query, "sort": {"id": "asc"}, "page": {"cursor": "c-2", "size": 50}},
            ),
        ]
    )
    since = datetime(2026, 3, 1, 9, 0, tzinfo=timezone(timedelta(hours=1)))
    badges = [b async for b in client.badges(since)]
    assert [(b.external_id, b.state) for b in badges] == [
        ("1", ProviderBadgeState.ACCEPTED),
        ("2", ProviderBadgeState.ACCEPTED),
        ("3", ProviderBadgeState.EXPIRED),
    ]


async def test_badges_without_a_bound_stop_when_the_cursor_ends(accredible: Connect) -> None:
    client = accredible(
        [
            Call(
                "POST",
                SEARCH,
                reply(200, {"credentials": [accredible_item(1)], "meta": {"count": 1}}),
                json={"query": {}, "sort": {"id": "asc"}, "page": {"size": 50}},
            )
        ]
    )
    assert [b.external_id async for b in client.badges(None)] == ["1"]


async def test_fetch_event_is_refused_without_a_request(accredible: Connect) -> None:
    with pytest.raises(ProviderRejected, match="no event feed") as caught:
        await accredible([]).fetch_event("ev-1")
    assert caught.value.status == 0


@pytest.mark.parametrize(
    ("base_url", "search"),
    [
        pytest.param(
            ACCREDIBLE_PRODUCTION,
            "https://api.accredible.com/v2/credentials/search",
            id="production",
        ),
        pytest.param(
            ACCREDIBLE_SANDBOX,
            "https://sandbox.api.accredible.com/v2/credentials/search",
            id="sandbox",
        ),
        pytest.param(ACCREDIBLE_EU, "https://eu.api.accredible.com/v2/credentials/search", id="eu"),
        pytest.param(
            "http://127.0.0.1:8080/accredible/v1/",
            "http://127.0.0.1:8080/accredible/v2/credentials/search",
            id="emulator",
        ),
    ],
)
async def test_v2_lives_beside_v1(base_url: str, search: str) -> None:
    script = Script(
        ACCREDIBLE_AUTH,
        [
            Call(
                "POST",
                search,
                reply(200, {"credentials": []}),
                json={"query": {}, "sort": {"id": "asc"}, "page": {"size": 50}},
            )
        ],
    )
    async with AccredibleClient(
        ACCREDIBLE_KEY, base_url=base_url, transport=script.transport()
    ) as client:
        assert [b async for b in client.badges(None)] == []
        assert repr(client) == f"AccredibleClient(base_url={base_url.rstrip('/')!r})"
    assert script.done()


async def test_repr_hides_the_key() -> None:
    async with AccredibleClient(ACCREDIBLE_KEY) as client:
        assert ACCREDIBLE_KEY not in repr(client)
        assert ACCREDIBLE_KEY not in repr(client._http)
        assert repr(client) == "AccredibleClient(base_url='https://api.accredible.com/v1')"


def test_constructor_requires_a_key() -> None:
    with pytest.raises(ValueError, match="required"):
        AccredibleClient("")
