"""The Open edX bridge (`python -m server.bridges.openedx`) on the local Redis against a
real badgeflow server: entries written in Open edX's exact stream layout (built here
from the documented field order and Avro encoding, not with the bridge's own code)
become awards; killing the bridge mid-stream and restarting it loses and repeats
nothing; a malformed entry lands in the dead-letter stream; the awards come back on the
stream as `badge.awarded.v1` entries.
"""

from __future__ import annotations

import asyncio
import inspect
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import fastavro
import pytest
import redis
from badgeflow_client.aio import AsyncBadgeflowClient

from server.auth import Role
from tests.service.conftest import Secured

REPO_ROOT = Path(__file__).resolve().parents[2]
REDIS_URL_ENV = "BADGEFLOW_TEST_REDIS_URL"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
PASSED = "org.openedx.learning.course.passing.status.updated.v1"
CCX_PASSED = "org.openedx.learning.ccx.course.passing.status.updated.v1"
AWARDED = "org.openedx.learning.badge.awarded.v1"
DEMO = "course-v1:OpenedX+DemoX+Demo_Course"
TEMPLATE_UUID = "0e1d0b1a-0000-4000-8000-00000000b001"
TEMPLATE = f"credly:{TEMPLATE_UUID}"
# Repeatable: a passing event processed twice under two ids would award twice, so one
# award per learner shows that nothing was repeated.
RULES = f"""
badge "openedx-bridge-pass" {{
    template credly "{TEMPLATE_UUID}"
    description "Pass any course"
    repeatable
    any passed {{
        require course: on course_passed where is_passing
        require ccx: on ccx_course_passed where is_passing
    }}
}}
"""
DEADLINE = 60.0


# -- Open edX's wire format, from docs (../shared/openedx-eventbus.md §1.2, §3) ------------


def _long(n: int) -> bytes:
    z, out = (n << 1) ^ (n >> 63), bytearray()
    while z > 0x7F:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    return bytes(out) + bytes([z])


def _str(text: str) -> bytes:
    raw = text.encode()
    return _long(len(raw)) + raw


def _bool(value: bool) -> bytes:
    return b"\x01" if value else b"\x00"


NULL = b"\x00"


def _user(user_id: int, username: str, email: str, name: str) -> bytes:
    return _long(user_id) + _bool(True) + _str(username) + _str(email) + _str(name)


def passing_payload(user_id: int, name: str, course: str = DEMO, passing: bool = True) -> bytes:
    """is_passing, course {course_key, display_name, start, end}, user {…}."""
    course_block = _str(course) + _str("") + NULL + NULL
    user = _user(user_id, f"u{user_id}", f"u{user_id}@example.org", name)
    return _bool(passing) + course_block + user


def ccx_payload(user_id: int, name: str, ccx: str, master: str) -> bytes:
    """is_passing, user {…}, course {ccx_course_key, master_course_key, display_name,
    coach_email, start, end, max_students_allowed}."""
    user = _user(user_id, f"u{user_id}", f"u{user_id}@example.org", name)
    return _bool(True) + user + _str(ccx) + _str(master) + _str("") + _str("") + NULL * 3


def entry(event_type: str, data: bytes, event_id: str | None = None) -> dict[str, bytes]:
    """A stream entry as edx-event-bus-redis writes it, fields in its order."""
    return {
        "type": event_type.encode(),
        "id": (event_id or str(uuid.uuid1())).encode(),
        "source": b"openedx/lms/web",
        "time": b"2026-11-23T09:57:44.006525+00:00",
        "minorversion": b"0",
        "sourcehost": b"lms-7d9f",
        "sourcelib": b"11.2.0",
        "event_data": data,
    }


# -- fixtures --------------------------------------------------------------------------


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get(REDIS_URL_ENV, DEFAULT_REDIS_URL)
    probe = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        probe.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis at {url} is unreachable in CI: {exc}")
        pytest.skip(f"no Redis at {url} ({REDIS_URL_ENV} names another): {exc}")
    finally:
        probe.close()
    return url


@dataclass
class Bus:
    """The test's view of the Open edX topic on Redis, under a prefix of its own."""

    r: redis.Redis
    prefix: str

    @property
    def stream(self) -> str:
        return f"{self.prefix}-learning-badges-lifecycle"

    @property
    def dead_letter(self) -> str:
        return f"{self.stream}.badgeflow.dead-letter"

    def add(self, fields: dict[str, bytes]) -> str:
        return self.r.xadd(self.stream, fields).decode()

    def group(self) -> dict:
        """The bridge's consumer group (entries-read, pending, lag); zeros before the
        bridge created it."""
        groups = self.r.xinfo_groups(self.stream)
        if not groups:
            return {"entries-read": 0, "pending": 0, "lag": None}
        return groups[0] | {"entries-read": groups[0]["entries-read"] or 0}  # nil: none yet

    def entries_of(self, event_type: str) -> list[tuple[str, dict[bytes, bytes]]]:
        return [
            (eid.decode(), fields)
            for eid, fields in self.r.xrange(self.stream)
            if fields[b"type"] == event_type.encode()
        ]


@pytest.fixture
def bus(redis_url: str) -> Iterator[Bus]:
    r = redis.Redis.from_url(redis_url)
    b = Bus(r, f"t{uuid.uuid4().hex[:10]}")
    yield b
    keys = [*r.scan_iter(f"{b.prefix}-*"), *r.scan_iter(f"badgeflow:openedx-bridge:{b.stream}:*")]
    if keys:
        r.delete(*keys)
    r.close()


@dataclass
class Bridge:
    process: subprocess.Popen[str]
    log: list[dict] = field(default_factory=list)
    reader: threading.Thread | None = None

    async def frozen_holding_a_stored_batch(self, bus: Bus, client: AsyncBadgeflowClient) -> bool:
        """Freeze the bridge (SIGSTOP) mid-stream; True once badgeflow stored every event
        the bridge read while the bus still waits for the bridge's acknowledgement of
        some: the window where a crash leaves work done but not acknowledged. Otherwise
        let it run on (SIGCONT) and answer False."""
        group = bus.group()
        if not (200 <= group["entries-read"] <= 300 and group["pending"] > 0):
            return False
        self.process.send_signal(signal.SIGSTOP)
        read, end = bus.group()["entries-read"], time.monotonic() + 3
        while time.monotonic() < end:
            if len(await awarded_learners(client)) == read:
                return bus.group()["pending"] > 0
            await asyncio.sleep(0.02)
        self.process.send_signal(signal.SIGCONT)
        return False

    def messages(self) -> list[str]:
        return [e.get("msg", "") for e in self.log]

    def last(self, msg: str) -> dict:
        return [e for e in self.log if e.get("msg") == msg][-1]

    def _stop(self, signum: int) -> int:
        self.process.send_signal(signum)
        code = self.process.wait(60)
        assert self.reader is not None and self.process.stderr is not None
        self.reader.join(60)
        self.process.stderr.close()
        return code

    async def stop(self, signum: int) -> int:
        """Signal the bridge and wait for its exit code, off the loop that serves
        badgeflow (the bridge finishes its batch against it)."""
        return await asyncio.to_thread(self._stop, signum)


def _pump(bridge: Bridge) -> None:
    assert bridge.process.stderr is not None
    for line in bridge.process.stderr:
        try:
            bridge.log.append(json.loads(line))
        except json.JSONDecodeError:
            bridge.log.append({"msg": line.rstrip()})


BridgeFactory = Callable[..., Bridge]


@pytest.fixture
def start_bridge(bus: Bus, redis_url: str, target: str) -> Iterator[BridgeFactory]:
    started: list[Bridge] = []

    def start(*extra: str, server: str = target, url: str = redis_url) -> Bridge:
        argv = [
            sys.executable, "-m", "server.bridges.openedx", "--server", server,
            "--redis-url", url, "--topic-prefix", bus.prefix, "--log-format", "json",
            "--connect-timeout", "3", *extra,
        ]  # fmt: skip
        process = subprocess.Popen(argv, cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True)
        bridge = Bridge(process)
        bridge.reader = threading.Thread(target=_pump, args=(bridge,), daemon=True)
        bridge.reader.start()
        started.append(bridge)
        return bridge

    yield start
    for bridge in started:
        if bridge.process.poll() is None:
            bridge._stop(signal.SIGKILL)


@pytest.fixture
async def client(target: str) -> AsyncIterator[AsyncBadgeflowClient]:
    async with AsyncBadgeflowClient(target) as c:
        await c.apply_rules({"openedx.badge": RULES})
        await c.activate_template(TEMPLATE)
        yield c


async def until(check: Callable[[], bool | Awaitable[bool]], what: str, bridge: Bridge) -> None:
    """Poll `check` (the bridge is another process) until true, or fail with the
    bridge's last log lines after the deadline. Checks are cheap: they block the loop
    that serves badgeflow."""
    end = time.monotonic() + DEADLINE
    while not await _value(check()):
        if time.monotonic() > end or bridge.process.poll() is not None:
            raise AssertionError(f"gave up waiting for {what}; bridge log: {bridge.log[-8:]}")
        await asyncio.sleep(0.02)


async def _value(answer: bool | Awaitable[bool]) -> bool:
    return await answer if inspect.isawaitable(answer) else answer


async def awarded_learners(client: AsyncBadgeflowClient) -> dict[str, int]:
    """learner id → times awarded, for the learners awarded at least once."""
    pager = client.template_progress(TEMPLATE, page_size=1000)
    return {p.learner_id: p.times_awarded async for p in pager if p.times_awarded}


def decode_badges(bus: Bus, event_type: str) -> list[tuple[dict[bytes, bytes], dict]]:
    path = REPO_ROOT / "server/bridges/openedx/schemas" / f"{event_type}.avsc"
    schema = fastavro.parse_schema(json.loads(path.read_text()))
    return [
        (fields, fastavro.schemaless_reader(io.BytesIO(fields[b"event_data"]), schema, schema))
        for _, fields in bus.entries_of(event_type)
        if fields[b"source"] == b"openedx/badgeflow/web"
    ]


# -- tests -----------------------------------------------------------------------------

FIRST, SECOND = 600, 400
MALFORMED = entry(PASSED, b"\x01\x3ecourse-v1:cut")  # a course key cut short


@pytest.mark.slow
async def test_bridge_killed_mid_stream_loses_and_repeats_nothing(
    bus: Bus, client: AsyncBadgeflowClient, start_bridge: BridgeFactory
) -> None:
    learners = {str(1000 + i) for i in range(FIRST + SECOND)}
    for i in range(FIRST):
        bus.add(entry(PASSED, passing_payload(1000 + i, f"Ada{i} King Lovelace")))
        if i == 300:  # entries 302 and 303 of the stream
            malformed_id = bus.add(MALFORMED)
            bus.add(entry(AWARDED, b"credentials-produced"))  # another type: skipped
    first = start_bridge("--batch-size", "50")
    await until(
        lambda: first.frozen_holding_a_stored_batch(bus, client), "a stored, unacked batch", first
    )
    in_flight_at_kill, read_at_kill = bus.group()["pending"], bus.group()["entries-read"]
    assert await first.stop(signal.SIGKILL) == -signal.SIGKILL
    assert 0 < in_flight_at_kill <= 50
    assert read_at_kill < FIRST + 2
    for i in range(FIRST, FIRST + SECOND):  # written while the bridge is down
        bus.add(entry(PASSED, passing_payload(1000 + i, f"Ada{i} King Lovelace")))

    second = start_bridge("--batch-size", "50")
    await until(
        lambda: (
            len(bus.entries_of(AWARDED)) == FIRST + SECOND + 1
            and bus.group()["pending"] == 0
            and bus.group()["lag"] == 0
        ),
        "every entry settled and every award published back",
        second,
    )
    assert await second.stop(signal.SIGTERM) == 0

    assert await awarded_learners(client) == {learner: 1 for learner in learners}
    tally = second.last("stopped")
    # What badgeflow stored but the bus had not acknowledged comes back as duplicates;
    # everything after it is new; the malformed entry is dead-lettered once.
    assert (tally["duplicate"], tally["accepted"], tally["dead_letter"]) == (
        in_flight_at_kill,
        FIRST + SECOND - read_at_kill,
        1,
    )
    published = decode_badges(bus, AWARDED)
    assert sorted(r["badge"]["user"]["id"] for _, r in published) == sorted(map(int, learners))
    assert len({f[b"id"] for f, _ in published}) == len({r["badge"]["uuid"] for _, r in published})
    assert len({f[b"id"] for f, _ in published}) == FIRST + SECOND
    assert bus.r.xlen(bus.dead_letter) == 1
    ((_, dead),) = bus.r.xrange(bus.dead_letter)
    assert dead[b"dead_letter_reason"] == (
        b"not a org.openedx.learning.course.passing.status.updated.v1 Avro payload: "
        b"the bytes end inside the record"
    )
    assert dead[b"dead_letter_entry_id"] == malformed_id.encode()
    assert dead[b"event_data"] == MALFORMED["event_data"]


async def test_events_become_awards_published_back_in_open_edx_format(
    bus: Bus, client: AsyncBadgeflowClient, start_bridge: BridgeFactory
) -> None:
    bus.add(entry(PASSED, passing_payload(7, "Ada King Lovelace")))
    bus.add(entry(PASSED, passing_payload(8, "Ben", passing=False)))
    ccx = "ccx-v1:OpenedX+DemoX+Demo_Course+ccx@3"
    bus.add(entry(CCX_PASSED, ccx_payload(9, "", ccx, DEMO)))
    bridge = start_bridge()
    await until(lambda: len(bus.entries_of(AWARDED)) == 2, "two awards on the stream", bridge)
    await until(lambda: bus.group()["pending"] == bus.group()["lag"] == 0, "all settled", bridge)
    code = await bridge.stop(signal.SIGTERM)

    assert code == 0, "\n".join(bridge.messages())
    counts = {k: bridge.last("stopped")[k] for k in ("accepted", "duplicate", "skipped")}
    assert counts == {"accepted": 3, "duplicate": 0, "skipped": 2}  # skipped: its own two
    assert await awarded_learners(client) == {"7": 1, "9": 1}
    ada, nameless = (
        (await client.learner_progress("7")).learner,
        (await client.learner_progress("9")).learner,
    )
    assert (ada.id, ada.email, ada.first_name, ada.last_name) == (
        "7", "u7@example.org", "Ada", "King Lovelace",
    )  # fmt: skip
    assert (nameless.first_name, nameless.last_name) == ("", "")
    by_user = {r["badge"]["user"]["id"]: (f, r) for f, r in decode_badges(bus, AWARDED)}
    assert sorted(by_user) == [7, 9]
    fields, record = by_user[7]
    assert [k.decode() for k in fields] == [
        "type", "id", "source", "time", "minorversion", "sourcehost", "sourcelib", "event_data",
    ]  # fmt: skip
    assert (fields[b"type"], fields[b"source"], fields[b"minorversion"], fields[b"sourcelib"]) == (
        AWARDED.encode(), b"openedx/badgeflow/web", b"0", b"11.2.0",
    )  # fmt: skip
    assert uuid.UUID(fields[b"id"].decode()).version == 5
    assert record["badge"]["user"] == {
        "id": 7,
        "is_active": True,
        "pii": {"username": "u7", "email": "u7@example.org", "name": "Ada King Lovelace"},
    }
    assert record["badge"]["template"] == {
        "uuid": TEMPLATE_UUID,
        "origin": "credly",
        "name": "openedx-bridge-pass",
        "description": "Pass any course",
        "image_url": None,
    }


REVOKED = "org.openedx.learning.badge.revoked.v1"


async def test_a_revocation_made_while_the_bridge_was_down_is_published_on_restart(
    bus: Bus, client: AsyncBadgeflowClient, start_bridge: BridgeFactory
) -> None:
    bus.add(entry(PASSED, passing_payload(7, "Ada King Lovelace")))
    first = start_bridge()
    await until(lambda: len(bus.entries_of(AWARDED)) == 1, "the award on the stream", first)
    assert await first.stop(signal.SIGTERM) == 0
    (award,) = [la.award for la in (await client.learner_awards("7")).awards]
    await client.revoke_award(award.id, "granted in error")

    second = start_bridge()
    await until(lambda: len(bus.entries_of(REVOKED)) == 1, "the revocation on the stream", second)
    assert await second.stop(signal.SIGTERM) == 0

    ((_, awarded),) = decode_badges(bus, AWARDED)
    ((fields, revoked),) = decode_badges(bus, REVOKED)
    assert revoked == awarded  # the same badge (uuid), learner and template
    assert fields[b"type"] == REVOKED.encode()
    assert second.last("award catch-up done")["published"] == 1


async def test_entries_left_pending_by_a_dead_consumer_are_claimed(
    bus: Bus, client: AsyncBadgeflowClient, start_bridge: BridgeFactory
) -> None:
    for user_id in (7, 8, 9):
        bus.add(entry(PASSED, passing_payload(user_id, "Ada Lovelace")))
    bus.r.xgroup_create(bus.stream, "badgeflow.learning-badges-lifecycle", id="0")
    group = "badgeflow.learning-badges-lifecycle"
    bus.r.xreadgroup(group, "badgeflow.2", {bus.stream: ">"}, count=3)  # then it died
    assert bus.group()["pending"] == 3

    bridge = start_bridge("--claim-idle-ms", "1")
    await until(lambda: len(bus.entries_of(AWARDED)) == 3, "three awards", bridge)
    await until(lambda: bus.group()["pending"] == bus.group()["lag"] == 0, "all settled", bridge)
    assert await bridge.stop(signal.SIGTERM) == 0
    assert await awarded_learners(client) == {"7": 1, "8": 1, "9": 1}
    assert bridge.last("stopped")["accepted"] == 3


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(
            {"url": "redis://127.0.0.1:1/0"},
            "the event bus's Redis at redis://127.0.0.1:1/0 is unreachable: ",
            id="redis-down",
        ),
        pytest.param(
            {"server": "127.0.0.1:1"},
            "badgeflow at 127.0.0.1:1 is unreachable: ",
            id="badgeflow-down",
        ),
        pytest.param(
            {"url": "http://127.0.0.1:6379"},
            "error: OPENEDX_REDIS_URL must start with redis://, rediss:// or unix://, "
            "got scheme 'http'",
            id="bad-url",
        ),
    ],
)
async def test_the_bridge_refuses_to_start_and_says_why(
    options: dict[str, str], message: str, start_bridge: BridgeFactory
) -> None:
    bridge = start_bridge(**options)
    code = await asyncio.to_thread(bridge.process.wait, 60)
    await bridge.stop(signal.SIGTERM)
    assert code == 2
    assert [m for m in bridge.messages() if m.startswith(message)] != [], bridge.messages()


async def test_a_stream_trimmed_past_the_group_is_reported(
    bus: Bus, client: AsyncBadgeflowClient, start_bridge: BridgeFactory
) -> None:
    first = bus.add(entry(PASSED, passing_payload(7, "Ada Lovelace")))
    group = "badgeflow.learning-badges-lifecycle"
    bus.r.xgroup_create(bus.stream, group, id="0")
    bus.r.xreadgroup(group, "badgeflow.1", {bus.stream: ">"}, count=1)
    bus.r.xack(bus.stream, group, first)  # an earlier run read the first entry
    bus.add(entry(PASSED, passing_payload(8, "Ben")))  # trimmed before it was read
    kept = bus.add(entry(PASSED, passing_payload(9, "Chen")))
    bus.r.xtrim(bus.stream, maxlen=1, approximate=False)  # what the LMS's MAXLEN does

    bridge = start_bridge("--no-publish-back")
    await until(
        lambda: bus.group()["pending"] == 0 and bus.group()["last-delivered-id"] == kept.encode(),
        "the kept entry settled",
        bridge,
    )
    assert await bridge.stop(signal.SIGTERM) == 0
    warning = bridge.last(
        "the stream was trimmed past this group's position: entries may be lost to it; "
        "raise Open edX's EVENT_BUS_REDIS_STREAM_MAX_LEN above a downtime's backlog"
    )
    assert (warning["level"], warning["oldest_entry"]) == ("warning", kept)
    assert bridge.last("stopped")["accepted"] == 1


@pytest.mark.parametrize(
    ("role", "extra", "message"),
    [
        pytest.param(
            None, (), "badgeflow at {target} refused: this server needs an API key", id="no-key"
        ),
        pytest.param(
            Role.PUBLISHER,
            (),
            "badgeflow at {target} refused: this RPC needs a reader key; key ",
            id="publisher-key-cannot-read-awards-back",
        ),
        pytest.param(
            Role.READER,
            ("--no-publish-back",),
            "badgeflow at {target} refused: this RPC needs a publisher key; key ",
            id="reader-key-cannot-send",
        ),
    ],
)
async def test_with_auth_on_the_bridge_needs_a_key_with_its_rights(
    secured: Secured,
    start_bridge: BridgeFactory,
    role: Role | None,
    extra: tuple[str, ...],
    message: str,
) -> None:
    key = ("--api-key", secured.keys[role]) if role is not None else ()
    bridge = start_bridge(*key, *extra, server=secured.target)
    code = await asyncio.to_thread(bridge.process.wait, 60)
    await bridge.stop(signal.SIGTERM)
    expected = message.format(target=secured.target)
    assert code == 2
    assert [m for m in bridge.messages() if m.startswith(expected)] != [], bridge.messages()
    assert all(k not in m for m in bridge.messages() for k in secured.keys.values())


async def test_with_auth_on_an_admin_key_sends_and_publishes_back(
    bus: Bus, secured: Secured, start_bridge: BridgeFactory
) -> None:
    bus.add(entry(PASSED, passing_payload(7, "Ada Lovelace")))
    bridge = start_bridge("--api-key", secured.keys[Role.ADMIN], server=secured.target)
    await until(lambda: "bridge started" in bridge.messages(), "the bridge started", bridge)
    await until(lambda: bus.group()["pending"] == bus.group()["lag"] == 0, "all settled", bridge)
    assert await bridge.stop(signal.SIGTERM) == 0
    assert bridge.last("stopped")["accepted"] == 1
