"""The bridge's configuration: command-line options, each defaulting to an environment
variable named after the Open edX setting it mirrors (see docs/openedx.md)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["BridgeConfig", "ConfigError", "full_topic", "parse_config"]

BASE_TOPIC = "learning-badges-lifecycle"
DEFAULT_GROUP = "badgeflow.learning-badges-lifecycle"
DEFAULT_CONSUMER = "badgeflow.1"
DEFAULT_SERVER = "127.0.0.1:50151"
_REDIS_SCHEMES = ("redis", "rediss", "unix")
_TRUE = ("1", "true", "yes", "on")


class ConfigError(ValueError):
    """A setting the bridge cannot use; the message names it and says what fits."""


def full_topic(prefix: str, topic: str = BASE_TOPIC) -> str:
    """`<prefix>-<topic>` when a prefix is set, else the bare topic (Open edX's rule).

    >>> full_topic("abc"), full_topic("")
    ('abc-learning-badges-lifecycle', 'learning-badges-lifecycle')
    """
    return f"{prefix}-{topic}" if prefix else topic


@dataclass(frozen=True)
class BridgeConfig:
    server: str = DEFAULT_SERVER
    #: badgeflow API key when its auth is on (a `publisher` key sends; publishing awards
    #: back reads them too, so that needs an `admin` key, or use --no-publish-back).
    api_key: str = field(default="", repr=False)
    tls: bool = False
    ca_file: str = ""
    redis_url: str = ""
    kafka_bootstrap_servers: str = ""
    schema_registry_url: str = ""
    topic_prefix: str = ""
    topic: str = BASE_TOPIC
    group: str = DEFAULT_GROUP
    consumer: str = DEFAULT_CONSUMER
    start: str = "all"
    batch_size: int = 500
    claim_idle_ms: int = 60_000
    publish_back: bool = True
    catch_up_days: float = 7.0
    connect_timeout: float = 10.0
    log_format: str = "json"
    log_level: str = "INFO"

    @property
    def stream(self) -> str:
        return full_topic(self.topic_prefix, self.topic)

    @property
    def dead_letter_stream(self) -> str:
        return f"{self.stream}.badgeflow.dead-letter"

    @property
    def state_prefix(self) -> str:
        """Namespace of the bridge's own Redis keys (learners, published changes)."""
        return f"badgeflow:openedx-bridge:{self.stream}:{self.group}"

    def validate(self) -> BridgeConfig:
        if bool(self.redis_url) == bool(self.kafka_bootstrap_servers):
            raise ConfigError(
                "set exactly one bus: --redis-url (OPENEDX_REDIS_URL) or "
                "--kafka-bootstrap-servers (OPENEDX_KAFKA_BOOTSTRAP_SERVERS)"
            )
        if self.redis_url and urlsplit(self.redis_url).scheme not in _REDIS_SCHEMES:
            # Only the scheme is echoed: the rest of the URL may hold a password.
            scheme = urlsplit(self.redis_url).scheme or "(none)"
            raise ConfigError(
                f"OPENEDX_REDIS_URL must start with redis://, rediss:// or unix://, "
                f"got scheme {scheme!r}"
            )
        if self.kafka_bootstrap_servers and not self.schema_registry_url:
            raise ConfigError(
                "Kafka needs --schema-registry-url (OPENEDX_KAFKA_SCHEMA_REGISTRY_URL)"
            )
        if not 1 <= self.batch_size <= 1000:
            raise ConfigError(f"--batch-size must be 1..1000, got {self.batch_size}")
        if self.start not in ("all", "new"):
            raise ConfigError(f"--start must be 'all' or 'new', got {self.start!r}")
        if self.ca_file and not self.tls:
            raise ConfigError("--ca-file (BADGEFLOW_CA_FILE) needs --tls (BADGEFLOW_TLS=1)")
        self.root_certificates()  # readable now, not at the first connection
        return self

    def root_certificates(self) -> bytes | None:
        """The CA file's PEM, or None for the system's roots."""
        if not self.ca_file:
            return None
        try:
            with open(self.ca_file, "rb") as pem:
                return pem.read()
        except OSError as error:
            raise ConfigError(f"cannot read --ca-file {self.ca_file}: {error.strerror}") from None


def _parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m server.bridges.openedx",
        description="Forward Open edX course-passing events from its event bus to "
        "badgeflow, and publish badgeflow's awards back (docs/openedx.md).",
    )
    add = p.add_argument
    add(
        "--server",
        default=env.get("BADGEFLOW_SERVER") or DEFAULT_SERVER,
        help="badgeflow's gRPC address (BADGEFLOW_SERVER)",
    )
    add(
        "--api-key",
        default=env.get("BADGEFLOW_API_KEY", ""),
        help="badgeflow API key when its auth is on (BADGEFLOW_API_KEY); never printed",
    )
    add(
        "--tls",
        action="store_true",
        default=env.get("BADGEFLOW_TLS", "").lower() in _TRUE,
        help="connect to badgeflow over TLS (BADGEFLOW_TLS=1)",
    )
    add(
        "--ca-file",
        default=env.get("BADGEFLOW_CA_FILE", ""),
        help="PEM file of the CA that signed badgeflow's certificate (BADGEFLOW_CA_FILE)",
    )
    add(
        "--redis-url",
        default=env.get("OPENEDX_REDIS_URL", ""),
        help="the event bus's Redis, as EVENT_BUS_REDIS_CONNECTION_URL (OPENEDX_REDIS_URL)",
    )
    add(
        "--kafka-bootstrap-servers",
        default=env.get("OPENEDX_KAFKA_BOOTSTRAP_SERVERS", ""),
        help="as EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS (OPENEDX_KAFKA_BOOTSTRAP_SERVERS)",
    )
    add(
        "--schema-registry-url",
        default=env.get("OPENEDX_KAFKA_SCHEMA_REGISTRY_URL", ""),
        help="as EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL (OPENEDX_KAFKA_SCHEMA_REGISTRY_URL)",
    )
    add(
        "--topic-prefix",
        default=env.get("OPENEDX_TOPIC_PREFIX", ""),
        help="as EVENT_BUS_TOPIC_PREFIX, e.g. 'abc' (OPENEDX_TOPIC_PREFIX)",
    )
    add("--topic", default=env.get("OPENEDX_TOPIC") or BASE_TOPIC)
    add(
        "--group",
        default=env.get("OPENEDX_GROUP") or DEFAULT_GROUP,
        help="the bridge's own consumer group (OPENEDX_GROUP)",
    )
    add(
        "--consumer",
        default=env.get("OPENEDX_CONSUMER") or DEFAULT_CONSUMER,
        help="this replica's consumer name, stable across restarts (OPENEDX_CONSUMER)",
    )
    add(
        "--start",
        choices=("all", "new"),
        default=env.get("OPENEDX_START") or "all",
        help="where a new group starts: the retained stream (all) or its end (new)",
    )
    add("--batch-size", type=int, default=500)
    add(
        "--claim-idle-ms",
        type=int,
        default=60_000,
        help="claim entries another consumer left pending this long",
    )
    add(
        "--no-publish-back",
        dest="publish_back",
        action="store_false",
        default=env.get("OPENEDX_PUBLISH_BACK", "true").lower() in _TRUE,
        help="do not publish badge.awarded/revoked events (OPENEDX_PUBLISH_BACK=false)",
    )
    add(
        "--catch-up-days",
        type=float,
        default=7.0,
        help="how far back a restart looks for awards it did not publish",
    )
    add("--connect-timeout", type=float, default=10.0)
    add("--log-format", choices=("json", "text"), default=env.get("BADGEFLOW_LOG_FORMAT") or "json")
    add("--log-level", default=env.get("BADGEFLOW_LOG_LEVEL") or "INFO")
    return p


def parse_config(
    argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None
) -> BridgeConfig:
    """The configuration from `argv` and `env` (the process's by default), validated."""
    args = _parser(os.environ if env is None else env).parse_args(argv)
    return BridgeConfig(**vars(args)).validate()
