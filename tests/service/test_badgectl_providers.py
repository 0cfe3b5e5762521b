"""badgectl providers / issuances / badges against a real server and the emulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from badgeflow_client.cli import main

from server.providers.emulator import (
    DEMO_CREDLY_ORG_ID,
    DEMO_CREDLY_TOKEN,
    EmulatorServer,
    EmulatorState,
    seed_demo,
)

CONNECTION = f"credly:{DEMO_CREDLY_ORG_ID}"


@pytest.fixture
async def emulator() -> AsyncIterator[EmulatorServer]:
    state = EmulatorState()
    seed_demo(state)
    async with EmulatorServer(state) as server:
        yield server


async def test_the_provider_commands(
    target: str,
    emulator: EmulatorServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def run(*argv: str) -> int:
        return await asyncio.to_thread(main, ["--server", target, *argv])

    connect = [
        "providers",
        "connect",
        "credly",
        DEMO_CREDLY_ORG_ID,
        "--base-url",
        emulator.credly_url,
    ]
    monkeypatch.delenv("BADGEFLOW_PROVIDER_TOKEN", raising=False)
    assert await run(*connect) == 2
    assert capsys.readouterr().err == (
        "badgectl: no token: set $BADGEFLOW_PROVIDER_TOKEN or pass --token-file FILE\n"
    )
    monkeypatch.setenv("BADGEFLOW_PROVIDER_TOKEN", "wrong")
    assert await run(*connect) == 2
    assert "credly refused the token" in capsys.readouterr().err

    monkeypatch.setenv("BADGEFLOW_PROVIDER_TOKEN", DEMO_CREDLY_TOKEN)
    assert await run(*connect) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"connected {CONNECTION}  active  Demo Academy  {emulator.credly_url}"
    assert out[1] == "55 new template(s), inactive until activated"
    assert DEMO_CREDLY_TOKEN not in "".join(out)

    assert await run("providers", "list") == 0
    assert capsys.readouterr().out == (
        "ID                                           STATE   NAME          API\n"
        f"{CONNECTION}  active  Demo Academy  {emulator.credly_url}\n"
    )
    emulator.state.credly.add_template(DEMO_CREDLY_ORG_ID, "Late Addition", template_id="late-1")
    assert await run("providers", "sync", CONNECTION) == 0
    assert capsys.readouterr().out == (
        f"synced {CONNECTION}: 1 created, 0 updated, 0 deactivated\n  created credly:late-1\n"
    )
    assert await run("issuances", "list", "--state", "failed") == 0
    assert await run("badges", "provider", "--learner", "ada") == 0
    assert capsys.readouterr().out == (
        "ID  STATE  ACTION  AWARD  TEMPLATE  ATTEMPTS  NEXT TRY  DETAIL\n"
        "BADGE  STATE  RECIPIENT  TEMPLATE  ISSUED  EXPIRES  AWARD\n"
    )
    assert await run("badges", "provider") == 2
    assert await run("badges", "revoke", "999", "--reason", "test") == 3
    assert await run("providers", "disconnect", CONNECTION) == 0
    assert capsys.readouterr().out.endswith(f"disconnected {CONNECTION}\n")
    assert await run("providers", "sync", CONNECTION) == 4
