"""Wires the bridge together: the bus consumer, the batching publisher to badgeflow,
and the publisher of awards back to the bus, until asked to stop."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

import redis.asyncio as aioredis
from badgeflow_client.aio import AsyncBadgeflowClient
from badgeflow_client.errors import BadgeflowError, Unavailable
from badgeflow_client.publisher import AsyncEventPublisher
from redis.exceptions import RedisError

from server.bridges.openedx.config import BridgeConfig
from server.bridges.openedx.forwarding import Forwarder
from server.bridges.openedx.publish_back import AwardAnnouncer, RedisBadgeSink, UserDirectory
from server.bridges.openedx.redis_streams import RedisStreamBridge, StreamPosition

__all__ = ["BridgeStartError", "close_publisher", "run"]

_LOG = logging.getLogger("badgeflow.bridge.openedx")
PUBLISHER_CLOSE_TIMEOUT = 10.0
STARTUP_RETRY_SECONDS = 0.5


class BridgeStartError(RuntimeError):
    """The bridge cannot start (a bus or badgeflow unreachable); the message says which."""


async def _check_redis(redis: aioredis.Redis, config: BridgeConfig) -> None:
    try:
        await asyncio.wait_for(redis.ping(), config.connect_timeout)
    except (RedisError, OSError, TimeoutError) as exc:
        raise BridgeStartError(
            f"the event bus's Redis at {config.redis_url} is unreachable: {exc or 'timed out'}"
        ) from exc


async def _check_badgeflow(client: AsyncBadgeflowClient, config: BridgeConfig) -> None:
    """Wait up to `connect_timeout` for badgeflow to answer (it may still be starting,
    e.g. next to the bridge under `make run`)."""
    deadline = time.monotonic() + config.connect_timeout
    while True:
        try:
            await asyncio.wait_for(_probe(client, config), max(0.1, deadline - time.monotonic()))
            return
        except (Unavailable, TimeoutError) as exc:
            if time.monotonic() + STARTUP_RETRY_SECONDS >= deadline:
                raise BridgeStartError(
                    f"badgeflow at {config.server} is unreachable: {exc or 'timed out'}"
                ) from exc
        except BadgeflowError as exc:
            raise BridgeStartError(f"badgeflow at {config.server} refused: {exc}") from exc
        await asyncio.sleep(STARTUP_RETRY_SECONDS)


async def _probe(client: AsyncBadgeflowClient, config: BridgeConfig) -> None:
    """Calls needing the rights the bridge will use, so a key that lacks one is refused
    at start: sending events (publisher), and reading awards to publish them back."""
    await client.publish_events([])
    if config.publish_back:
        await client.get_rules()


async def _first_start(redis: aioredis.Redis, key: str) -> datetime:
    """When the bridge first ran on this stream and group: awards before it are not
    published back (they predate the bridge)."""
    await redis.set(key, datetime.now(UTC).isoformat(), nx=True)
    return datetime.fromisoformat((await redis.get(key)).decode())


async def run(config: BridgeConfig, stop: asyncio.Event) -> None:
    """Run until `stop` is set; raises `BridgeStartError` if it cannot start."""
    client = AsyncBadgeflowClient(
        config.server,
        api_key=config.api_key,
        tls=config.tls,
        root_certificates=config.root_certificates(),
    )
    async with client:
        if config.kafka_bootstrap_servers:
            from server.bridges.openedx.kafka_client import run_kafka

            await _check_badgeflow(client, config)
            await run_kafka(config, stop, client)
            return
        redis = aioredis.from_url(config.redis_url, socket_connect_timeout=config.connect_timeout)
        try:
            await _check_redis(redis, config)
            await _check_badgeflow(client, config)
            await _run_redis(config, redis, client, stop)
        finally:
            await redis.aclose()


async def _run_redis(
    config: BridgeConfig, redis: aioredis.Redis, client: AsyncBadgeflowClient, stop: asyncio.Event
) -> None:
    users = UserDirectory(redis, f"{config.state_prefix}:users")
    position = StreamPosition(
        config.stream,
        config.group,
        config.consumer,
        config.dead_letter_stream,
        "0" if config.start == "all" else "$",
    )
    publisher = client.publisher(batch_size=config.batch_size)
    bridge = RedisStreamBridge(
        redis,
        position,
        Forwarder(publisher, users.remember),
        batch=config.batch_size,
        claim_idle_ms=config.claim_idle_ms,
    )
    _LOG.info("bridge started", extra={"server": config.server, "stream": config.stream})
    try:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(bridge.run(stop))
            if config.publish_back:
                sink = RedisBadgeSink(redis, config.stream, f"{config.state_prefix}:published")
                since = await _first_start(redis, f"{config.state_prefix}:since")
                announcer = AwardAnnouncer(
                    client, sink, users, since, catch_up_seconds=config.catch_up_days * 86400
                )
                tasks.create_task(announcer.run(stop))
    finally:
        await close_publisher(publisher)


async def close_publisher(publisher: AsyncEventPublisher) -> None:
    """Close the publisher. Every batch was settled before this, so nothing waits for
    an acknowledgement; if badgeflow does not end the stream in time the SDK cancels it
    and its runner re-raises that CancelledError, which is not ours to propagate."""
    try:
        await publisher.close(timeout=PUBLISHER_CLOSE_TIMEOUT)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
        _LOG.warning("badgeflow did not end the event stream in time; it was cancelled")
