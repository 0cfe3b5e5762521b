"""Authentication and roles: API keys checked once per RPC by a server interceptor.

A key looks like `bfk_<key_id>_<secret>`: `key_id` (12 hex digits) is public, names the
row, and is what logs and listings show; the whole key is stored only as its SHA-256
hash. A key is 43 random url-safe characters (256 bits) from `secrets`, so a fast hash
is enough: bcrypt and friends slow down guessing of low-entropy passwords, and cost a
slow hash on every cache miss for nothing here.

`RPC_ROLES` says which role each RPC needs, ADMIN may call everything, and an RPC not in
the table needs ADMIN (a test fails if a service RPC is missing, so that default is a
safety net, not a policy). Health checking and reflection stay open (`OPEN_SERVICES`):
load balancers probe without a key, and reflection reveals only the public contract.

Verified keys are cached for `cache_seconds` (30 s by default), so a busy client does not
cost a database read per call; a revoked key is refused within that bound everywhere,
and at once on the server that revoked it. A stream is authenticated once, at its start.
"""

from __future__ import annotations

import contextvars
import enum
import hashlib
import hmac
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import grpc
from badgeflow.v1 import (
    award_service_pb2,
    event_service_pb2,
    key_service_pb2,
    progress_service_pb2,
    provider_service_pb2,
    rule_service_pb2,
    template_service_pb2,
)
from grpc_status import rpc_status

from server.errors import (
    API_KEY_INVALID,
    API_KEY_MALFORMED,
    API_KEY_MISSING,
    API_KEY_REVOKED,
    ROLE_INSUFFICIENT,
    BadgeflowError,
    PermissionDenied,
    Unauthenticated,
    to_status,
)
from server.store.api_keys import ApiKeyRecord

__all__ = [
    "DEFAULT_AUTH_CACHE_SECONDS",
    "KEY_PREFIX",
    "OPEN_SERVICES",
    "RPC_ROLES",
    "AuthInterceptor",
    "KeyVerifier",
    "Principal",
    "Role",
    "current_principal",
    "hash_key",
    "new_key",
    "parse_key_id",
    "required_role",
]

DEFAULT_AUTH_CACHE_SECONDS = 30.0
DEFAULT_CACHE_ENTRIES = 10_000
KEY_PREFIX = "bfk_"
_KEY_ID_HEX = 12
_SECRET_BYTES = 32

_log = logging.getLogger("badgeflow.auth")


class Role(enum.StrEnum):
    """What a key may do; stored by value."""

    PUBLISHER = "publisher"
    READER = "reader"
    ADMIN = "admin"

    def allows(self, required: Role) -> bool:
        return self is Role.ADMIN or self is required


def _rpcs(module: ModuleType, service: str, roles: Mapping[str, Role]) -> dict[str, Role]:
    """Full method paths of `roles`; a misspelt RPC name fails at import."""
    descriptor = module.DESCRIPTOR.services_by_name[service]
    return {
        f"/{descriptor.full_name}/{descriptor.methods_by_name[name].name}": role
        for name, role in roles.items()
    }


P, R, A = Role.PUBLISHER, Role.READER, Role.ADMIN

#: The role each RPC needs (ADMIN passes every check). docs/security.md shows this table.
RPC_ROLES: Mapping[str, Role] = {
    **_rpcs(event_service_pb2, "EventService", {"StreamEvents": P, "PublishEvents": P}),
    **_rpcs(
        progress_service_pb2,
        "ProgressService",
        {
            "GetLearnerProgress": R,
            "ListTemplateProgress": R,
            "WatchAwards": R,
            "GetLearnerBadges": R,
            "ListLearnerAwards": R,
        },
    ),
    **_rpcs(
        template_service_pb2,
        "TemplateService",
        {"ListTemplates": R, "GetTemplate": R, "ActivateTemplate": A, "DeactivateTemplate": A},
    ),
    **_rpcs(
        rule_service_pb2,
        "RuleService",
        {
            "GetRules": R,
            "ValidateRules": R,
            "PlanRules": A,
            "ApplyRules": A,
            "BackfillRules": A,
        },
    ),
    **_rpcs(
        award_service_pb2,
        "AwardService",
        {"GrantAward": A, "RevokeAward": A, "ReissueAward": A},
    ),
    **_rpcs(
        provider_service_pb2,
        "ProviderService",
        {
            "ConnectProvider": A,
            "ListProviders": A,
            "DisconnectProvider": A,
            "SyncTemplates": A,
            "ListIssuances": A,
            "RetryIssuance": A,
            "ListProviderBadges": A,
        },
    ),
    **_rpcs(
        key_service_pb2,
        "KeyService",
        {"CreateApiKey": A, "ListApiKeys": A, "RevokeApiKey": A},
    ),
}
del P, R, A

#: Services callable without a key: health checking and server reflection.
OPEN_SERVICES = frozenset(
    {
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
        "grpc.reflection.v1.ServerReflection",
    }
)


def required_role(method: str) -> Role | None:
    """The role `method` ("/package.Service/Rpc") needs; None for an open service."""
    service = method.lstrip("/").partition("/")[0]
    if service in OPEN_SERVICES:
        return None
    return RPC_ROLES.get(method, Role.ADMIN)


# -- keys ---------------------------------------------------------------------------------


def new_key() -> tuple[str, str]:
    """A fresh (key_id, whole key); the whole key is shown once and stored hashed."""
    key_id = secrets.token_hex(_KEY_ID_HEX // 2)
    return key_id, f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(_SECRET_BYTES)}"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_key_id(key: str) -> str | None:
    """The public id inside a well-formed key, else None."""
    if not key.startswith(KEY_PREFIX):
        return None
    key_id, sep, secret = key[len(KEY_PREFIX) :].partition("_")
    if not sep or len(key_id) != _KEY_ID_HEX or len(secret) < 32:
        return None
    if any(c not in "0123456789abcdef" for c in key_id):
        return None
    return key_id


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: never the key itself."""

    key_id: str
    name: str
    role: Role


#: The caller of the RPC being served (None when auth is off or the service is open).
current_principal: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "badgeflow_principal", default=None
)


# -- verification -------------------------------------------------------------------------

KeyLookup = Callable[[str], Awaitable[ApiKeyRecord | None]]
KeyTouch = Callable[[ApiKeyRecord], Awaitable[None]]


def _unauthenticated(reason: str, message: str, key_id: str = "") -> Unauthenticated:
    return Unauthenticated(reason, message, metadata={"key_id": key_id} if key_id else None)


def _bearer(header: str | None) -> str:
    if header is None:
        raise _unauthenticated(
            API_KEY_MISSING, "this server needs an API key: send 'authorization: Bearer <key>'"
        )
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthenticated(API_KEY_MALFORMED, "the authorization header must be 'Bearer <key>'")
    return token.strip()


class KeyVerifier:
    """Turns an authorization header into a `Principal`, or raises `Unauthenticated`.

    Results (refusals too) are cached by the hash of the presented key for
    `cache_seconds`, at most `max_entries` of them (least recently used go first).
    `lookup` reads a key by id; `touch` records its use (called on each database read).
    """

    def __init__(
        self,
        lookup: KeyLookup,
        touch: KeyTouch,
        *,
        cache_seconds: float = DEFAULT_AUTH_CACHE_SECONDS,
        max_entries: int = DEFAULT_CACHE_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lookup = lookup
        self._touch = touch
        self._ttl = cache_seconds
        self._max = max_entries
        self._clock = clock
        self._cache: OrderedDict[str, tuple[float, str, Principal | BadgeflowError]] = OrderedDict()
        self.lookups = 0  # database reads so far (tests and metrics)

    async def verify(self, header: str | None) -> Principal:
        key = _bearer(header)
        digest = hash_key(key)
        now = self._clock()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            self._cache.move_to_end(digest)
            outcome = cached[2]
        else:
            key_id, outcome = await self._check(key, digest)
            self._remember(digest, now + self._ttl, key_id, outcome)
        if isinstance(outcome, BadgeflowError):
            raise outcome
        return outcome

    def forget(self, key_id: str) -> None:
        """Drop what is cached for `key_id` (after revoking it here)."""
        for digest in [d for d, entry in self._cache.items() if entry[1] == key_id]:
            del self._cache[digest]

    async def _check(self, key: str, digest: str) -> tuple[str, Principal | BadgeflowError]:
        key_id = parse_key_id(key)
        if key_id is None:
            return "", _unauthenticated(
                API_KEY_MALFORMED, "the API key is not a badgeflow key (bfk_…)"
            )
        self.lookups += 1
        record = await self._lookup(key_id)
        if record is None or not hmac.compare_digest(record.secret_hash, digest):
            return key_id, _unauthenticated(API_KEY_INVALID, "unknown API key", key_id)
        if record.revoked_at is not None:
            return key_id, _unauthenticated(API_KEY_REVOKED, "the API key is revoked", key_id)
        await self._touch(record)
        return key_id, Principal(record.key_id, record.name, Role(record.role))

    def _remember(
        self, digest: str, expires: float, key_id: str, outcome: Principal | BadgeflowError
    ) -> None:
        if self._ttl <= 0:
            return
        self._cache[digest] = (expires, key_id, outcome)
        self._cache.move_to_end(digest)
        while len(self._cache) > self._max:
            self._cache.popitem(last=False)


# -- the interceptor ----------------------------------------------------------------------


def _authorize(principal: Principal, required: Role) -> None:
    if not principal.role.allows(required):
        raise PermissionDenied(
            ROLE_INSUFFICIENT,
            f"this RPC needs a {required} key; key {principal.key_id} is a {principal.role} key",
            metadata={
                "required_role": str(required),
                "key_role": str(principal.role),
                "key_id": principal.key_id,
            },
        )


def _metadata_value(details: grpc.HandlerCallDetails, name: str) -> str | None:
    values = [v for k, v in details.invocation_metadata or () if k == name]
    if len(values) > 1:
        return "(several)"  # not a bearer header: refused as malformed
    value = values[0] if values else None
    return value.decode() if isinstance(value, bytes) else value


def _refusal(handler: grpc.RpcMethodHandler, error: BadgeflowError) -> grpc.RpcMethodHandler:
    """A handler of the same shape as `handler` that only aborts with `error`."""
    status = rpc_status.to_status(to_status(error))

    async def refuse(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await context.abort_with_status(status)

    async def refuse_stream(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await context.abort_with_status(status)
        yield  # pragma: no cover - makes this an async generator

    shape = (handler.request_streaming, handler.response_streaming)
    build = {
        (False, False): grpc.unary_unary_rpc_method_handler,
        (False, True): grpc.unary_stream_rpc_method_handler,
        (True, False): grpc.stream_unary_rpc_method_handler,
        (True, True): grpc.stream_stream_rpc_method_handler,
    }[shape]
    return build(
        refuse_stream if handler.response_streaming else refuse,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


class AuthInterceptor(grpc.aio.ServerInterceptor):
    """Checks the caller's key and role before any badgeflow handler runs."""

    def __init__(self, verifier: KeyVerifier) -> None:
        self._verifier = verifier

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        required = required_role(method)
        if handler is None or required is None:
            return handler  # unknown methods stay UNIMPLEMENTED; open services stay open
        try:
            principal = await self._verifier.verify(
                _metadata_value(handler_call_details, "authorization")
            )
            _authorize(principal, required)
        except (Unauthenticated, PermissionDenied) as error:
            _log.info(
                "rpc refused",
                extra={
                    "method": method,
                    "code": error.code.name,
                    "reason": error.reason,
                    "key_id": error.metadata.get("key_id", ""),
                },
            )
            return _refusal(handler, error)
        current_principal.set(principal)
        return handler
