"""The Open edX event-bus bridge: reads `learning-badges-lifecycle` from Redis Streams
or Kafka, forwards the course-passing events to badgeflow over gRPC, and publishes
badgeflow's awards back as `badge.awarded.v1` / `badge.revoked.v1`.

Run it with `python -m server.bridges.openedx` (docs/openedx.md).
"""

from server.bridges.openedx.config import BridgeConfig, ConfigError, full_topic, parse_config
from server.bridges.openedx.forwarding import Delivery, Disposition, Forwarder, Outcome
from server.bridges.openedx.runner import BridgeStartError, run

__all__ = [
    "BridgeConfig",
    "BridgeStartError",
    "ConfigError",
    "Delivery",
    "Disposition",
    "Forwarder",
    "Outcome",
    "full_topic",
    "parse_config",
    "run",
]
