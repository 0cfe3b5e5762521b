"""The real server over TLS (BADGEFLOW_TLS_CERT_FILE / _KEY_FILE), with auth on: the SDK
and badgectl connect with the CA file, a plaintext or untrusting client cannot; with
BADGEFLOW_TLS_CLIENT_CA_FILE only clients with a certificate of that CA get in."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from badgeflow.v1 import rule_service_pb2, rule_service_pb2_grpc
from badgeflow_client import Unavailable
from badgeflow_client import cli as badgectl
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from server.app import App, build_server
from server.auth import Role
from server.settings import SettingsError
from tests.service.conftest import add_keys, secured_settings
from tests.service.sdk_harness import FLAVOURS, invoke


@dataclass(frozen=True)
class Pki:
    """PEM files of a test CA, a server certificate for 127.0.0.1, and a client's."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None,
    issuer_key: ec.EllipticCurvePrivateKey,
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.subject if issuer is not None else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if subject == "127.0.0.1":
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("badgeflow test CA", ca_key, None, ca_key)
    files = {"ca": ca.public_bytes(serialization.Encoding.PEM)}
    for role, subject in (("server", "127.0.0.1"), ("client", "lms-prod")):
        key = ec.generate_private_key(ec.SECP256R1())
        files[f"{role}_cert"] = _certificate(subject, key, ca, ca_key).public_bytes(
            serialization.Encoding.PEM
        )
        files[f"{role}_key"] = _key_pem(key)
    for name, pem in files.items():
        (folder / f"{name}.pem").write_bytes(pem)
    return Pki(**{name: folder / f"{name}.pem" for name in files})


@dataclass
class TlsServer:
    app: App
    keys: dict[Role, str]

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.app.port}"


async def _start(sqlite_url: str, pki: Pki, mutual: bool) -> TlsServer:
    settings = secured_settings(
        sqlite_url,
        tls_cert_file=str(pki.server_cert),
        tls_key_file=str(pki.server_key),
        tls_client_ca_file=str(pki.ca) if mutual else "",
    )
    app = await build_server(settings)
    keys, _ = await add_keys(app)
    return TlsServer(app, keys)


@pytest.fixture
async def tls_server(sqlite_url: str, pki: Pki) -> AsyncIterator[TlsServer]:
    started = await _start(sqlite_url, pki, mutual=False)
    try:
        yield started
    finally:
        await started.app.stop(1.0)


@pytest.fixture
async def mtls_server(sqlite_url: str, pki: Pki) -> AsyncIterator[TlsServer]:
    started = await _start(sqlite_url, pki, mutual=True)
    try:
        yield started
    finally:
        await started.app.stop(1.0)


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_the_sdk_connects_with_the_ca_and_a_key(
    flavour: str, tls_server: TlsServer, pki: Pki
) -> None:
    options = {
        "tls": True,
        "root_certificates": pki.ca.read_bytes(),
        "api_key": tls_server.keys[Role.ADMIN],
    }
    keys = await invoke(flavour, tls_server.target, "list_api_keys", options=options)
    assert sorted(k.name for k in keys) == ["admin-key", "publisher-key", "reader-key"]


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({}, id="plaintext"),
        pytest.param({"tls": True}, id="tls-without-the-ca"),
    ],
)
@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_client_that_does_not_trust_the_ca_cannot_connect(
    flavour: str, options: dict[str, object], tls_server: TlsServer
) -> None:
    options = {**options, "api_key": tls_server.keys[Role.ADMIN], "timeout": 5, "retries": False}
    with pytest.raises(Unavailable):
        await invoke(flavour, tls_server.target, "get_rules", options=options)


async def test_badgectl_connects_with_the_ca_file(
    tls_server: TlsServer,
    pki: Pki,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BADGEFLOW_API_KEY", tls_server.keys[Role.READER])
    argv = ["--server", tls_server.target, "--ca-file", str(pki.ca), "--json", "rules", "show"]
    assert await asyncio.to_thread(badgectl.main, argv) == 0
    assert capsys.readouterr() == ("{}\n", "")  # rules version 0: every field default


async def _get_rules(target: str, credentials: grpc.ChannelCredentials, key: str) -> int:
    async with grpc.aio.secure_channel(target, credentials) as channel:
        stub = rule_service_pb2_grpc.RuleServiceStub(channel)
        reply = await stub.GetRules(
            rule_service_pb2.GetRulesRequest(),
            metadata=(("authorization", f"Bearer {key}"),),
            timeout=5,
        )
        return reply.version


async def test_mutual_tls_needs_a_client_certificate_of_the_ca(
    mtls_server: TlsServer, pki: Pki
) -> None:
    key = mtls_server.keys[Role.READER]
    with_cert = grpc.ssl_channel_credentials(
        pki.ca.read_bytes(), pki.client_key.read_bytes(), pki.client_cert.read_bytes()
    )
    assert await _get_rules(mtls_server.target, with_cert, key) == 0
    without_cert = grpc.ssl_channel_credentials(pki.ca.read_bytes())
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _get_rules(mtls_server.target, without_cert, key)
    assert refused.value.code() is grpc.StatusCode.UNAVAILABLE


async def test_an_unreadable_certificate_stops_the_start(sqlite_url: str, tmp_path: Path) -> None:
    settings = secured_settings(
        sqlite_url,
        tls_cert_file=str(tmp_path / "missing.pem"),
        tls_key_file=str(tmp_path / "missing.key"),
    )
    with pytest.raises(SettingsError) as raised:
        await build_server(settings)
    assert str(raised.value) == (
        f"cannot read tls_cert_file {tmp_path / 'missing.pem'}: No such file or directory"
    )
