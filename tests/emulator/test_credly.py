"""Credly over real HTTP: auth, paging, filters, the badge state machine, events, webhooks."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from server.providers.emulator import EmulatorServer, EmulatorState
from tests.emulator.conftest import CREDLY_TOKEN, OTHER_CREDLY_TOKEN, Credly, WebhookReceiver

ISSUED_AT = "2026-01-05 09:41:00 -0500"
ALREADY_REPLACED = (
    "Validation failed: This badge cannot be replaced because it has already been replaced."
)


def badge_body(template_id: str, email: str = "ada@example.com", **extra: Any) -> dict[str, Any]:
    return {
        "recipient_email": email,
        "issued_to_first_name": "Ada",
        "issued_to_last_name": "Lovelace",
        "badge_template_id": template_id,
        "issued_at": ISSUED_AT,
        **extra,
    }


def error(response: httpx.Response) -> str:
    return response.json()["data"]["message"]


@pytest.mark.parametrize(
    ("auth", "org", "status", "message"),
    [
        pytest.param(None, "a", 401, "Unauthorized", id="no-credentials"),
        pytest.param(("wrong", ""), "a", 401, "Unauthorized", id="wrong-token"),
        pytest.param((OTHER_CREDLY_TOKEN, ""), "a", 401, "Unauthorized", id="other-orgs-token"),
        pytest.param(
            (CREDLY_TOKEN, ""), "unknown", 404, "Organization not found", id="unknown-org"
        ),
        pytest.param((CREDLY_TOKEN, ""), "a", 200, None, id="right-token"),
    ],
)
async def test_credly_auth(
    emulator: EmulatorServer,
    credly: Credly,
    auth: tuple[str, str] | None,
    org: str,
    status: int,
    message: str | None,
) -> None:
    org_id = credly.org.id if org == "a" else "00000000-0000-0000-0000-000000000000"
    async with httpx.AsyncClient(auth=auth) as client:
        response = await client.get(f"{emulator.credly_url}/organizations/{org_id}")
    assert response.status_code == status
    if message:
        assert error(response) == message
    else:
        assert response.json()["data"]["name"] == "Org A"
        assert response.json()["metadata"] == {}


async def test_organizations_lists_what_the_token_sees(emulator: EmulatorServer) -> None:
    async with httpx.AsyncClient(auth=(CREDLY_TOKEN, "")) as client:
        response = await client.get(f"{emulator.credly_url}/organizations")
    assert response.status_code == 200
    assert [o["name"] for o in response.json()["data"]] == ["Org A"]


def seed_templates(state: EmulatorState, org_id: str) -> None:
    for n in range(60, 0, -1):
        state.credly.add_template(org_id, f"Skill {n:02d}")
    for n in range(3):
        state.credly.add_template(org_id, f"Draft {n}", state="draft")
    for n in range(2):
        state.credly.add_template(org_id, f"Old {n}", state="archived")


async def test_active_templates_page_by_50_following_next_page_url(
    state: EmulatorState, credly: Credly
) -> None:
    seed_templates(state, credly.org.id)
    first = await credly.client.get(
        "/badge_templates", params={"filter": "state::active", "sort": "name"}
    )
    meta = first.json()["metadata"]
    assert first.status_code == 200
    base = str(credly.client.base_url).rstrip("/")
    base += "/badge_templates?filter=state%3A%3Aactive&sort=name"
    assert meta == {
        "count": 50,
        "current_page": 1,
        "total_count": 60,
        "total_pages": 2,
        "per": 50,
        "previous_page_url": None,
        "next_page_url": f"{base}&page=2",
    }
    second = await credly.client.get(meta["next_page_url"])
    names = [t["name"] for t in first.json()["data"] + second.json()["data"]]
    assert names == [f"Skill {n:02d}" for n in range(1, 61)]
    assert second.json()["metadata"]["next_page_url"] is None
    assert second.json()["metadata"]["previous_page_url"] == f"{base}&page=1"


@pytest.mark.parametrize(
    ("params", "names"),
    [
        pytest.param(
            {"filter": "state::draft", "sort": "name"},
            ["Draft 0", "Draft 1", "Draft 2"],
            id="draft",
        ),
        pytest.param(
            {"filter": "state::archived,draft", "sort": "-name"},
            ["Old 1", "Old 0", "Draft 2", "Draft 1", "Draft 0"],
            id="comma-any-of-descending",
        ),
        pytest.param({"filter": 'name::"Skill 07"'}, ["Skill 07"], id="quoted-exact-name"),
        pytest.param(
            {"filter": "state::active|name::Skill 5", "sort": "name"},
            [f"Skill 5{n}" for n in range(10)],
            id="joined-and",
        ),
        pytest.param({"filter": "query::old 1"}, ["Old 1"], id="query"),
    ],
)
async def test_template_filters(
    state: EmulatorState, credly: Credly, params: dict[str, str], names: list[str]
) -> None:
    seed_templates(state, credly.org.id)
    response = await credly.client.get("/badge_templates", params=params)
    assert [t["name"] for t in response.json()["data"]] == names


@pytest.mark.parametrize(
    ("params", "message"),
    [
        pytest.param({"filter": "colour::red"}, "Invalid filter: colour::red", id="unknown-filter"),
        pytest.param({"sort": "colour"}, "Invalid sort: colour", id="unknown-sort"),
        pytest.param({"page": "0"}, "Invalid page: 0", id="page-zero"),
    ],
)
async def test_bad_list_parameters_are_400(
    credly: Credly, params: dict[str, str], message: str
) -> None:
    response = await credly.client.get("/badge_templates", params=params)
    assert (response.status_code, error(response)) == (400, message)


async def test_template_by_id(state: EmulatorState, credly: Credly) -> None:
    template = state.credly.add_template(credly.org.id, "Python 101", allow_duplicates=True)
    found = await credly.client.get(f"/badge_templates/{template.id}")
    missing = await credly.client.get("/badge_templates/nope")
    data = found.json()["data"]
    assert (data["id"], data["state"], data["allow_duplicate_badges"]) == (
        template.id,
        "active",
        True,
    )
    assert data["owner"]["id"] == credly.org.id
    assert (missing.status_code, error(missing)) == (404, "Badge template not found")


async def test_issue_duplicate_revoke_issue_again(state: EmulatorState, credly: Credly) -> None:
    template = state.credly.add_template(credly.org.id, "Python 101")
    first = await credly.client.post("/badges", json=badge_body(template.id, issuer_earner_id="u1"))
    assert first.status_code == 201
    badge = first.json()["data"]
    assert (badge["state"], badge["issuer_earner_id"]) == ("pending", "u1")
    assert badge["issued_at"] == "2026-01-05T14:41:00.000Z"
    assert badge["accept_badge_url"].endswith(f"/badges/{badge['id']}/accept")

    same_email = await credly.client.post("/badges", json=badge_body(template.id))
    same_earner = await credly.client.post(
        "/badges", json=badge_body(template.id, "other@example.com", issuer_earner_id="u1")
    )
    for duplicate in (same_email, same_earner):
        assert (duplicate.status_code, error(duplicate)) == (422, "User already has this badge")

    revoked = await credly.client.put(f"/badges/{badge['id']}/revoke", json={"reason": "mistake"})
    assert revoked.status_code == 200
    assert (revoked.json()["data"]["state"], revoked.json()["data"]["revocation_reason"]) == (
        "revoked",
        "mistake",
    )
    again = await credly.client.post("/badges", json=badge_body(template.id, issuer_earner_id="u1"))
    assert again.status_code == 201
    assert [b["state"] for b in state.credly_badges(credly.org.id)] == ["revoked", "pending"]


async def test_template_allowing_duplicates_issues_twice(
    state: EmulatorState, credly: Credly
) -> None:
    template = state.credly.add_template(credly.org.id, "Attendance", allow_duplicates=True)
    statuses = [
        (await credly.client.post("/badges", json=badge_body(template.id))).status_code
        for _ in range(2)
    ]
    assert statuses == [201, 201]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(
            {"issued_at": ""}, "Validation failed: issued_at can't be blank", id="blank-issued-at"
        ),
        pytest.param(
            {"issued_at": "yesterday"},
            "Validation failed: issued_at is invalid",
            id="bad-issued-at",
        ),
        pytest.param(
            {"badge_template_id": "nope"},
            "Validation failed: Badge template not found",
            id="unknown-template",
        ),
        pytest.param(
            {"template": "archived"},
            "Validation failed: Badge template is archived",
            id="archived-template",
        ),
        pytest.param(
            {"template": "draft"}, "Validation failed: Badge template is draft", id="draft-template"
        ),
    ],
)
async def test_issue_validation(
    state: EmulatorState, credly: Credly, change: dict[str, str], message: str
) -> None:
    template = state.credly.add_template(credly.org.id, "T")
    if "template" in change:
        state.credly.update_template(credly.org.id, template.id, state=change.pop("template"))
    response = await credly.client.post("/badges", json={**badge_body(template.id), **change})
    assert (response.status_code, error(response)) == (422, message)
    assert state.credly_badges(credly.org.id) == []


@pytest.mark.parametrize(
    ("issued_at", "expected"),
    [
        pytest.param("2026-01-05 09:41:00 -0500", "2026-01-05T14:41:00.000Z", id="documented"),
        pytest.param("2026-01-05T14:41:00Z", "2026-01-05T14:41:00.000Z", id="iso-z"),
        pytest.param("2026-01-05", "2026-01-05T00:00:00.000Z", id="date"),
    ],
)
async def test_issue_timestamp_formats(
    state: EmulatorState, credly: Credly, issued_at: str, expected: str
) -> None:
    template = state.credly.add_template(credly.org.id, "T")
    response = await credly.client.post(
        "/badges", json={**badge_body(template.id), "issued_at": issued_at}
    )
    assert (response.json()["data"]["issued_at"], response.json()["data"]["issued_at_date"]) == (
        expected,
        "2026-01-05",
    )


async def test_issue_keeps_expiry_and_evidence(state: EmulatorState, credly: Credly) -> None:
    template = state.credly.add_template(credly.org.id, "T")
    evidence = [{"type": "UrlEvidence", "name": "Project", "value": "https://x.test/p"}]
    response = await credly.client.post(
        "/badges",
        json=badge_body(template.id, expires_at="2027-01-05 00:00:00 +0000", evidence=evidence),
    )
    data = response.json()["data"]
    assert (data["expires_at"], data["expires_at_date"]) == (
        "2027-01-05T00:00:00.000Z",
        "2027-01-05",
    )
    assert [{k: v for k, v in e.items() if k != "id"} for e in data["evidence"]] == evidence


async def test_badge_list_filters(state: EmulatorState, credly: Credly) -> None:
    t1 = state.credly.add_template(credly.org.id, "T1")
    t2 = state.credly.add_template(credly.org.id, "T2")
    ids = {}
    for name, template, earner in (("a", t1, "u1"), ("b", t2, "u1"), ("c", t1, "u2")):
        body = badge_body(template.id, f"{name}@example.com", issuer_earner_id=earner)
        ids[name] = (await credly.client.post("/badges", json=body)).json()["data"]["id"]
    state.credly.set_badge_state(credly.org.id, ids["c"], "accepted")
    state.credly.set_badge_state(credly.org.id, ids["b"], "rejected")

    async def listed(filter_: str) -> list[str]:
        response = await credly.client.get("/badges", params={"filter": filter_})
        return [b["id"] for b in response.json()["data"]]

    assert await listed(f"issuer_earner_id::u1|badge_template_id::{t1.id}") == [ids["a"]]
    assert await listed("state::pending,accepted") == [ids["a"], ids["c"]]
    assert await listed("recipient_email::B@example.com") == [ids["b"]]
    found = await credly.client.get(f"/badges/{ids['c']}")
    assert found.json()["data"]["state"] == "accepted"


async def test_replace_chain(state: EmulatorState, credly: Credly) -> None:
    template = state.credly.add_template(credly.org.id, "T")
    a = (
        await credly.client.post("/badges", json=badge_body(template.id, issuer_earner_id="u1"))
    ).json()["data"]
    body = {"badge_template_id": template.id, "issued_at": ISSUED_AT, "expires_at": "2027-01-01"}
    b = (await credly.client.post(f"/badges/{a['id']}/replace", json=body)).json()["data"]
    assert b["id"] != a["id"]
    assert (b["replaces_badge_id"], b["recipient_email"], b["issuer_earner_id"]) == (
        a["id"],
        "ada@example.com",
        "u1",
    )
    assert b["expires_at"] == "2027-01-01T00:00:00.000Z"
    old = (await credly.client.get(f"/badges/{a['id']}")).json()["data"]
    assert old["replacement_badge_id"] == b["id"]
    c = (await credly.client.post(f"/badges/{b['id']}/replace", json=body)).json()["data"]

    again = await credly.client.post(f"/badges/{a['id']}/replace", json=body)
    assert again.status_code == 422
    assert again.json() == {
        "data": {"message": ALREADY_REPLACED},
        "metadata": {"current_badge_id": c["id"]},
    }
    revoke_old = await credly.client.put(f"/badges/{a['id']}/revoke", json={"reason": "x"})
    assert (revoke_old.status_code, revoke_old.json()["metadata"]) == (
        422,
        {"current_badge_id": c["id"]},
    )
    duplicate = await credly.client.post("/badges", json=badge_body(template.id))
    assert error(duplicate) == "User already has this badge"
    assert [b["replacement_badge_id"] for b in state.credly_badges(credly.org.id)] == [
        b["id"],
        c["id"],
        None,
    ]


async def test_revoke_needs_a_reason(state: EmulatorState, credly: Credly) -> None:
    template = state.credly.add_template(credly.org.id, "T")
    badge = (await credly.client.post("/badges", json=badge_body(template.id))).json()["data"]
    response = await credly.client.put(f"/badges/{badge['id']}/revoke", json={})
    assert (response.status_code, error(response)) == (
        422,
        "Validation failed: Reason can't be blank",
    )


async def test_delete_badge(state: EmulatorState, credly: Credly) -> None:
    template = state.credly.add_template(credly.org.id, "T")
    badge = (await credly.client.post("/badges", json=badge_body(template.id))).json()["data"]
    deleted = await credly.client.delete(f"/badges/{badge['id']}")
    gone = await credly.client.get(f"/badges/{badge['id']}")
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert (gone.status_code, error(gone)) == (404, "Badge not found")
    assert state.credly_badges(credly.org.id) == []


async def test_events_recorded_and_fetchable(state: EmulatorState, credly: Credly) -> None:
    template = state.credly.add_template(credly.org.id, "T")
    badge = (await credly.client.post("/badges", json=badge_body(template.id))).json()["data"]
    state.credly.set_badge_state(credly.org.id, badge["id"], "accepted")
    state.credly.update_template(credly.org.id, template.id, state="archived")
    await credly.client.delete(f"/badges/{badge['id']}")
    state.credly.delete_template(credly.org.id, template.id)

    listed = (await credly.client.get("/events")).json()
    assert [e["event_type"] for e in listed["data"]] == [
        "badge_template.created",
        "badge.created",
        "badge.state.changed",
        "badge_template.changed",
        "badge.deleted",
        "badge_template.deleted",
    ]
    changed = listed["data"][2]
    fetched = (await credly.client.get(f"/events/{changed['id']}")).json()["data"]
    assert (fetched["organization_id"], fetched["badge"]["id"], fetched["badge"]["state"]) == (
        credly.org.id,
        badge["id"],
        "accepted",
    )
    archived = (await credly.client.get(f"/events/{listed['data'][3]['id']}")).json()["data"]
    assert (archived["badge_template"]["state"], archived["badge_template"]["owner"]["id"]) == (
        "archived",
        credly.org.id,
    )
    missing = await credly.client.get("/events/nope")
    assert (missing.status_code, error(missing)) == (404, "Event not found")


async def test_webhooks_delivered_thin_and_resendable(
    state: EmulatorState, credly: Credly, receiver: WebhookReceiver
) -> None:
    state.set_webhook(credly.org.id, receiver.url)
    template = state.credly.add_template(credly.org.id, "T")
    badge = (await credly.client.post("/badges", json=badge_body(template.id))).json()["data"]
    state.credly.set_badge_state(credly.org.id, badge["id"], "rejected")

    received = await receiver.wait_for(3)
    events = state.credly_events(credly.org.id)
    assert received == [e.notification() for e in events]
    assert list(received[2]) == ["id", "organization_id", "event_type", "occurred_at"]
    assert received[2]["event_type"] == "badge.state.changed"

    state.resend_webhook(credly.org.id, events[1].id)
    assert (await receiver.wait_for(4))[3]["id"] == events[1].id
    await state.webhooks.drain()
    assert [d.status for d in state.webhooks.deliveries] == [200, 200, 200, 200]


async def test_webhook_sent_twice_when_told(
    state: EmulatorState, credly: Credly, receiver: WebhookReceiver
) -> None:
    state.set_webhook(credly.org.id, receiver.url)
    state.webhooks.send_twice = True
    state.credly.add_template(credly.org.id, "T")
    received = await receiver.wait_for(2)
    (event,) = state.credly_events(credly.org.id)
    assert received == [event.notification()] * 2


async def test_webhook_to_a_dead_url_is_recorded(state: EmulatorState, credly: Credly) -> None:
    state.set_webhook(credly.org.id, "http://127.0.0.1:9/closed")
    state.credly.add_template(credly.org.id, "T")
    await state.webhooks.drain()
    assert [(d.status, d.error) for d in state.webhooks.deliveries] == [(None, "ConnectError")]


async def test_webhook_url_set_through_the_organization_api(
    state: EmulatorState, credly: Credly, receiver: WebhookReceiver
) -> None:
    updated = await credly.client.put("", json={"webhook_url": receiver.url})
    assert updated.json()["data"]["webhook_url"] == receiver.url
    template = state.credly.add_template(credly.org.id, "T")
    (received,) = await receiver.wait_for(1)
    event = (await credly.client.get(f"/events/{received['id']}")).json()["data"]
    assert (event["event_type"], event["badge_template"]["id"]) == (
        "badge_template.created",
        template.id,
    )
