"""How badgectl reaches the server: TLS with a CA file or the variables, the API key as
a bearer token (never printed), and the exit codes when the server is unreachable (5)
or refuses the key (7). A scripted server stands in where a real one cannot refuse."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest
from badgeflow.v1 import rule_service_pb2
from badgeflow_client.cli import main
from google.rpc import status_pb2

from tests.service.sdk_harness import scripted_server
from tests.service.test_sdk_tls import certificate

__all__ = ["certificate"]  # the fixture, shared with the SDK's TLS tests

RULES = rule_service_pb2.GetRulesResponse(version=3)
REFUSED = status_pb2.Status(
    code=grpc.StatusCode.UNAUTHENTICATED.value[0], message="the API key is not valid"
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("BADGEFLOW_SERVER", "BADGEFLOW_API_KEY", "BADGEFLOW_TLS", "BADGEFLOW_CA_FILE"):
        monkeypatch.delenv(name, raising=False)


async def badgectl(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        pytest.param(["--ca-file", "ca.pem", "--api-key", "k-1"], {}, id="flags"),
        pytest.param(
            [],
            {"BADGEFLOW_TLS": "1", "BADGEFLOW_CA_FILE": "ca.pem", "BADGEFLOW_API_KEY": "k-1"},
            id="env",
        ),
    ],
)
async def test_tls_with_a_ca_file_and_an_api_key(
    certificate: tuple[bytes, bytes],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    env: dict[str, str],
) -> None:
    cert, key = certificate
    Path("ca.pem").write_bytes(cert)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    tls = grpc.ssl_server_credentials([(key, cert)])
    async with scripted_server(tls, GetRules=[RULES]) as server:
        assert await badgectl("--server", server.target, *argv, "rules", "show") == 0
    assert capsys.readouterr() == ("version 3, applied at -\n", "")
    assert server.metadata["GetRules"]["authorization"] == "Bearer k-1"


async def test_tls_without_the_servers_root_cannot_connect(
    certificate: tuple[bytes, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    cert, key = certificate
    tls = grpc.ssl_server_credentials([(key, cert)])
    async with scripted_server(tls, GetRules=[RULES]) as server:
        assert await badgectl("--server", server.target, "--tls", "rules", "show") == 5
    assert server.calls["GetRules"] == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"badgectl: cannot reach badgeflow at {server.target}"


async def test_an_unreachable_server_exits_5(capsys: pytest.CaptureFixture[str]) -> None:
    assert await badgectl("--server", "127.0.0.1:1", "progress", "learner", "ada") == 5
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "badgectl: cannot reach badgeflow at 127.0.0.1:1"
    assert err[1].startswith("  (UNAVAILABLE: ")


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        pytest.param(["--api-key", "k-123"], {}, id="flag"),
        pytest.param([], {"BADGEFLOW_API_KEY": "k-123"}, id="env"),
    ],
)
async def test_a_refused_api_key_exits_7_and_is_never_printed(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    env: dict[str, str],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    async with scripted_server(GetTemplate=[REFUSED]) as server:
        code = await badgectl("--server", server.target, *argv, "templates", "show", "t")
    assert code == 7
    assert capsys.readouterr() == (
        "",
        "badgectl: the API key is not valid\n  (check --api-key or $BADGEFLOW_API_KEY)\n",
    )
    assert server.metadata["GetTemplate"]["authorization"] == "Bearer k-123"
