"""Each fault kind as an httpx client sees it over real HTTP, and whether it was applied."""

from __future__ import annotations

import time

import httpx
import pytest

from server.providers.emulator import EmulatorState, Faults, build_app
from tests.emulator.conftest import ACCREDIBLE_KEY, Credly
from tests.emulator.test_credly import badge_body


async def test_5xx_is_answered_before_applying(
    state: EmulatorState, faults: Faults, credly: Credly
) -> None:
    template = state.credly.add_template(credly.org.id, "T")
    faults.error_next = 1
    failed = await credly.client.post("/badges", json=badge_body(template.id))
    assert (failed.status_code, failed.json()) == (
        503,
        {"data": {"message": "Internal server error"}, "metadata": {}},
    )
    assert state.credly_badges(credly.org.id) == []
    retried = await credly.client.post("/badges", json=badge_body(template.id))
    assert retried.status_code == 201
    assert len(state.credly_badges(credly.org.id)) == 1


async def test_drop_applies_then_closes_without_answer(
    state: EmulatorState, faults: Faults, credly: Credly
) -> None:
    template = state.credly.add_template(credly.org.id, "T")
    faults.drop_next = 1
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        await credly.client.post("/badges", json=badge_body(template.id, issuer_earner_id="u1"))
    (badge,) = state.credly_badges(credly.org.id)
    assert badge["issuer_earner_id"] == "u1"
    resent = await credly.client.post(
        "/badges", json=badge_body(template.id, issuer_earner_id="u1")
    )
    assert (resent.status_code, resent.json()["data"]["message"]) == (
        422,
        "User already has this badge",
    )
    found = await credly.client.get("/badges", params={"filter": "issuer_earner_id::u1"})
    assert [b["id"] for b in found.json()["data"]] == [badge["id"]]
    assert faults.injected["drop"] == 1


async def test_drop_on_accredible(
    state: EmulatorState, faults: Faults, accredible: httpx.AsyncClient
) -> None:
    group = state.accredible.add_group(ACCREDIBLE_KEY, "g")
    faults.drop_next = 1
    body = {"credential": {"recipient": {"name": "A", "email": "a@x.test"}, "group_id": group.id}}
    with pytest.raises(httpx.RemoteProtocolError):
        await accredible.post("/credentials", json=body)
    assert [c["recipient"]["email"] for c in state.accredible_credentials(ACCREDIBLE_KEY)] == [
        "a@x.test"
    ]


async def test_429_with_retry_after_is_not_applied(
    state: EmulatorState, faults: Faults, accredible: httpx.AsyncClient
) -> None:
    group = state.accredible.add_group(ACCREDIBLE_KEY, "g")
    faults.rate_limit_next = 2
    faults.retry_after_seconds = 7
    body = {"credential": {"recipient": {"name": "A", "email": "a@x.test"}, "group_id": group.id}}
    answers = [await accredible.post("/credentials", json=body) for _ in range(3)]
    assert [(a.status_code, a.headers.get("retry-after")) for a in answers] == [
        (429, "7"),
        (429, "7"),
        (200, None),
    ]
    assert answers[0].json() == {"errors": "Too many requests"}
    assert len(state.accredible_credentials(ACCREDIBLE_KEY)) == 1


async def test_latency_is_added(faults: Faults, credly: Credly) -> None:
    faults.latency_ms = 300
    started = time.monotonic()
    response = await credly.client.get("")
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3
    assert faults.injected["latency"] == 1


async def test_shares_follow_the_seed(faults: Faults, credly: Credly) -> None:
    faults.error_rate = 0.3
    faults.rate_limit_rate = 0.2
    twin = Faults(seed=faults.seed, error_rate=0.3, rate_limit_rate=0.2)
    expected = [twin.decide("GET", "/v1/x").status or 200 for _ in range(30)]
    statuses = [(await credly.client.get("")).status_code for _ in range(30)]
    assert statuses == expected
    assert {429, 503, 200} == set(statuses)


@pytest.mark.parametrize(
    ("methods", "path_contains", "status"),
    [
        pytest.param(frozenset({"POST"}), "", 200, id="other-method-untouched"),
        pytest.param(frozenset(), "/badges", 200, id="other-path-untouched"),
        pytest.param(frozenset({"GET"}), "/organizations", 503, id="matching"),
    ],
)
async def test_faults_can_target_requests(
    faults: Faults, credly: Credly, methods: frozenset[str], path_contains: str, status: int
) -> None:
    faults.error_rate = 1.0
    faults.methods = methods
    faults.path_contains = path_contains
    assert (await credly.client.get("")).status_code == status


async def test_drop_in_process_raises_like_a_hang_up(state: EmulatorState) -> None:
    org = state.credly.add_organization("In process", token="t")
    transport = httpx.ASGITransport(app=build_app(state, Faults(drop_next=1)))
    async with httpx.AsyncClient(transport=transport, auth=("t", "")) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.put(
                f"http://emulator/credly/v1/organizations/{org.id}",
                json={"webhook_url": "http://hooks.test/x"},
            )
    assert org.webhook_url == "http://hooks.test/x"
