"""Service settings: documented defaults, overridden by a TOML file, overridden by the
environment (`BADGEFLOW_<NAME>`), so `make run` needs nothing and production can set
everything from its orchestrator.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_GRPC_PORT", "Settings", "SettingsError", "load_settings"]

DEFAULT_GRPC_PORT = 50151
DEFAULT_DATABASE_URL = "sqlite:///var/badgeflow.db"
ENV_PREFIX = "BADGEFLOW_"
CONFIG_ENV = "BADGEFLOW_CONFIG"
_MAX_AUTH_CACHE_SECONDS = 300.0
_MIN_WEBHOOK_TOKEN = 32
_URL_SAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


class SettingsError(ValueError):
    """A setting has a value the service cannot use; the message names it."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Every knob of the server. Field docs are the reference (README links here)."""

    #: Interface the gRPC server listens on.
    grpc_host: str = "127.0.0.1"
    #: gRPC port; 0 picks a free port (tests).
    grpc_port: int = DEFAULT_GRPC_PORT
    #: SQLAlchemy URL: a SQLite file by default, or postgresql://… for production.
    database_url: str = DEFAULT_DATABASE_URL
    #: Log level name (DEBUG, INFO, WARNING, ERROR).
    log_level: str = "INFO"
    #: "json" (one object per line, for machines) or "text" (for a terminal).
    log_format: str = "json"
    #: Seconds in-flight RPCs get to finish after SIGTERM.
    shutdown_grace_seconds: float = 10.0
    #: Largest number of events in one batch (one stream message or PublishEvents call).
    max_batch_events: int = 1000
    #: Largest gRPC message the server accepts, in bytes.
    max_message_bytes: int = 16 * 1024 * 1024
    #: Events a second one client (an API key, else an address) may send; 0: no limit.
    #: Streams are paced to it, PublishEvents over it is RESOURCE_EXHAUSTED (RATE_LIMITED).
    max_events_per_second_per_client: float = 0.0
    #: Key that seals provider tokens at rest (Fernet, url-safe base64); empty uses the key file.
    secret_key: str = dataclasses.field(default="", repr=False)
    #: Key file created on first use when no secret_key is set (fine for a laptop only).
    secret_key_file: str = "var/secret.key"
    #: Whether this process sends awards to the providers (the issuance worker).
    issuance_worker: bool = True
    #: Seconds a worker holds claimed outbox rows; a dead worker's rows return after it.
    issuance_lease_seconds: float = 120.0
    #: "demo" starts the bundled provider emulator on loopback, seeded and connected.
    provider_emulator: str = ""
    #: Interface of the HTTP listener (provider webhooks at /webhooks/credly).
    http_host: str = "127.0.0.1"
    #: Port of the HTTP listener; 0 picks a free port.
    http_port: int = 50152
    #: Seconds between reconciliation sweeps of issued badges; 0 turns them off.
    reconcile_interval_seconds: float = 300.0
    #: Days the event log keeps an event after its arrival (swept hourly); 0 keeps all.
    #: The log is the idempotency record too, so an id older than this is accepted again,
    #: and a backfill replays only what is kept.
    event_retention_days: int = 365
    #: Seconds between checks that what this server holds in memory (the rules in force,
    #: the provider connections) is what the database holds: another replica may have
    #: applied rules, (de)activated a template or connected a provider. 0 turns the check
    #: off (one server alone on its database needs none).
    replica_sync_seconds: float = 2.0
    #: Whether every RPC needs an API key (docs/security.md). Off suits a laptop only: the
    #: server then logs a warning at start-up.
    auth: bool = False
    #: Seconds a verified (or refused) API key is cached; a revoked key is refused on
    #: every server within this bound. 0 reads the database on every call.
    auth_cache_seconds: float = 30.0
    #: PEM certificate chain of the gRPC server; with tls_key_file, serves TLS only.
    tls_cert_file: str = ""
    #: PEM private key of tls_cert_file.
    tls_key_file: str = ""
    #: PEM CA bundle: when set, clients must present a certificate it signed (mutual TLS).
    tls_client_ca_file: str = ""
    #: Secret path segment of the webhook URLs (/webhooks/credly/<token>); empty refuses
    #: every webhook. At least 32 url-safe characters, e.g. `secrets.token_urlsafe(32)`.
    webhook_token: str = dataclasses.field(default="", repr=False)
    #: Seconds between health checks of the database (SELECT 1): gRPC health turns
    #: NOT_SERVING while it does not answer, SERVING when it does again. 0 checks only at
    #: start-up.
    health_check_seconds: float = 5.0
    #: Seconds a health check (and a /metrics scrape's outbox count) waits for the database.
    health_check_timeout_seconds: float = 2.0

    def validate(self) -> Settings:
        if not 0 <= self.grpc_port <= 65535:
            raise SettingsError(f"grpc_port must be 0..65535, got {self.grpc_port}")
        if self.log_format not in ("json", "text"):
            raise SettingsError(f"log_format must be 'json' or 'text', got {self.log_format!r}")
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise SettingsError(
                f"log_level must be DEBUG, INFO, WARNING or ERROR, got {self.log_level!r}"
            )
        if not 0 <= self.http_port <= 65535:
            raise SettingsError(f"http_port must be 0..65535, got {self.http_port}")
        if self.issuance_lease_seconds <= 0:
            raise SettingsError("issuance_lease_seconds must be positive")
        if self.reconcile_interval_seconds < 0:
            raise SettingsError("reconcile_interval_seconds must not be negative")
        if self.replica_sync_seconds < 0:
            raise SettingsError("replica_sync_seconds must not be negative (0 turns it off)")
        if self.event_retention_days < 0:
            raise SettingsError("event_retention_days must not be negative (0 keeps every event)")
        if self.max_events_per_second_per_client < 0:
            raise SettingsError(
                "max_events_per_second_per_client must not be negative (0: no limit)"
            )
        if self.max_batch_events < 1:
            raise SettingsError("max_batch_events must be at least 1")
        if self.provider_emulator not in ("", "demo"):
            raise SettingsError(
                f"provider_emulator must be empty or 'demo', got {self.provider_emulator!r}"
            )
        if self.health_check_seconds < 0:
            raise SettingsError("health_check_seconds must not be negative (0 turns it off)")
        if self.health_check_timeout_seconds <= 0:
            raise SettingsError("health_check_timeout_seconds must be positive")
        if self.shutdown_grace_seconds < 0:
            raise SettingsError("shutdown_grace_seconds must not be negative")
        self._validate_security()
        return self

    def _validate_security(self) -> None:
        if not 0 <= self.auth_cache_seconds <= _MAX_AUTH_CACHE_SECONDS:
            raise SettingsError(
                f"auth_cache_seconds must be 0..{_MAX_AUTH_CACHE_SECONDS:g}, "
                f"got {self.auth_cache_seconds}"
            )
        if bool(self.tls_cert_file) != bool(self.tls_key_file):
            raise SettingsError("tls_cert_file and tls_key_file must be set together")
        if self.tls_client_ca_file and not self.tls_cert_file:
            raise SettingsError("tls_client_ca_file needs tls_cert_file and tls_key_file")
        token = self.webhook_token
        if token and (len(token) < _MIN_WEBHOOK_TOKEN or token.strip(_URL_SAFE)):
            # The value itself is never echoed: it is a secret.
            raise SettingsError(
                f"webhook_token must be at least {_MIN_WEBHOOK_TOKEN} characters of "
                "A-Z a-z 0-9 - _ (python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )


def _boolean(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(raw)


_KINDS = {
    "int": (int, "an integer"),
    "float": (float, "a number"),
    "str": (str, "a string"),
    "bool": (_boolean, "true or false"),
}


def _coerce(name: str, kind: str, raw: Any) -> Any:
    convert, described = _KINDS[kind]
    try:
        return convert(raw)
    except (TypeError, ValueError):
        raise SettingsError(f"{name} must be {described}, got {raw!r}") from None


def load_settings(
    environ: Mapping[str, str] | None = None, config_file: Path | None = None
) -> Settings:
    """Defaults ← TOML file (BADGEFLOW_CONFIG or `config_file`) ← environment."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    path = config_file or (Path(environ[CONFIG_ENV]) if environ.get(CONFIG_ENV) else None)
    known = {f.name: f.type for f in fields(Settings)}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"cannot read settings file {path}: {exc}") from exc
        for key, raw in data.items():
            if key not in known:
                raise SettingsError(f"unknown setting {key!r} in {path}; known: {sorted(known)}")
            values[key] = _coerce(key, known[key], raw)
    for key, kind in known.items():
        env_name = ENV_PREFIX + key.upper()
        if env_name in environ:
            values[key] = _coerce(env_name, kind, environ[env_name])
    return dataclasses.replace(Settings(), **values).validate()
