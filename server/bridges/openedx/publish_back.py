"""Publish badgeflow's awards and revocations back onto the Open edX topic as
`org.openedx.learning.badge.awarded.v1` / `.revoked.v1`, as Open edX's credentials
service does, so the LMS can react.

Awards reach the bridge by `WatchAwards`, which streams only from the moment of the
call. Changes made while the bridge was down (or between a commit and its publication
when the bridge was killed) are found by a catch-up at every (re)subscription: for each
learner the bridge has forwarded events for, `ListLearnerAwards`, keeping the changes
at or after the catch-up floor (the first start of the bridge, at most
`catch_up_seconds` ago). Every change has a key (award id, kind, time); the entry is
written and the key recorded in one Redis script, so a change is published once however
often the watch and the catch-up both see it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import redis.asyncio as aioredis
from badgeflow.v1 import progress_pb2
from badgeflow_client.aio import AsyncBadgeflowClient
from badgeflow_client.errors import BadgeflowError, NotFound
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.bridges.openedx import codec
from server.bridges.openedx.envelope import Envelope, to_redis_fields
from server.bridges.openedx.mapping import (
    AWARD_NAMESPACE,
    OpenedxUser,
    TemplateInfo,
    badge_record,
)

__all__ = [
    "DEFAULT_CATCH_UP_SECONDS",
    "SOURCE",
    "SOURCELIB",
    "AwardAnnouncer",
    "BadgeSink",
    "Learners",
    "RedisBadgeSink",
    "UserDirectory",
    "award_envelope",
]

_LOG = logging.getLogger("badgeflow.bridge.openedx")
SOURCE = "openedx/badgeflow/web"
"""The `source` of published events, in Open edX's `openedx/<service>/web` form."""
SOURCELIB = "11.2.0"
"""The openedx-events version whose schemas the published payloads follow."""
DEFAULT_CATCH_UP_SECONDS = 7 * 24 * 3600.0
_KINDS = {
    progress_pb2.AWARD_EVENT_KIND_AWARDED: codec.BADGE_AWARDED,
    progress_pb2.AWARD_EVENT_KIND_REVOKED: codec.BADGE_REVOKED,
}
_CATCH_UP_CONCURRENCY = 16
RETRY_BACKOFF_MAX = 15.0


class UserDirectory:
    """The Open edX users the bridge forwarded events for (id → `UserData`), kept in a
    Redis hash: published badges carry the username and name Open edX sent."""

    def __init__(self, redis: aioredis.Redis, key: str, cache_size: int = 100_000) -> None:
        self._redis = redis
        self._key = key
        self._recent: OrderedDict[str, OpenedxUser] = OrderedDict()
        self._cache_size = cache_size

    async def remember(self, users: Sequence[OpenedxUser]) -> None:
        if users:
            mapping = {str(u.id): json.dumps(u.to_record(), sort_keys=True) for u in users}
            await self._redis.hset(self._key, mapping=mapping)
            for user in users:  # the awards of a batch follow it: spare their look-ups
                self._recent[str(user.id)] = user
                self._recent.move_to_end(str(user.id))
            while len(self._recent) > self._cache_size:
                self._recent.popitem(last=False)

    async def get(self, learner_id: str) -> OpenedxUser | None:
        if learner_id in self._recent:
            return self._recent[learner_id]
        raw = await self._redis.hget(self._key, learner_id)
        return OpenedxUser.from_record(json.loads(raw)) if raw else None

    async def learner_ids(self) -> AsyncIterator[str]:
        async for learner_id, _ in self._redis.hscan_iter(self._key, count=1000):
            yield learner_id.decode()


class Learners(Protocol):
    """The learners to look up and catch up on (`UserDirectory`, or a process's own)."""

    async def get(self, learner_id: str) -> OpenedxUser | None: ...

    def learner_ids(self) -> AsyncIterator[str]: ...


class BadgeSink(Protocol):
    """Where published badge events go; `publish` is False for a key published before."""

    async def publish(self, envelope: Envelope, key: str, score: float) -> bool: ...


_PUBLISH_ONCE = """
if redis.call('ZADD', KEYS[2], 'NX', ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3))
return 1
"""


class RedisBadgeSink:
    """Adds entries in edx-event-bus-redis's layout to the stream, once per key.

    Unlike the LMS's producer it does not trim the stream (`MAXLEN`): trimming here
    could delete entries the bridge's own group has not read yet. The LMS's writes keep
    the stream bounded."""

    def __init__(self, redis: aioredis.Redis, stream: str, published_key: str) -> None:
        self._redis = redis
        self._stream = stream
        self._published = published_key

    async def publish(self, envelope: Envelope, key: str, score: float) -> bool:
        fields = [part for pair in to_redis_fields(envelope).items() for part in pair]
        args = [score, key, *fields]
        keys = [self._stream, self._published]
        return bool(await self._redis.eval(_PUBLISH_ONCE, 2, *keys, *args))

    async def forget_before(self, score: float) -> None:
        await self._redis.zremrangebyscore(self._published, "-inf", f"({score}")


def _moment(stamp: Any) -> datetime:
    return stamp.ToDatetime(tzinfo=UTC)


def award_envelope(
    event_type: str, when: datetime, key: str, record: dict[str, Any], hostname: str
) -> Envelope:
    """The envelope of a published badge event; its id is derived from the change key,
    so the same change always has the same id."""
    return Envelope(
        type=event_type,
        id=str(uuid.uuid5(AWARD_NAMESPACE, key)),
        data=codec.encode(event_type, record),
        source=SOURCE,
        time=when.isoformat(),
        minorversion="0",
        sourcehost=hostname,
        sourcelib=SOURCELIB,
    )


@dataclass(frozen=True)
class _Change:
    kind: int
    award: progress_pb2.Award
    when: datetime

    @property
    def key(self) -> str:
        name = "awarded" if self.kind == progress_pb2.AWARD_EVENT_KIND_AWARDED else "revoked"
        return f"{self.award.id}:{name}:{self.when.isoformat()}"


def _change(kind: int, award: progress_pb2.Award) -> _Change:
    revoked = kind == progress_pb2.AWARD_EVENT_KIND_REVOKED
    return _Change(kind, award, _moment(award.revoke_time if revoked else award.award_time))


def _changes_since(award: progress_pb2.Award, floor: datetime) -> list[_Change]:
    changes = [_change(progress_pb2.AWARD_EVENT_KIND_AWARDED, award)]
    if award.state == progress_pb2.AWARD_STATE_REVOKED and award.HasField("revoke_time"):
        changes.append(_change(progress_pb2.AWARD_EVENT_KIND_REVOKED, award))
    return [c for c in changes if c.when >= floor]


class AwardAnnouncer:
    """Watches badgeflow's awards and publishes each change once."""

    def __init__(
        self,
        client: AsyncBadgeflowClient,
        sink: BadgeSink,
        users: Learners,
        since: datetime,
        *,
        catch_up_seconds: float = DEFAULT_CATCH_UP_SECONDS,
        hostname: str | None = None,
    ) -> None:
        self._client = client
        self._sink = sink
        self._users = users
        self._since = since
        self._catch_up_seconds = catch_up_seconds
        self._hostname = hostname or socket.gethostname()
        self._templates: dict[str, TemplateInfo] = {}
        self.published = 0

    async def run(self, stop: asyncio.Event) -> None:
        backoff = 0.5
        while not stop.is_set():
            try:
                await self._watch(stop)
                backoff = 0.5
            except (BadgeflowError, RedisConnectionError, RedisTimeoutError) as exc:
                _LOG.error("award watch failed; resubscribing", extra={"error": str(exc)})
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), backoff)
                backoff = min(backoff * 2, RETRY_BACKOFF_MAX)

    async def _watch(self, stop: asyncio.Event) -> None:
        watch = self._client.watch_awards()
        stopper = asyncio.create_task(_cancel_on(stop, watch))
        catch_up: asyncio.Task[int] | None = None
        try:
            await watch.wait_subscribed()
            # Live changes are published while the catch-up runs: both are idempotent.
            catch_up = asyncio.create_task(self.catch_up())
            catch_up.add_done_callback(lambda task: _end_watch_if_failed(task, watch))
            async for change in watch:
                await self.announce(_change(change.kind, change.award))
            await catch_up
        finally:
            stopper.cancel()
            watch.cancel()
            if catch_up is not None and not catch_up.done():
                catch_up.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await catch_up

    def floor(self) -> datetime:
        oldest = datetime.fromtimestamp(time.time() - self._catch_up_seconds, UTC)
        return max(self._since, oldest)

    async def catch_up(self) -> int:
        """Publish the changes since the floor of every known learner; returns how many
        were new (not published before)."""
        floor, started, new = self.floor(), time.perf_counter(), 0
        limit = asyncio.Semaphore(_CATCH_UP_CONCURRENCY)
        learners = [learner_id async for learner_id in self._users.learner_ids()]
        found = await asyncio.gather(*(self._learner_changes(i, floor, limit) for i in learners))
        for change in sorted((c for cs in found for c in cs), key=lambda c: c.when):
            new += await self.announce(change)
        if isinstance(self._sink, RedisBadgeSink):
            await self._sink.forget_before(floor.timestamp() - 86400)
        _LOG.info(
            "award catch-up done",
            extra={
                "learners": len(learners),
                "published": new,
                "floor": floor.isoformat(),
                "ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        return new

    async def _learner_changes(
        self, learner_id: str, floor: datetime, limit: asyncio.Semaphore
    ) -> list[_Change]:
        async with limit:
            try:
                response = await self._client.learner_awards(learner_id)
            except NotFound:
                return []
        return [
            c
            for la in response.awards
            if la.HasField("award")
            for c in _changes_since(la.award, floor)
        ]

    async def announce(self, change: _Change) -> bool:
        """Publish one change unless it was published before."""
        award = change.award
        user = await self._user(award.learner_id)
        if user is None:
            return False
        record = badge_record(award.id, user, await self._template(award.template_id))
        event_type = _KINDS[change.kind]
        envelope = award_envelope(event_type, change.when, change.key, record, self._hostname)
        if not await self._sink.publish(envelope, change.key, change.when.timestamp()):
            return False
        self.published += 1
        _LOG.info(
            "badge event published",
            extra={"type": event_type, "award_id": award.id, "learner_id": award.learner_id},
        )
        return True

    async def _user(self, learner_id: str) -> OpenedxUser | None:
        if not learner_id.isdigit():
            _LOG.warning("not an Open edX user id; not published", extra={"learner_id": learner_id})
            return None
        known = await self._users.get(learner_id)
        if known is not None:
            return known
        learner = (await self._client.learner_awards(learner_id)).learner
        name = " ".join(part for part in (learner.first_name, learner.last_name) if part)
        return OpenedxUser(int(learner_id), True, "", learner.email, name)

    async def _template(self, template_id: str) -> TemplateInfo:
        if template_id not in self._templates:
            try:
                t = await self._client.get_template(template_id)
            except NotFound:  # gone since: its id still says provider and external id
                provider, _, external_id = template_id.partition(":")
                return TemplateInfo(provider, external_id)
            self._templates[template_id] = TemplateInfo(
                t.provider, t.external_id, t.name, t.description
            )
        return self._templates[template_id]


def _end_watch_if_failed(task: asyncio.Task[int], watch: Any) -> None:
    """A failed catch-up ends the watch, so `run` subscribes (and catches up) again."""
    if not task.cancelled() and task.exception() is not None:
        watch.cancel()


async def _cancel_on(stop: asyncio.Event, watch: Any) -> None:
    await stop.wait()
    watch.cancel()
