"""API key management: `KeyAdmin` (create, list, revoke; used by the KeyService servicer
and by `python -m server keys` offline) and `KeyServiceServicer`.

A created key's secret is returned once and stored only as its hash (server.auth)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from badgeflow.v1 import api_key_pb2, key_service_pb2, key_service_pb2_grpc
from sqlalchemy.orm import Session

from server.auth import KeyVerifier, Role, current_principal, hash_key, new_key
from server.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound, grpc_errors
from server.services.convert import timestamp
from server.store import api_keys as keys_repo
from server.store.api_keys import ApiKeyRecord
from server.transactions import TransactionRunner

__all__ = [
    "MAX_KEY_NAME",
    "KeyAdmin",
    "KeyServiceServicer",
    "StoredKeys",
    "admin_key_count",
    "api_key_to_proto",
    "check_name",
    "create_key",
    "revoke_key",
]

MAX_KEY_NAME = 100
_TOUCH_EVERY = timedelta(minutes=1)

_log = logging.getLogger("badgeflow.auth")

_ROLE_TO_PROTO = {
    Role.PUBLISHER: api_key_pb2.ROLE_PUBLISHER,
    Role.READER: api_key_pb2.ROLE_READER,
    Role.ADMIN: api_key_pb2.ROLE_ADMIN,
}
_PROTO_TO_ROLE = {value: role for role, value in _ROLE_TO_PROTO.items()}


def _now() -> datetime:
    return datetime.now(UTC)


def check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_KEY_NAME:
        raise InvalidArgument(
            "INVALID_KEY_NAME",
            f"a key needs a name of 1..{MAX_KEY_NAME} characters",
            [FieldViolation("name", f"1..{MAX_KEY_NAME} characters, e.g. 'lms-prod'")],
        )
    return name


def create_key(session: Session, name: str, role: Role, now: datetime) -> tuple[ApiKeyRecord, str]:
    """Store a new key; return its record and the whole key (shown once)."""
    key_id, secret = new_key()
    record = ApiKeyRecord(key_id, check_name(name), str(role), now, hash_key(secret))
    keys_repo.insert_api_key(session, record)
    return record, secret


def revoke_key(session: Session, key_id: str, now: datetime) -> ApiKeyRecord:
    record = keys_repo.get_api_key(session, key_id)
    if record is None:
        raise NotFound(
            "API_KEY_NOT_FOUND",
            f"no API key {key_id!r}; list keys to see the ids",
            metadata={"key_id": key_id},
        )
    if not keys_repo.revoke_api_key(session, key_id, now):
        raise FailedPrecondition(
            "API_KEY_ALREADY_REVOKED",
            f"API key {key_id} is already revoked",
            metadata={"subject": key_id, "key_id": key_id},
        )
    revoked = keys_repo.get_api_key(session, key_id)
    assert revoked is not None
    return revoked


class KeyAdmin:
    """Key management over a transaction runner; `verifier` (when auth is on) forgets a
    revoked key at once, so this server refuses it from the next call."""

    def __init__(
        self,
        runner: TransactionRunner,
        verifier: KeyVerifier | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._runner = runner
        self._verifier = verifier
        self._clock = clock

    async def create(self, name: str, role: Role) -> tuple[ApiKeyRecord, str]:
        now = self._clock()
        record, secret = await self._runner.write(lambda s: create_key(s, name, role, now))
        _log.info("api key created", extra={"key_id": record.key_id, "role": record.role, **_by()})
        return record, secret

    async def list(self, include_revoked: bool) -> list[ApiKeyRecord]:
        return await self._runner.read(
            lambda s: keys_repo.list_api_keys(s, include_revoked=include_revoked)
        )

    async def revoke(self, key_id: str) -> ApiKeyRecord:
        now = self._clock()
        record = await self._runner.write(lambda s: revoke_key(s, key_id, now))
        if self._verifier is not None:
            self._verifier.forget(key_id)
        _log.info("api key revoked", extra={"key_id": key_id, **_by()})
        return record


class StoredKeys:
    """What server.auth.KeyVerifier needs of the store: read a key, record its use."""

    def __init__(self, runner: TransactionRunner, clock: Callable[[], datetime] = _now) -> None:
        self._runner = runner
        self._clock = clock

    async def lookup(self, key_id: str) -> ApiKeyRecord | None:
        return await self._runner.read(lambda s: keys_repo.get_api_key(s, key_id))

    async def touch(self, record: ApiKeyRecord) -> None:
        """Record the key's use, at most once a minute (one write, not one per call)."""
        now = self._clock()
        if record.last_used_at is not None and now - record.last_used_at < _TOUCH_EVERY:
            return
        await self._runner.write(lambda s: keys_repo.touch_api_key(s, record.key_id, now))


def admin_key_count(session: Session) -> int:
    """How many valid admin keys exist (start-up warns when none does)."""
    return sum(1 for k in keys_repo.list_api_keys(session) if k.role == Role.ADMIN)


def _by() -> dict[str, str]:
    principal = current_principal.get()
    return {"by_key_id": principal.key_id} if principal is not None else {}


def api_key_to_proto(record: ApiKeyRecord) -> api_key_pb2.ApiKey:
    return api_key_pb2.ApiKey(
        key_id=record.key_id,
        name=record.name,
        role=_ROLE_TO_PROTO[Role(record.role)],
        create_time=timestamp(record.created_at),
        last_use_time=timestamp(record.last_used_at),
        revoke_time=timestamp(record.revoked_at),
    )


def _role_from_proto(value: int) -> Role:
    role = _PROTO_TO_ROLE.get(value)  # type: ignore[call-overload]
    if role is None:
        raise InvalidArgument(
            "INVALID_ROLE",
            "a key needs a role: ROLE_PUBLISHER, ROLE_READER or ROLE_ADMIN",
            [FieldViolation("role", "ROLE_PUBLISHER, ROLE_READER or ROLE_ADMIN")],
        )
    return role


class KeyServiceServicer(key_service_pb2_grpc.KeyServiceServicer):
    def __init__(self, admin: KeyAdmin) -> None:
        self._admin = admin

    @grpc_errors
    async def CreateApiKey(
        self, request: key_service_pb2.CreateApiKeyRequest, context: object
    ) -> key_service_pb2.CreateApiKeyResponse:
        role = _role_from_proto(request.role)
        record, secret = await self._admin.create(check_name(request.name), role)
        return key_service_pb2.CreateApiKeyResponse(api_key=api_key_to_proto(record), secret=secret)

    @grpc_errors
    async def ListApiKeys(
        self, request: key_service_pb2.ListApiKeysRequest, context: object
    ) -> key_service_pb2.ListApiKeysResponse:
        records = await self._admin.list(request.include_revoked)
        return key_service_pb2.ListApiKeysResponse(api_keys=[api_key_to_proto(r) for r in records])

    @grpc_errors
    async def RevokeApiKey(
        self, request: key_service_pb2.RevokeApiKeyRequest, context: object
    ) -> key_service_pb2.RevokeApiKeyResponse:
        record = await self._admin.revoke(request.key_id)
        return key_service_pb2.RevokeApiKeyResponse(api_key=api_key_to_proto(record))
