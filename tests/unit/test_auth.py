"""Roles, the RPC → role table, key format and the key cache; no I/O."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import re
from datetime import UTC, datetime
from pathlib import Path

import badgeflow.v1
import grpc
import pytest
from google.rpc import error_details_pb2

from server.auth import (
    KEY_PREFIX,
    OPEN_SERVICES,
    RPC_ROLES,
    KeyVerifier,
    Principal,
    Role,
    hash_key,
    new_key,
    parse_key_id,
    required_role,
)
from server.errors import PermissionDenied, Unauthenticated, to_status
from server.settings import SettingsError, load_settings
from server.store.api_keys import ApiKeyRecord

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def every_rpc() -> set[str]:
    """Every RPC of every service in the generated contract (each *_service_pb2)."""
    methods = set()
    for module_info in pkgutil.iter_modules(badgeflow.v1.__path__):
        if not module_info.name.endswith("_service_pb2"):
            continue
        module = importlib.import_module(f"badgeflow.v1.{module_info.name}")
        for service in module.DESCRIPTOR.services_by_name.values():
            methods |= {f"/{service.full_name}/{m.name}" for m in service.methods}
    return methods


def test_every_rpc_of_the_contract_has_a_role_in_the_table() -> None:
    rpcs = every_rpc()
    assert len(rpcs) == 29
    assert sorted(rpcs - set(RPC_ROLES)) == []  # a new RPC needs its row
    assert sorted(set(RPC_ROLES) - rpcs) == []


def test_publishers_send_events_and_readers_read() -> None:
    by_role = {role: sorted(m for m, r in RPC_ROLES.items() if r is role) for role in Role}
    assert by_role[Role.PUBLISHER] == [
        "/badgeflow.v1.EventService/PublishEvents",
        "/badgeflow.v1.EventService/StreamEvents",
    ]
    assert by_role[Role.READER] == [
        "/badgeflow.v1.ProgressService/GetLearnerBadges",
        "/badgeflow.v1.ProgressService/GetLearnerProgress",
        "/badgeflow.v1.ProgressService/ListLearnerAwards",
        "/badgeflow.v1.ProgressService/ListTemplateProgress",
        "/badgeflow.v1.ProgressService/WatchAwards",
        "/badgeflow.v1.RuleService/GetRules",
        "/badgeflow.v1.RuleService/ValidateRules",
        "/badgeflow.v1.TemplateService/GetTemplate",
        "/badgeflow.v1.TemplateService/ListTemplates",
    ]
    assert len(by_role[Role.ADMIN]) == 29 - 2 - 9


@pytest.mark.parametrize(
    ("key_role", "required", "allowed"),
    [
        pytest.param(key, need, key is Role.ADMIN or key is need, id=f"{key}-calls-{need}")
        for key in Role
        for need in Role
    ],
)
def test_admin_may_do_everything_the_others_only_their_own(
    key_role: Role, required: Role, allowed: bool
) -> None:
    assert key_role.allows(required) is allowed


@pytest.mark.parametrize(
    ("method", "role"),
    [
        pytest.param("/grpc.health.v1.Health/Check", None, id="health"),
        pytest.param("/grpc.health.v1.Health/Watch", None, id="health-watch"),
        pytest.param(
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
            None,
            id="reflection",
        ),
        pytest.param("/badgeflow.v1.EventService/PublishEvents", Role.PUBLISHER, id="publish"),
        pytest.param("/badgeflow.v1.KeyService/CreateApiKey", Role.ADMIN, id="keys"),
        pytest.param("/badgeflow.v1.Future/Rpc", Role.ADMIN, id="not-in-the-table"),
    ],
)
def test_required_role(method: str, role: Role | None) -> None:
    assert required_role(method) is role
    assert "grpc.health.v1.Health" in OPEN_SERVICES


def test_a_new_key_is_random_well_formed_and_hashed() -> None:
    key_id, key = new_key()
    assert re.fullmatch(r"bfk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", key)
    assert parse_key_id(key) == key_id
    assert new_key() != new_key()
    assert hash_key(key) == hash_key(key) and len(hash_key(key)) == 64
    assert key not in hash_key(key)


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("", id="empty"),
        pytest.param("sk_live_abcdef", id="other-vendor"),
        pytest.param(KEY_PREFIX + "0123456789ab", id="no-secret"),
        pytest.param(KEY_PREFIX + "0123456789ab_short", id="short-secret"),
        pytest.param(KEY_PREFIX + "0123456789AB_" + "x" * 43, id="upper-case-id"),
        pytest.param(KEY_PREFIX + "0123_" + "x" * 43, id="short-id"),
    ],
)
def test_malformed_keys_have_no_id(key: str) -> None:
    assert parse_key_id(key) is None


# -- the verifier ------------------------------------------------------------------------


class FakeKeys:
    """The store side of the verifier: keys by id, counting reads and touches."""

    def __init__(self) -> None:
        self.rows: dict[str, ApiKeyRecord] = {}
        self.touched: list[str] = []

    def add(self, role: Role, revoked: bool = False) -> str:
        key_id, key = new_key()
        self.rows[key_id] = ApiKeyRecord(
            key_id, f"{role}-key", str(role), NOW, hash_key(key), None, NOW if revoked else None
        )
        return key

    async def lookup(self, key_id: str) -> ApiKeyRecord | None:
        return self.rows.get(key_id)

    async def touch(self, record: ApiKeyRecord) -> None:
        self.touched.append(record.key_id)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def keys() -> FakeKeys:
    return FakeKeys()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def verifier(keys: FakeKeys, clock: Clock) -> KeyVerifier:
    return KeyVerifier(keys.lookup, keys.touch, cache_seconds=30, max_entries=3, clock=clock)


async def test_a_valid_key_is_read_once_per_cache_period(
    verifier: KeyVerifier, keys: FakeKeys, clock: Clock
) -> None:
    key = keys.add(Role.READER)
    key_id = parse_key_id(key)
    for _ in range(100):
        principal = await verifier.verify(f"Bearer {key}")
    assert principal == Principal(key_id or "", "reader-key", Role.READER)
    assert (verifier.lookups, keys.touched) == (1, [key_id])
    clock.now += 29.9
    await verifier.verify(f"bearer {key}")
    assert verifier.lookups == 1
    clock.now += 0.2
    await verifier.verify(f"Bearer {key}")
    assert (verifier.lookups, keys.touched) == (2, [key_id, key_id])


async def test_a_key_revoked_in_the_database_is_refused_once_the_cache_expires(
    verifier: KeyVerifier, keys: FakeKeys, clock: Clock
) -> None:
    key = keys.add(Role.ADMIN)
    key_id = parse_key_id(key) or ""
    await verifier.verify(f"Bearer {key}")
    keys.rows[key_id] = dataclasses.replace(keys.rows[key_id], revoked_at=NOW)
    await verifier.verify(f"Bearer {key}")  # still cached: the documented bound
    clock.now += 30
    with pytest.raises(Unauthenticated) as refused:
        await verifier.verify(f"Bearer {key}")
    assert (refused.value.reason, refused.value.metadata) == (
        "API_KEY_REVOKED",
        {"key_id": key_id},
    )


async def test_forget_drops_a_key_at_once(verifier: KeyVerifier, keys: FakeKeys) -> None:
    key = keys.add(Role.ADMIN)
    key_id = parse_key_id(key) or ""
    await verifier.verify(f"Bearer {key}")
    del keys.rows[key_id]
    verifier.forget(key_id)
    with pytest.raises(Unauthenticated) as refused:
        await verifier.verify(f"Bearer {key}")
    assert refused.value.reason == "API_KEY_INVALID"


async def test_refusals_are_cached_too_and_the_cache_is_bounded(
    verifier: KeyVerifier, keys: FakeKeys
) -> None:
    unknown = new_key()[1]
    for _ in range(10):
        with pytest.raises(Unauthenticated):
            await verifier.verify(f"Bearer {unknown}")
    assert verifier.lookups == 1
    valid = [keys.add(Role.READER) for _ in range(4)]
    for key in valid:
        await verifier.verify(f"Bearer {key}")
    assert verifier.lookups == 5
    with pytest.raises(Unauthenticated):
        await verifier.verify(f"Bearer {unknown}")  # evicted: at most 3 entries
    assert verifier.lookups == 6


@pytest.mark.parametrize(
    ("header", "reason", "message"),
    [
        pytest.param(
            None,
            "API_KEY_MISSING",
            "this server needs an API key: send 'authorization: Bearer <key>'",
            id="missing",
        ),
        pytest.param(
            "Basic dXNlcjpwYXNz",
            "API_KEY_MALFORMED",
            "the authorization header must be 'Bearer <key>'",
            id="basic",
        ),
        pytest.param(
            "Bearer ",
            "API_KEY_MALFORMED",
            "the authorization header must be 'Bearer <key>'",
            id="empty",
        ),
        pytest.param(
            "Bearer sk_live_1234",
            "API_KEY_MALFORMED",
            "the API key is not a badgeflow key (bfk_…)",
            id="not-a-badgeflow-key",
        ),
        pytest.param(
            f"Bearer {KEY_PREFIX}0123456789ab_{'x' * 43}",
            "API_KEY_INVALID",
            "unknown API key",
            id="unknown",
        ),
    ],
)
async def test_unauthenticated_reasons(
    verifier: KeyVerifier, header: str | None, reason: str, message: str
) -> None:
    with pytest.raises(Unauthenticated) as refused:
        await verifier.verify(header)
    assert (refused.value.code, refused.value.reason, refused.value.message) == (
        grpc.StatusCode.UNAUTHENTICATED,
        reason,
        message,
    )
    assert "x" * 43 not in str(refused.value.metadata)


async def test_a_right_id_with_a_wrong_secret_is_invalid(
    verifier: KeyVerifier, keys: FakeKeys
) -> None:
    key = keys.add(Role.ADMIN)
    forged = key[:-1] + ("A" if key[-1] != "A" else "B")
    with pytest.raises(Unauthenticated) as refused:
        await verifier.verify(f"Bearer {forged}")
    assert refused.value.reason == "API_KEY_INVALID"
    assert keys.touched == []


async def test_a_cache_of_zero_seconds_reads_every_time(keys: FakeKeys) -> None:
    verifier = KeyVerifier(keys.lookup, keys.touch, cache_seconds=0)
    key = keys.add(Role.PUBLISHER)
    for _ in range(3):
        await verifier.verify(f"Bearer {key}")
    assert verifier.lookups == 3


def test_permission_denied_maps_to_a_rich_status() -> None:
    error = PermissionDenied(
        "ROLE_INSUFFICIENT",
        "this RPC needs a admin key",
        metadata={"required_role": "admin", "key_role": "reader", "key_id": "0123456789ab"},
    )
    status = to_status(error)
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info)
    assert (status.code, info.reason, dict(info.metadata)) == (
        grpc.StatusCode.PERMISSION_DENIED.value[0],
        "ROLE_INSUFFICIENT",
        {"required_role": "admin", "key_role": "reader", "key_id": "0123456789ab"},
    )


# -- settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        pytest.param(
            {"BADGEFLOW_TLS_CERT_FILE": "cert.pem"},
            "tls_cert_file and tls_key_file must be set together",
            id="cert-without-key",
        ),
        pytest.param(
            {"BADGEFLOW_TLS_CLIENT_CA_FILE": "ca.pem"},
            "tls_client_ca_file needs tls_cert_file and tls_key_file",
            id="client-ca-without-tls",
        ),
        pytest.param(
            {"BADGEFLOW_WEBHOOK_TOKEN": "guessable"},
            "webhook_token must be at least 32 characters of A-Z a-z 0-9 - _",
            id="short-webhook-token",
        ),
        pytest.param(
            {"BADGEFLOW_WEBHOOK_TOKEN": "a/" * 20},
            "webhook_token must be at least 32 characters of A-Z a-z 0-9 - _",
            id="webhook-token-with-a-slash",
        ),
        pytest.param(
            {"BADGEFLOW_AUTH_CACHE_SECONDS": "3600"},
            "auth_cache_seconds must be 0..300, got 3600.0",
            id="cache-too-long",
        ),
        pytest.param(
            {"BADGEFLOW_AUTH": "maybe"},
            "BADGEFLOW_AUTH must be true or false, got 'maybe'",
            id="auth-not-a-boolean",
        ),
    ],
)
def test_security_settings_are_checked(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(environ)
    assert str(raised.value).startswith(message)
    assert "guessable" not in str(raised.value)


def test_auth_is_off_by_default_and_on_takes_on_or_true() -> None:
    assert load_settings({}).auth is False
    assert load_settings({"BADGEFLOW_AUTH": "on"}).auth is True
    assert load_settings({"BADGEFLOW_AUTH": "true"}).auth is True
    assert "webhook_token" not in repr(load_settings({"BADGEFLOW_WEBHOOK_TOKEN": "w" * 32}))


def test_docs_security_shows_exactly_the_role_table() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "security.md").read_text()
    rows = re.findall(r"^\| `(\w+)\.(\w+)` \| (\w+) \|$", docs, re.M)
    documented = {f"/badgeflow.v1.{service}/{rpc}": role for service, rpc, role in rows}
    assert len(rows) == len(documented)
    assert documented == {method: str(role) for method, role in RPC_ROLES.items()}
