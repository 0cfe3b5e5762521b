"""Connecting and disconnecting provider accounts, and the clients the server uses.

Connecting proves the credentials at once by reading the organisation; the token is
sealed before it is stored and never leaves the process again."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace

from server.domain import ConnectionRecord
from server.errors import FieldViolation, InvalidArgument, NotFound, Unavailable
from server.ingest import utcnow
from server.providers.accredible import (
    ACCREDIBLE_EU,
    ACCREDIBLE_PRODUCTION,
    ACCREDIBLE_SANDBOX,
    AccredibleClient,
)
from server.providers.base import BadgeProvider
from server.providers.credly import CREDLY_PRODUCTION, CREDLY_SANDBOX, CredlyClient
from server.providers.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderNotFound,
    ProviderRejected,
)
from server.providers.registry import ProviderRegistry
from server.secrets import SecretBox
from server.store import connections as connections_repo
from server.transactions import TransactionRunner

__all__ = ["ConnectionAdmin", "make_client"]

_log = logging.getLogger("badgeflow.connections")
_HOSTS = {
    "credly": {"production": CREDLY_PRODUCTION, "sandbox": CREDLY_SANDBOX},
    "accredible": {
        "production": ACCREDIBLE_PRODUCTION,
        "sandbox": ACCREDIBLE_SANDBOX,
        "eu": ACCREDIBLE_EU,
    },
}


def make_client(record: ConnectionRecord, token: str) -> BadgeProvider:
    """The production client factory of the registry."""
    if record.kind == "credly":
        return CredlyClient(record.organization_id, token, base_url=record.base_url)
    return AccredibleClient(token, base_url=record.base_url)


def _base_url(kind: str, environment: str, base_url: str) -> str:
    if base_url:
        if not re.match(r"^https?://", base_url):
            raise InvalidArgument(
                "INVALID_BASE_URL",
                "base_url must be an http(s) URL",
                [FieldViolation("base_url", "e.g. https://sandbox-api.credly.com/v1")],
            )
        return base_url.rstrip("/")
    hosts = _HOSTS[kind]
    chosen = hosts.get(environment or "production")
    if chosen is None:
        raise InvalidArgument(
            "UNKNOWN_ENVIRONMENT",
            f"unknown {kind} environment {environment!r}",
            [FieldViolation("environment", f"one of {', '.join(hosts)}")],
        )
    return chosen


def _validate(kind: str, organization_id: str, token: str) -> None:
    violations = []
    if kind not in _HOSTS:
        violations.append(FieldViolation("kind", 'use "credly" or "accredible"'))
    if not organization_id:
        violations.append(
            FieldViolation(
                "organization_id",
                "the Credly organisation id, or a name for the Accredible configuration",
            )
        )
    if not token:
        violations.append(
            FieldViolation("token", "the organisation token (Credly) or API key (Accredible)")
        )
    if violations:
        raise InvalidArgument(
            "INVALID_CONNECTION", "the connection request is incomplete", violations
        )


def _not_found(connection_id: str) -> NotFound:
    return NotFound(
        "CONNECTION_NOT_FOUND",
        f"no provider connection {connection_id!r}",
        metadata={"connection_id": connection_id},
    )


class ConnectionAdmin:
    def __init__(
        self,
        runner: TransactionRunner,
        registry: ProviderRegistry,
        secrets: SecretBox,
        after_change: Callable[[], Awaitable[None]],
        factory: Callable[[ConnectionRecord, str], BadgeProvider] = make_client,
    ) -> None:
        self._runner = runner
        self._registry = registry
        self._secrets = secrets
        self._after_change = after_change
        self._factory = factory
        self._lock = asyncio.Lock()

    async def connect(
        self, kind: str, organization_id: str, token: str, environment: str, base_url: str
    ) -> ConnectionRecord:
        _validate(kind, organization_id, token)
        url = _base_url(kind, environment, base_url)
        now = utcnow()
        record = ConnectionRecord(
            id=f"{kind}:{organization_id}",
            kind=kind,
            name="",
            organization_id=organization_id if kind == "credly" else "",
            base_url=url,
            sealed_token=self._secrets.seal(token),
            active=True,
            created_at=now,
            updated_at=now,
        )
        record = replace(record, name=await self._organization_name(record, token))
        async with self._lock:
            await self._runner.write(lambda s: connections_repo.save_connection(s, record))
            await self._after_change()
        _log.info("provider connected", extra={"connection_id": record.id, "base_url": url})
        return record

    async def _organization_name(self, record: ConnectionRecord, token: str) -> str:
        client = self._factory(record, token)
        what = "organisation" if record.kind == "credly" else "account"
        try:
            return await client.organization_name()
        except ProviderAuthError:
            raise InvalidArgument(
                "PROVIDER_TOKEN_REFUSED",
                f"{record.kind} refused the token for {record.id}: "
                f"check it is the {what}'s current token",
                [FieldViolation("token", f"{record.kind} answered 401/403 with this token")],
                metadata={"connection_id": record.id},
            ) from None
        except ProviderNotFound:
            raise NotFound(
                "PROVIDER_ORGANIZATION_NOT_FOUND",
                f"{record.kind} has no {what} {record.organization_id or record.id!r}",
                metadata={"connection_id": record.id},
            ) from None
        except ProviderRejected as error:
            raise InvalidArgument(
                "PROVIDER_REJECTED", f"{record.kind} rejected the connection: {error}"
            ) from None
        except ProviderError as error:
            raise Unavailable(
                "PROVIDER_UNREACHABLE",
                f"cannot reach {record.kind} at {record.base_url}: {error}",
                retry_after=5.0,
            ) from None
        finally:
            await client.aclose()

    async def disconnect(self, connection_id: str) -> ConnectionRecord:
        async with self._lock:
            found = await self._runner.write(
                lambda s: connections_repo.set_connection_active(s, connection_id, False, utcnow())
            )
            if not found:
                raise _not_found(connection_id)
            await self._after_change()
        record = await self.get(connection_id)
        _log.info("provider disconnected", extra={"connection_id": connection_id})
        return record

    async def get(self, connection_id: str) -> ConnectionRecord:
        record = await self._runner.read(
            lambda s: connections_repo.get_connection(s, connection_id)
        )
        if record is None:
            raise _not_found(connection_id)
        return record

    async def list(self) -> list[ConnectionRecord]:
        return await self._runner.read(connections_repo.list_connections)
