"""Everything provider-side that runs inside the server: the registry of live clients,
template sync, the issuance worker, and (for `make run`) the bundled emulator."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path

from server.connections import ConnectionAdmin, make_client
from server.domain import ConnectionRecord
from server.errors import FailedPrecondition
from server.ingest import RulesHolder, utcnow
from server.providers.base import BadgeProvider
from server.providers.registry import ProviderRegistry
from server.secrets import SecretBox, load_secret_box
from server.settings import Settings
from server.store import connections as connections_repo
from server.store import templates as templates_repo
from server.transactions import TransactionRunner
from server.worker.issuance import IssuanceWorker

__all__ = ["ProviderRuntime"]

_log = logging.getLogger("badgeflow.providers")


@dataclass
class ProviderRuntime:
    runner: TransactionRunner
    holder: RulesHolder
    secrets: SecretBox
    registry: ProviderRegistry
    admin: ConnectionAdmin | None = None
    emulator: object | None = None  # an EmulatorServer when settings ask for one
    _retired: list[BadgeProvider] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _worker: asyncio.Task[None] | None = None

    @classmethod
    async def start(
        cls, settings: Settings, runner: TransactionRunner, holder: RulesHolder
    ) -> ProviderRuntime:
        secrets = load_secret_box(settings.secret_key, Path(settings.secret_key_file))
        runtime = cls(runner, holder, secrets, ProviderRegistry(make_client, secrets))
        runtime.admin = ConnectionAdmin(runner, runtime.registry, secrets, runtime.reload)
        await runtime.reload()
        if settings.provider_emulator == "demo":
            await runtime._start_demo_emulator()
        if settings.issuance_worker:
            worker = IssuanceWorker(runner, runtime.registry)
            runtime._worker = asyncio.create_task(worker.run(runtime._stop), name="issuance-worker")
        return runtime

    async def reload(self) -> None:
        """Rebuild the clients from the stored connections (after connect, disconnect,
        sync). Replaced clients are closed at shutdown, when no call can still use them."""
        connections, templates = await self.runner.read(
            lambda s: (
                connections_repo.list_connections(s),
                connections_repo.template_connections(s),
            )
        )
        self._retired.extend(self.registry.load(connections, templates))

    async def sync(self, connection_id: str) -> tuple[list[str], list[str], list[str]]:
        """Sync one connection's templates, then put the new active set in force."""
        from server.sync import sync_connection  # imported late: sync imports the store layer

        record: ConnectionRecord | None = await self.runner.read(
            lambda s: connections_repo.get_connection(s, connection_id)
        )
        client = self.registry.client(connection_id)
        if record is None or client is None:
            raise FailedPrecondition(
                "CONNECTION_NOT_ACTIVE",
                f"{connection_id} is not an active connection",
                metadata={"subject": connection_id},
            )
        report = await sync_connection(self.runner, record, client, utcnow())
        await self.reload()
        active = await self.runner.read(templates_repo.active_template_ids)
        self.holder.replace(self.holder.current.with_active(active))
        return list(report.created), list(report.updated), list(report.deactivated)

    async def _start_demo_emulator(self) -> None:
        from server.providers.emulator import (
            DEMO_ACCREDIBLE_KEY,
            DEMO_CREDLY_ORG_ID,
            DEMO_CREDLY_TOKEN,
            EmulatorServer,
            EmulatorState,
            seed_demo,
        )

        state = EmulatorState()
        seed_demo(state)
        emulator = await EmulatorServer(state).start()
        self.emulator = emulator
        assert self.admin is not None
        for kind, org, token, url in (
            ("credly", DEMO_CREDLY_ORG_ID, DEMO_CREDLY_TOKEN, emulator.credly_url),
            ("accredible", "demo", DEMO_ACCREDIBLE_KEY, emulator.accredible_url),
        ):
            record = await self.admin.connect(kind, org, token, "", url)
            created, _, _ = await self.sync(record.id)
            _log.info(
                "demo provider connected",
                extra={
                    "connection_id": record.id,
                    "base_url": url,
                    "templates_created": len(created),
                },
            )

    async def stop(self) -> None:
        self._stop.set()
        if self._worker is not None:
            await self._worker
        for client in [*self._retired, *self.registry.clients()]:
            await client.aclose()
        if self.emulator is not None:
            await self.emulator.stop()  # type: ignore[attr-defined]
