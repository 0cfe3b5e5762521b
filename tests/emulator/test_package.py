"""The package surface, the demo seed and the standalone command."""

from __future__ import annotations

import asyncio
import signal
import sys

import httpx

import server.providers.emulator as emulator_package
from server.providers.emulator import (
    DEMO_ACCREDIBLE_KEY,
    DEMO_CREDLY_ORG_ID,
    DEMO_CREDLY_TOKEN,
    EmulatorServer,
    EmulatorState,
    seed_demo,
)
from tests.emulator.conftest import WAIT_SECONDS


def test_all_lists_the_public_names() -> None:
    public = {
        name
        for name, value in vars(emulator_package).items()
        if not name.startswith("_")
        and getattr(value, "__module__", "").startswith("server.providers.emulator.")
    }
    constants = {name for name in vars(emulator_package) if name.isupper()}
    assert sorted(emulator_package.__all__) == sorted(public | constants)


async def test_demo_seed_over_http() -> None:
    state = EmulatorState()
    demo = seed_demo(state)
    async with EmulatorServer(state) as server:
        async with httpx.AsyncClient(auth=(demo.credly_token, "")) as client:
            url = f"{server.credly_url}/organizations/{demo.credly_organization_id}/badge_templates"
            first = await client.get(url, params={"filter": "state::active"})
            second = await client.get(first.json()["metadata"]["next_page_url"])
            other = await client.get(url, params={"filter": "state::draft,archived"})
        headers = {"Authorization": f"Token token={demo.accredible_key}"}
        async with httpx.AsyncClient(base_url=server.accredible_url, headers=headers) as client:
            groups = (await client.post("/issuer/groups/search", json={})).json()["groups"]
            design = (await client.get(f"/designs/{groups[0]['primary_design_id']}")).json()
    assert (len(first.json()["data"]), len(second.json()["data"])) == (50, 5)
    assert sorted(t["state"] for t in other.json()["data"]) == ["archived", "draft"]
    assert [g["course_name"] for g in groups] == ["Demo Course 1", "Demo Course 2", "Demo Course 3"]
    assert design["design"]["name"] == "Demo Design 1"


async def test_standalone_command_prints_urls_and_demo_credentials() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.providers.emulator",
        "--seed-demo",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        async with asyncio.timeout(WAIT_SECONDS * 2):
            lines = [(await process.stdout.readline()).decode().split() for _ in range(5)]
        printed = {" ".join(words[:-1]): words[-1] for words in lines}
        assert printed["credly organization id:"] == DEMO_CREDLY_ORG_ID
        assert printed["credly token:"] == DEMO_CREDLY_TOKEN
        assert printed["accredible key:"] == DEMO_ACCREDIBLE_KEY
        async with httpx.AsyncClient(auth=(DEMO_CREDLY_TOKEN, "")) as client:
            response = await client.get(f"{printed['credly:']}/organizations")
        assert [o["id"] for o in response.json()["data"]] == [DEMO_CREDLY_ORG_ID]
    finally:
        process.terminate()
        # uvicorn shuts down, then re-raises the signal it captured: the usual exit by SIGTERM
        assert await process.wait() == -signal.SIGTERM
