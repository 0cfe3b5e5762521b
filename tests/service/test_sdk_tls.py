"""`tls=True` opens a TLS channel checked against the given roots, in both clients,
against a scripted server with a self-signed certificate for 127.0.0.1."""

from __future__ import annotations

import datetime
import ipaddress

import grpc
import pytest
from badgeflow.v1 import rule_service_pb2
from badgeflow_client import Unavailable
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.service.sdk_harness import FLAVOURS, invoke, scripted_server

RULES = rule_service_pb2.GetRulesResponse(version=3)


@pytest.fixture(scope="module")
def certificate() -> tuple[bytes, bytes]:
    """A self-signed certificate for 127.0.0.1 and its key, both PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "badgeflow test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_tls_with_the_servers_root(flavour: str, certificate: tuple[bytes, bytes]) -> None:
    cert, key = certificate
    tls = grpc.ssl_server_credentials([(key, cert)])
    async with scripted_server(tls, GetRules=[RULES]) as server:
        options = {"tls": True, "root_certificates": cert, "api_key": "k"}
        rules = await invoke(flavour, server.target, "get_rules", options=options)
    assert rules.version == 3
    assert server.metadata["GetRules"]["authorization"] == "Bearer k"


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_tls_refuses_an_unknown_certificate(
    flavour: str, certificate: tuple[bytes, bytes]
) -> None:
    cert, key = certificate
    tls = grpc.ssl_server_credentials([(key, cert)])
    async with scripted_server(tls, GetRules=[RULES]) as server:
        with pytest.raises(Unavailable):
            await invoke(flavour, server.target, "get_rules", options={"tls": True})
    assert server.calls["GetRules"] == 0


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_plaintext_client_cannot_talk_to_a_tls_server(
    flavour: str, certificate: tuple[bytes, bytes]
) -> None:
    cert, key = certificate
    async with scripted_server(grpc.ssl_server_credentials([(key, cert)])) as server:
        with pytest.raises(Unavailable):
            await invoke(flavour, server.target, "get_rules", options={"timeout": 5})
