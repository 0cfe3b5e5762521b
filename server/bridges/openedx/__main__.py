"""`python -m server.bridges.openedx`: run the Open edX event-bus bridge (docs/openedx.md).

SIGTERM or Ctrl-C finish the batch in progress (badgeflow acknowledges it, the bus is
acknowledged), then the process exits 0. Exit code 2: bad configuration, or a bus or
badgeflow unreachable at start (the log says which).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

from server.bridges.openedx.config import BridgeConfig, ConfigError, parse_config
from server.bridges.openedx.runner import BridgeStartError, run
from server.logs import configure_logging

_LOG = logging.getLogger("badgeflow.bridge.openedx")


async def _serve(config: BridgeConfig) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await run(config, stop)
    except BridgeStartError as exc:
        _LOG.error(str(exc))
        return 2
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        config = parse_config(argv)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    configure_logging(config.log_level, config.log_format)
    return asyncio.run(_serve(config))


if __name__ == "__main__":
    sys.exit(main())
