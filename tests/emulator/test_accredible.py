"""Accredible over real HTTP: key auth, groups scoped per key, designs, credentials, v2 search."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from server.providers.accredible import AccredibleClient
from server.providers.emulator import EmulatorServer, EmulatorState
from server.providers.emulator.accredible_store import DUPLICATE_MESSAGE
from tests.emulator.conftest import ACCREDIBLE_KEY, OTHER_ACCREDIBLE_KEY


def credential(group_id: int, email: str = "ada@example.com", **extra: Any) -> dict[str, Any]:
    recipient = {"name": "Ada Lovelace", "email": email, "id": "u1"}
    return {"credential": {"recipient": recipient, "group_id": group_id, **extra}}


@pytest.mark.parametrize(
    ("header", "status"),
    [
        pytest.param(None, 401, id="missing"),
        pytest.param("Token token=wrong", 401, id="wrong-key"),
        pytest.param(f"Basic {ACCREDIBLE_KEY}", 401, id="wrong-scheme"),
        pytest.param(f"Token token={ACCREDIBLE_KEY}", 200, id="documented-form"),
        pytest.param(f"Token {ACCREDIBLE_KEY}", 200, id="plugin-form"),
        pytest.param(f"Bearer {ACCREDIBLE_KEY}", 200, id="bearer-form"),
    ],
)
async def test_accredible_auth(emulator: EmulatorServer, header: str | None, status: int) -> None:
    headers = {"Authorization": header} if header else {}
    async with httpx.AsyncClient(headers=headers) as client:
        response = await client.post(f"{emulator.accredible_url}/issuer/groups/search", json={})
    assert response.status_code == status
    if status == 401:
        assert (response.headers["content-type"], response.text) == (
            "text/plain; charset=utf-8",
            "HTTP Token: Access denied.\n",
        )


async def test_groups_are_scoped_per_key_and_paged(
    state: EmulatorState, accredible: httpx.AsyncClient
) -> None:
    mine = [state.accredible.add_group(ACCREDIBLE_KEY, f"g{n:02d}").id for n in range(60)]
    other = state.accredible.add_group(OTHER_ACCREDIBLE_KEY, "theirs").id

    first = (await accredible.post("/issuer/groups/search", json={"page": 1})).json()
    second = (await accredible.post("/issuer/groups/search", json={"page": 2})).json()
    assert first["meta"] == {
        "current_page": 1,
        "next_page": 2,
        "prev_page": None,
        "total_pages": 2,
        "total_count": 60,
    }
    assert (second["meta"]["next_page"], second["meta"]["prev_page"]) == (None, 1)
    assert [g["id"] for g in first["groups"] + second["groups"]] == mine
    hidden = await accredible.get(f"/issuer/groups/{other}")
    assert (hidden.status_code, hidden.json()) == (
        404,
        {"success": False, "data": "Group does not exist"},
    )


async def test_group_search_by_name_and_page_size(
    state: EmulatorState, accredible: httpx.AsyncClient
) -> None:
    for name in ("python-101", "python-201", "rust-101"):
        state.accredible.add_group(ACCREDIBLE_KEY, name)
    response = await accredible.post(
        "/issuer/groups/search", json={"name": "PYTHON", "page_size": 1, "page": 2}
    )
    body = response.json()
    assert [g["name"] for g in body["groups"]] == ["python-201"]
    assert (body["meta"]["total_count"], body["meta"]["total_pages"]) == (2, 2)


async def test_design_of_a_group(state: EmulatorState, accredible: httpx.AsyncClient) -> None:
    design = state.accredible.add_design(ACCREDIBLE_KEY, "Blue")
    group = state.accredible.add_group(ACCREDIBLE_KEY, "g", design_id=design.id)
    foreign = state.accredible.add_design(OTHER_ACCREDIBLE_KEY, "Red")
    got = (await accredible.get(f"/issuer/groups/{group.id}")).json()["group"]
    found = (await accredible.get(f"/designs/{got['primary_design_id']}")).json()["design"]
    assert (found["id"], found["kind"], found["groups"]) == (design.id, "badge", [group.id])
    assert found["rasterized_content_url"].endswith(f"/designs/{design.id}/rasterized.png")
    missing = await accredible.get(f"/designs/{foreign.id}")
    assert (missing.status_code, missing.json()) == (404, {"errors": "Doesn't exist"})


async def test_credential_create_duplicate_update_delete(
    state: EmulatorState, accredible: httpx.AsyncClient
) -> None:
    group = state.accredible.add_group(ACCREDIBLE_KEY, "g", course_name="Python 101")
    other_group = state.accredible.add_group(ACCREDIBLE_KEY, "h")
    created = await accredible.post(
        "/credentials", json=credential(group.id, issued_on="2026-01-05")
    )
    assert created.status_code == 200
    cred = created.json()["credential"]
    assert (cred["group_id"], cred["name"], cred["issued_on"], cred["expired_on"]) == (
        group.id,
        "Python 101",
        "2026-01-05",
        None,
    )
    assert cred["recipient"] == {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "id": "u1",
        "phone_number": None,
        "meta_data": {},
    }

    duplicate = await accredible.post("/credentials", json=credential(group.id, "ADA@example.com"))
    assert (duplicate.status_code, duplicate.json()) == (
        422,
        {"errors": {"recipient.email": [DUPLICATE_MESSAGE]}},
    )
    elsewhere = await accredible.post("/credentials", json=credential(other_group.id))
    assert elsewhere.status_code == 200

    updated = await accredible.put(
        f"/credentials/{cred['id']}", json={"credential": {"expired_on": "2026-02-01"}}
    )
    assert updated.json()["credential"]["expired_on"] == "2026-02-01"
    fetched = (await accredible.get(f"/credentials/{cred['id']}")).json()["credential"]
    assert fetched["expired_on"] == "2026-02-01"

    deleted = await accredible.delete(f"/credentials/{cred['id']}")
    gone = await accredible.get(f"/credentials/{cred['id']}")
    assert (deleted.status_code, deleted.json()["credential"]["id"]) == (200, cred["id"])
    assert (gone.status_code, gone.json()) == (
        404,
        {"success": False, "data": "No credential with the id given in your account"},
    )
    again = await accredible.post("/credentials", json=credential(group.id))
    assert again.status_code == 200
    assert [c["group_id"] for c in state.accredible_credentials(ACCREDIBLE_KEY)] == [
        other_group.id,
        group.id,
    ]


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        pytest.param(
            {"credential": {"group_id": 1}},
            "Can not create credential without recipient data",
            id="no-recipient",
        ),
        pytest.param(credential(999_999), "Invalid Group", id="unknown-group"),
        pytest.param("foreign-group", "Invalid Group", id="another-keys-group"),
        pytest.param("blank-email", {"recipient.email": ["can't be blank"]}, id="blank-email"),
    ],
)
async def test_credential_create_rejected(
    state: EmulatorState, accredible: httpx.AsyncClient, body: Any, errors: Any
) -> None:
    group = state.accredible.add_group(ACCREDIBLE_KEY, "g")
    if body == "foreign-group":
        body = credential(state.accredible.add_group(OTHER_ACCREDIBLE_KEY, "x").id)
    elif body == "blank-email":
        body = credential(group.id, email=" ")
    response = await accredible.post("/credentials", json=body)
    assert (response.status_code, response.json()) == (422, {"errors": errors})
    assert state.accredible_credentials(ACCREDIBLE_KEY) == []


async def test_credential_search_v2(
    emulator: EmulatorServer, state: EmulatorState, accredible: httpx.AsyncClient
) -> None:
    g1 = state.accredible.add_group(ACCREDIBLE_KEY, "g1")
    g2 = state.accredible.add_group(ACCREDIBLE_KEY, "g2")
    ids = []
    for n in range(5):
        body = credential(g1.id if n < 4 else g2.id, f"user{n}@example.com")
        ids.append((await accredible.post("/credentials", json=body)).json()["credential"]["id"])
    await accredible.put(
        f"/credentials/{ids[0]}", json={"credential": {"expired_on": "2026-03-01"}}
    )
    changed_at = state.accredible_credentials(ACCREDIBLE_KEY)[0]["updated_at"]
    search = f"{emulator.base_url}/accredible/v2/credentials/search"

    async def hits(body: dict[str, Any]) -> tuple[list[int], dict[str, Any]]:
        response = await accredible.post(search, json=body)
        assert response.status_code == 200
        return [c["id"] for c in response.json()["credentials"]], response.json()["meta"]

    by_email, _ = await hits({"query": {"recipient_email": "USER4@example.com", "group.id": g2.id}})
    assert by_email == [ids[4]]
    assert (await hits({"query": {"updated_at[gte]": changed_at}}))[0] == [ids[0]]
    assert (await hits({"query": {"group.id[in]": [g1.id]}, "sort": {"id": "desc"}}))[0] == ids[
        3::-1
    ]

    page1, meta1 = await hits({"query": {"group.id": g1.id}, "page": {"size": 3}})
    page2, meta2 = await hits(
        {"query": {"group.id": g1.id}, "page": {"size": 3, "cursor": meta1["cursor"]}}
    )
    assert (page1, page2) == (ids[:3], ids[3:4])
    assert (meta1["count"], meta1["from"], meta2["from"], meta2["cursor"]) == (4, 0, 3, None)
    flat = (await accredible.post(search, json={"query": {"uuid": "x"}})).json()
    assert flat == {"credentials": [], "meta": {"count": 0, "from": 0, "size": 50, "cursor": None}}


async def test_credential_search_rejects_unknown_fields(
    emulator: EmulatorServer, accredible: httpx.AsyncClient
) -> None:
    response = await accredible.post(
        f"{emulator.base_url}/accredible/v2/credentials/search", json={"query": {"colour": "red"}}
    )
    assert (response.status_code, response.json()) == (
        400,
        {
            "code": 400,
            "message": "Unsupported query field: colour",
            "status": "invalid_search_query",
            "errors": {},
        },
    )


async def test_update_into_a_duplicate_is_rejected(
    state: EmulatorState, accredible: httpx.AsyncClient
) -> None:
    group = state.accredible.add_group(ACCREDIBLE_KEY, "g")
    await accredible.post("/credentials", json=credential(group.id, "a@x.test"))
    second = (await accredible.post("/credentials", json=credential(group.id, "b@x.test"))).json()
    cid = second["credential"]["id"]
    clash = await accredible.put(
        f"/credentials/{cid}", json={"credential": {"recipient": {"email": "A@x.test"}}}
    )
    renamed = await accredible.patch(
        f"/credentials/{cid}", json={"credential": {"recipient": {"name": "Bea"}}}
    )
    assert (clash.status_code, clash.json()) == (
        422,
        {"errors": {"recipient.email": [DUPLICATE_MESSAGE]}},
    )
    assert renamed.json()["credential"]["recipient"]["name"] == "Bea"
    assert renamed.json()["credential"]["recipient"]["email"] == "b@x.test"


async def test_issuer_details_name_the_account_of_the_key() -> None:
    state = EmulatorState()
    state.accredible.add_configuration("Night School", key="k-1")
    async with EmulatorServer(state) as server:
        client = AccredibleClient("k-1", base_url=server.accredible_url)
        try:
            assert await client.organization_name() == "Night School"
        finally:
            await client.aclose()
