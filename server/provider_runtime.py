"""Everything provider-side that runs inside the server: the registry of live clients,
template sync, the issuance worker, and (for `make run`) the bundled emulator."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from dsl.ruleset import IssueMethod
from server.connections import ConnectionAdmin, make_client
from server.domain import ConnectionRecord
from server.errors import FailedPrecondition
from server.health import ReportingCircuitBreaker
from server.http_listener import HttpListener
from server.ingest import RulesHolder, utcnow
from server.metrics import Metrics
from server.providers.base import BadgeProvider
from server.providers.errors import ProviderError
from server.providers.registry import ProviderRegistry
from server.reconcile import reconcile_connection
from server.secrets import SecretBox, load_secret_box
from server.settings import Settings, SettingsError
from server.store import connections as connections_repo
from server.store import templates as templates_repo
from server.sync import sync_connection
from server.transactions import TransactionRunner
from server.webhooks import WebhookApp, build_webhook_app
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
    webhooks: WebhookApp | None = None
    http: HttpListener | None = None
    #: The issuance worker's circuit breaker, one circuit per connection (health reads it).
    breaker: ReportingCircuitBreaker = field(
        default_factory=lambda: ReportingCircuitBreaker(clock=time.time)
    )
    _credly_orgs: dict[str, str] = field(default_factory=dict)
    _retired: list[BadgeProvider] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    async def start(
        cls,
        settings: Settings,
        runner: TransactionRunner,
        holder: RulesHolder,
        metrics: Metrics | None = None,
    ) -> ProviderRuntime:
        secrets = load_secret_box(settings.secret_key, Path(settings.secret_key_file))
        runtime = cls(runner, holder, secrets, ProviderRegistry(make_client, secrets))
        runtime.admin = ConnectionAdmin(runner, runtime.registry, secrets, runtime.reload)
        await runtime.reload()
        try:
            if settings.provider_emulator == "demo":
                await runtime._start_demo_emulator()
            runtime.webhooks = build_webhook_app(
                runner,
                runtime.registry,
                lambda: runtime._credly_orgs,
                runtime.templates_changed,
                token=settings.webhook_token,
            )
            runtime.http = await HttpListener(
                runtime.webhooks, settings.http_host, settings.http_port
            ).start()
        except OSError as error:
            await runtime.stop()
            raise SettingsError(str(error)) from None
        if settings.issuance_worker:
            lease = timedelta(seconds=settings.issuance_lease_seconds)
            worker = IssuanceWorker(
                runner,
                runtime.registry,
                lease=lease,
                methods=runtime.method_for,
                breaker=runtime.breaker,
                metrics=metrics,
            )
            runtime._tasks.append(
                asyncio.create_task(worker.run(runtime._stop), name="issuance-worker")
            )
        if settings.reconcile_interval_seconds > 0:
            sweeps = runtime._reconcile_every(settings.reconcile_interval_seconds)
            runtime._tasks.append(asyncio.create_task(sweeps, name="reconciliation"))
        # The token is a secret: the log shows where it goes, never what it is.
        url = f"http://{settings.http_host}:{runtime.http.port}/webhooks/credly/<token>"
        _log.info(
            "webhooks listening",
            extra={"url": url, "token_set": bool(settings.webhook_token)},
        )
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
        self._credly_orgs = {
            c.organization_id: c.id for c in connections if c.active and c.kind == "credly"
        }

    def method_for(self, template_id: str) -> IssueMethod:
        """How the rules in force say to issue the template (issue when no rule binds it)."""
        badge = self.holder.current.badge(template_id)
        return badge.method if badge is not None else IssueMethod.ISSUE

    async def templates_changed(self) -> None:
        """After a sync: route templates to their connections and put the new set of
        active templates in force."""
        await self.reload()
        active = await self.runner.read(templates_repo.active_template_ids)
        self.holder.replace(self.holder.current.with_active(active))

    async def sync(self, connection_id: str) -> tuple[list[str], list[str], list[str]]:
        """Sync one connection's templates, then put the new active set in force."""
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
        await self.templates_changed()
        return list(report.created), list(report.updated), list(report.deactivated)

    async def _start_demo_emulator(self) -> None:
        # Imported here: only `make run`-style demo servers load the emulator.
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

    async def _reconcile_every(self, interval: float) -> None:
        """Read issued badges back from every active connection, every `interval` s
        (state changes, expiry, replacements; badges issued directly on the provider).
        A round that fails (the database restarting) is logged and the next one
        starts from the same point."""
        since = None
        while not self._stop.is_set():
            try:
                await asyncio.wait_for(self._stop.wait(), interval)
                return
            except TimeoutError:
                pass
            started = utcnow()
            try:
                await self._reconcile_round(since, started)
            except Exception:  # noqa: BLE001 - one bad round must not end reconciliation
                _log.warning("reconciliation round failed; trying again", exc_info=True)
                continue
            since = started

    async def _reconcile_round(self, since: datetime | None, started: datetime) -> None:
        active = await self.runner.read(
            lambda s: connections_repo.list_connections(s, active_only=True)
        )
        for record in active:
            client = self.registry.client(record.id)
            if client is None:
                continue
            try:
                report = await reconcile_connection(self.runner, record, client, since, started)
            except ProviderError as error:
                _log.warning(
                    "reconciliation failed",
                    extra={"connection_id": record.id, "error": str(error)},
                )
                continue
            _log.info(
                "reconciled", extra={"connection_id": record.id, **dataclasses.asdict(report)}
            )

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            await task
        if self.http is not None:
            await self.http.stop()
        if self.webhooks is not None:
            await self.webhooks.aclose()
        for client in [*self._retired, *self.registry.clients()]:
            await client.aclose()
        if self.emulator is not None:
            await self.emulator.stop()  # type: ignore[attr-defined]
