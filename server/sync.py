"""Template sync: make badgeflow's templates of one provider connection match the
provider's.

Example::

    report = await sync_connection(runner, connection, registry.client(connection.id), now)
    log.info("synced", extra={"created": len(report.created)})

New templates arrive inactive (an admin or an applied rule set activates them); a re-sync
updates names and descriptions without touching `active`; a template the provider no
longer returns (archived or draft on Credly, a deleted Accredible group) becomes inactive
here, and its holders keep their awards. Only templates of this connection are touched."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from server.domain import ConnectionRecord
from server.providers.base import BadgeProvider
from server.store.sync import FoundTemplate, apply_template_sync
from server.transactions import TransactionRunner

__all__ = ["SyncReport", "sync_connection"]


@dataclass(frozen=True, slots=True)
class SyncReport:
    """Template ids ("<kind>:<external id>") changed by one sync."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)


async def sync_connection(
    runner: TransactionRunner,
    connection: ConnectionRecord,
    client: BadgeProvider,
    now: datetime,
) -> SyncReport:
    """Read every template the client yields (all pages), then write in one transaction.

    Nothing is written unless the whole listing was read: a listing cut short by an error
    would otherwise deactivate every template on the pages not reached."""
    found: dict[str, FoundTemplate] = {}
    async for template in client.templates():
        found[template.external_id] = (template.external_id, template.name, template.description)
    created, updated, deactivated = await runner.write(
        lambda s: apply_template_sync(s, connection.id, connection.kind, list(found.values()), now)
    )
    return SyncReport(created, updated, deactivated)
