"""The live clients of the active provider connections, and which one serves a template.

A template found by a sync is served by the connection it came through. A template that
only rules named (no sync yet) is served by the one active connection of its provider,
if there is exactly one; with several, it must be synced first, so a badge never goes
to the wrong organisation."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from server.domain import ConnectionRecord
from server.providers.base import BadgeProvider
from server.secrets import SecretBox

__all__ = ["ClientFactory", "ProviderRegistry"]

#: Builds a client for a connection from its record and its opened token.
ClientFactory = Callable[[ConnectionRecord, str], BadgeProvider]


class ProviderRegistry:
    def __init__(self, factory: ClientFactory, secrets: SecretBox) -> None:
        self._factory = factory
        self._secrets = secrets
        self._clients: dict[str, BadgeProvider] = {}
        self._kinds: dict[str, str] = {}
        self._templates: dict[str, str] = {}

    def load(
        self, connections: Iterable[ConnectionRecord], template_connections: Mapping[str, str]
    ) -> list[BadgeProvider]:
        """Replace the clients with ones for the active connections; returns the old
        clients, for the caller to close once no call uses them."""
        old = list(self._clients.values())
        active = [c for c in connections if c.active]
        self._clients = {c.id: self._factory(c, self._secrets.open(c.sealed_token)) for c in active}
        self._kinds = {c.id: c.kind for c in active}
        self._templates = dict(template_connections)
        return old

    def clients(self) -> list[BadgeProvider]:
        return list(self._clients.values())

    def client(self, connection_id: str) -> BadgeProvider | None:
        return self._clients.get(connection_id)

    def for_template(self, template_id: str) -> tuple[str, BadgeProvider] | None:
        connection_id = self._templates.get(template_id)
        if connection_id is not None:
            client = self._clients.get(connection_id)
            return (connection_id, client) if client is not None else None
        kind = template_id.split(":", 1)[0]
        candidates = [cid for cid, k in self._kinds.items() if k == kind]
        if len(candidates) == 1:
            return candidates[0], self._clients[candidates[0]]
        return None
