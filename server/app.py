"""The composition root: builds every part from settings and runs the server."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import grpc
from badgeflow.v1 import (
    award_service_pb2,
    award_service_pb2_grpc,
    event_service_pb2,
    event_service_pb2_grpc,
    key_service_pb2,
    key_service_pb2_grpc,
    progress_service_pb2,
    progress_service_pb2_grpc,
    provider_service_pb2,
    provider_service_pb2_grpc,
    rule_service_pb2,
    rule_service_pb2_grpc,
    template_service_pb2,
    template_service_pb2_grpc,
)
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from server.auth import AuthInterceptor, KeyVerifier
from server.auth_keys import KeyAdmin, KeyServiceServicer, StoredKeys, admin_key_count
from server.awards_admin import AwardAdmin
from server.backfill import Backfiller
from server.engine.broadcast import AwardBroadcaster
from server.health import CircuitState, HealthApp, HealthMonitor
from server.ingest import Ingestor, RulesHolder
from server.logs import configure_logging
from server.metrics import MeteredBroadcaster, Metrics, MetricsApp, ScrapeState
from server.provider_runtime import ProviderRuntime
from server.rate_limit import ClientRates, RateLimitInterceptor
from server.replica_sync import ConfigFollower
from server.request_ids import RequestIdInterceptor
from server.retention import RetentionSweeper
from server.rules_admin import RuleAdmin, StoredRulesInvalid, load_active_rules
from server.services.awards import AwardServiceServicer
from server.services.events import EventServiceServicer
from server.services.progress import ProgressServiceServicer
from server.services.providers import ProviderServiceServicer
from server.services.rules import RuleServiceServicer
from server.services.templates import TemplateServiceServicer
from server.settings import Settings, SettingsError, load_settings
from server.store.batch_store import SqlBatchStore
from server.store.checkpoints import WalCheckpointer, background_checkpoints
from server.store.db import create_engine_for, make_session_factory, migrate
from server.store.outbox import outbox_counts
from server.transactions import TransactionRunner

__all__ = [
    "ALL_SERVICE_NAMES",
    "KEY_SERVICE_NAME",
    "SERVICE_NAMES",
    "App",
    "build_server",
    "main",
    "run",
    "server_credentials",
]

_log = logging.getLogger("badgeflow.app")

SERVICE_NAMES = tuple(
    module.DESCRIPTOR.services_by_name[name].full_name
    for module, name in (
        (event_service_pb2, "EventService"),
        (rule_service_pb2, "RuleService"),
        (template_service_pb2, "TemplateService"),
        (progress_service_pb2, "ProgressService"),
        (provider_service_pb2, "ProviderService"),
        (award_service_pb2, "AwardService"),
    )
)
#: API key management (server.auth_keys); kept apart from SERVICE_NAMES, which the SDK's
#: service config classifies RPC by RPC (its KeyService calls are never retried).
KEY_SERVICE_NAME = key_service_pb2.DESCRIPTOR.services_by_name["KeyService"].full_name
#: Every badgeflow service the server offers (health reports each, reflection lists them).
ALL_SERVICE_NAMES = (*SERVICE_NAMES, KEY_SERVICE_NAME)
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


@dataclass
class App:
    """A built, started server and what must be closed after it."""

    server: grpc.aio.Server
    port: int
    health: health.aio.HealthServicer
    broadcaster: AwardBroadcaster
    runner: TransactionRunner
    engine: Engine
    providers: ProviderRuntime
    retention: RetentionSweeper | None = None
    #: Checks API keys when auth is on (its `lookups` count the database reads).
    keys: KeyVerifier | None = None
    #: Keeps the rules in force in step with other replicas (its stop event and task).
    config_follower: tuple[asyncio.Event, asyncio.Task[None]] | None = None
    #: This server's metrics (its own registry), served at GET /metrics on the HTTP port.
    metrics: Metrics | None = None
    #: The periodic database check behind gRPC health and GET /healthz.
    monitor: HealthMonitor | None = None
    #: SQLite: checkpoints the write-ahead log off the commit path.
    checkpointer: WalCheckpointer | None = None
    stopped: bool = False

    async def stop(self, grace: float) -> None:
        """Drain: report NOT_SERVING, end award streams, let in-flight RPCs finish
        (their batches commit before they ack), then close the database. Idempotent."""
        if self.stopped:
            return
        self.stopped = True
        await self.health.enter_graceful_shutdown()
        if self.monitor is not None:
            await self.monitor.stop()
        self.broadcaster.close()
        await self.server.stop(grace)
        await self.providers.stop()
        if self.retention is not None:
            await self.retention.stop()
        if self.config_follower is not None:
            stop, task = self.config_follower
            stop.set()
            await task
        self.runner.close()
        if self.checkpointer is not None:
            self.checkpointer.stop()  # after the last commit: leaves a short log
        self.engine.dispose()
        _log.info("stopped")


async def build_server(settings: Settings) -> App:
    """Migrate the database, load the rules in force, and start serving on the
    configured port (0 picks one; `App.port` says which)."""
    tls = server_credentials(settings)
    engine = create_engine_for(settings.database_url)
    checkpointer = background_checkpoints(engine)  # before any connection: see the module
    await asyncio.to_thread(migrate, engine)
    runner = TransactionRunner(make_session_factory(engine))
    holder = RulesHolder(await runner.read(load_active_rules))
    metrics = Metrics()
    broadcaster = MeteredBroadcaster(metrics)
    admin = RuleAdmin(runner, holder)
    config_stop = asyncio.Event()
    ingestor = Ingestor(runner, SqlBatchStore, holder, broadcaster, metrics=metrics)
    providers = await ProviderRuntime.start(settings, runner, holder, metrics)
    stored_keys = StoredKeys(runner)
    verifier = KeyVerifier(
        stored_keys.lookup, stored_keys.touch, cache_seconds=settings.auth_cache_seconds
    )

    server = grpc.aio.server(
        # Request ids outermost: every log line of an RPC, an auth refusal's included,
        # carries its id.
        interceptors=[
            RequestIdInterceptor(),
            *([AuthInterceptor(verifier)] if settings.auth else []),
            *(
                [RateLimitInterceptor(ClientRates(settings.max_events_per_second_per_client))]
                if settings.max_events_per_second_per_client > 0
                else []
            ),
        ],
        options=[
            ("grpc.max_receive_message_length", settings.max_message_bytes),
            ("grpc.max_send_message_length", settings.max_message_bytes),
            # A second server on a taken port must fail, not silently share it.
            ("grpc.so_reuseport", 0),
        ],
    )
    event_service_pb2_grpc.add_EventServiceServicer_to_server(
        EventServiceServicer(ingestor, settings.max_batch_events, metrics), server
    )
    rule_service_pb2_grpc.add_RuleServiceServicer_to_server(
        RuleServiceServicer(admin, Backfiller(runner, holder, broadcaster)), server
    )
    template_service_pb2_grpc.add_TemplateServiceServicer_to_server(
        TemplateServiceServicer(runner, admin), server
    )
    progress_service_pb2_grpc.add_ProgressServiceServicer_to_server(
        ProgressServiceServicer(runner, admin, broadcaster), server
    )
    assert providers.admin is not None
    provider_service_pb2_grpc.add_ProviderServiceServicer_to_server(
        ProviderServiceServicer(runner, providers.admin, providers.sync), server
    )
    award_service_pb2_grpc.add_AwardServiceServicer_to_server(
        AwardServiceServicer(AwardAdmin(runner, broadcaster, holder)), server
    )
    key_service_pb2_grpc.add_KeyServiceServicer_to_server(
        KeyServiceServicer(KeyAdmin(runner, verifier)), server
    )
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (
            *ALL_SERVICE_NAMES,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ),
        server,
    )
    address = f"{settings.grpc_host}:{settings.grpc_port}"
    try:
        if tls is None:
            port = server.add_insecure_port(address)
        else:
            port = server.add_secure_port(address, tls)
    except RuntimeError:
        port = 0
    if port == 0:
        await providers.stop()
        runner.close()
        if checkpointer is not None:
            checkpointer.stop()
        engine.dispose()
        raise SettingsError(f"cannot listen on {address}: the address is in use or invalid")
    await server.start()
    monitor = HealthMonitor(
        runner,
        health_servicer,
        ALL_SERVICE_NAMES,  # every badgeflow service reads or writes the database
        providers.breaker,
        timeout=settings.health_check_timeout_seconds,
    )
    await monitor.check()  # sets every status: SERVING, the database just answered
    monitor.start(settings.health_check_seconds)
    _mount_operations(providers, metrics, monitor, holder, runner, settings)
    await _log_security(settings, runner)
    _log.info(
        "serving",
        extra={
            "address": f"{settings.grpc_host}:{port}",
            "tls": "mutual" if settings.tls_client_ca_file else ("on" if tls else "off"),
            "auth": "on" if settings.auth else "off",
            "database": engine.url.render_as_string(hide_password=True),
            "rules_version": holder.current.version,
        },
    )
    retention = RetentionSweeper(runner, settings.event_retention_days).start()
    follower = None
    if settings.replica_sync_seconds > 0:
        watch = ConfigFollower(runner, admin.refresh, providers.reload)
        follower = asyncio.create_task(
            watch.follow(settings.replica_sync_seconds, config_stop), name="config-follower"
        )
    return App(
        server,
        port,
        health_servicer,
        broadcaster,
        runner,
        engine,
        providers,
        retention,
        keys=verifier if settings.auth else None,
        config_follower=(config_stop, follower) if follower is not None else None,
        metrics=metrics,
        monitor=monitor,
        checkpointer=checkpointer,
    )


def _mount_operations(
    providers: ProviderRuntime,
    metrics: Metrics,
    monitor: HealthMonitor,
    holder: RulesHolder,
    runner: TransactionRunner,
    settings: Settings,
) -> None:
    """GET /metrics and GET /healthz on the HTTP listener, beside the webhooks."""
    state = ScrapeState(
        outbox_counts=lambda: runner.read(outbox_counts),
        rules=lambda: (holder.current.version, len(holder.current.active_templates)),
        database_up=lambda: monitor.report.database_ok,
        circuits=monitor.circuits,
        circuit_states=[s.value for s in CircuitState],
        read_timeout=settings.health_check_timeout_seconds,
    )
    metrics.registry.register(state)
    assert providers.http is not None
    providers.http.mount("/metrics", MetricsApp(metrics, state))
    providers.http.mount("/healthz", HealthApp(monitor))


def _read_pem(setting: str, path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise SettingsError(f"cannot read {setting} {path}: {error.strerror}") from None


def server_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """TLS credentials from the settings' PEM files (None: plaintext). With
    tls_client_ca_file, clients must present a certificate that CA signed."""
    if not settings.tls_cert_file:
        return None
    chain = _read_pem("tls_cert_file", settings.tls_cert_file)
    key = _read_pem("tls_key_file", settings.tls_key_file)
    client_ca = (
        _read_pem("tls_client_ca_file", settings.tls_client_ca_file)
        if settings.tls_client_ca_file
        else None
    )
    return grpc.ssl_server_credentials(
        [(key, chain)], root_certificates=client_ca, require_client_auth=client_ca is not None
    )


async def _log_security(settings: Settings, runner: TransactionRunner) -> None:
    """Say loudly what is open: auth off, or on with no admin key to manage it."""
    if not settings.auth:
        _log.warning(
            "authentication is off: every RPC is open to anyone who can reach the port; "
            "set BADGEFLOW_AUTH=on outside a laptop (docs/security.md)",
            extra={"address": settings.grpc_host},
        )
    elif not settings.tls_cert_file and settings.grpc_host not in _LOOPBACK:
        _log.warning(
            "authentication is on without TLS on a non-loopback interface: API keys cross "
            "the network in clear unless a proxy terminates TLS (docs/security.md)",
            extra={"address": settings.grpc_host},
        )
    if settings.auth and await runner.read(admin_key_count) == 0:
        _log.warning(
            "authentication is on but no admin key exists: create one with "
            "`python -m server keys create --role admin --name NAME` (docs/security.md)"
        )
    if not settings.webhook_token:
        _log.warning(
            "webhooks are refused: set BADGEFLOW_WEBHOOK_TOKEN and register "
            "/webhooks/credly/<token> with Credly (docs/security.md)"
        )


async def run(settings: Settings) -> None:
    """Serve until SIGTERM or SIGINT, then shut down gracefully."""
    app = await build_server(settings)
    # The compiled rules and their index (tens of thousands of long-lived objects with
    # 10,000 templates) never become garbage until rules change: leaving them out of the
    # collector's scans took ~15% of ingest time in the profile (server/tools/ingest_profile).
    gc.freeze()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    await stopping.wait()
    _log.info("shutting down", extra={"grace_seconds": settings.shutdown_grace_seconds})
    await app.stop(settings.shutdown_grace_seconds)


def main() -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"badgeflow: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    try:
        asyncio.run(run(settings))
    except (SettingsError, StoredRulesInvalid) as exc:
        _log.error("cannot start", extra={"error": str(exc)})
        return 2
    except OperationalError as exc:
        _log.error("cannot start: the database is unreachable", extra={"error": str(exc.orig)})
        return 3
    return 0
