"""Every badgectl command against a real server and the bundled emulator over real HTTP.

One scenario walks an admin's day: connect Credly (the emulator) and sync, write, test
and apply rules, send events, watch awards, look at learners as they and as an admin see
them, grant, revoke and re-issue, add a rule and backfill it, then manage API keys. The
test drives issuance itself (no background worker), so every provider state is known when
it is printed. The scenario records the commands it ran and fails if a command of the parser
was not run: a new command needs its step here.
"""

from __future__ import annotations

import asyncio
import json
import math
import queue
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from badgeflow_client import AwardWatch, BadgeflowClient, event_from_dict
from badgeflow_client.cli import build_parser, commands, main, meter

from server.app import App, build_server
from server.providers.emulator import (
    DEMO_CREDLY_ORG_ID,
    DEMO_CREDLY_TOKEN,
    EmulatorServer,
    EmulatorState,
    seed_demo,
)
from server.reconcile import reconcile_connection
from server.settings import Settings
from server.store import connections as connections_repo
from server.worker.issuance import IssuanceWorker
from server.worker.policy import RetryPolicy
from tests.conftest import TEST_SECRET_KEY

PASSED = "org.openedx.learning.course.passing.status.updated.v1"
CONNECTION = f"credly:{DEMO_CREDLY_ORG_ID}"
NOW = "YYYY-MM-DD HH:MMZ"
"""Stands for a time set while the test runs (as long as a real one, so tables align)."""
DIRECT_ISSUED = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
WEB = "https://www.credly.emulator.test/badges"


def skill(n: int) -> str:
    """The emulator's demo template n ("Demo Skill 0n"), as badgeflow names it."""
    return f"credly:00000000-0000-4000-8000-{n:012d}"


GRADUATE, TWO_COURSES, OTHER, DIRECT = skill(2), skill(3), skill(4), skill(5)
RULES = f"""badge "demo-graduate" {{
    template credly "{GRADUATE.split(":")[1]}"
    require on course_passed where is_passing and course.course_key == "DEMO"
}}

badge "two-courses" {{
    template credly "{TWO_COURSES.split(":")[1]}"
    require a: on course_passed where is_passing and course.course_key == "A"
    require b: on course_passed where is_passing and course.course_key == "B"
}}
"""
OTHER_RULES = f"""badge "other-course" {{
    template credly "{OTHER.split(":")[1]}"
    require on course_passed where is_passing and course.course_key == "OTHER"
}}
"""
NAMES = {"ada": ("Ada", "Lovelace"), "ben": ("Ben", "Okri"), "chen": ("Chen", "Wu")}
WHERE = "on course_passed where is_passing and course.course_key =="


def event(event_id: str, learner: str | None, course: str) -> str:
    obj: dict[str, Any] = {
        "id": event_id,
        "type": PASSED,
        "occurred_at": "2026-11-23T10:00:00Z",
        "payload": {"is_passing": True, "course": {"course_key": course}},
    }
    if learner:
        first, last = NAMES[learner]
        obj["learner"] = {
            "id": learner,
            "email": f"{learner}@example.org",
            "first_name": first,
            "last_name": last,
        }
    return json.dumps(obj) + "\n"


def masked(text: str) -> str:
    """`text` with every time but the fixed one of the direct badge replaced by NOW."""
    fixed = DIRECT_ISSUED.strftime("%Y-%m-%d %H:%MZ")
    return re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\dZ", lambda m: m[0] if m[0] == fixed else NOW, text)


class Result(NamedTuple):
    code: int
    out: str
    err: str


@dataclass
class Scene:
    """The server, the emulator, and badgectl run as a user would, in a worker thread
    (its gRPC calls are synchronous and the server shares this event loop)."""

    app: App
    emulator: EmulatorServer
    workdir: Path
    capsys: pytest.CaptureFixture[str]
    monkeypatch: pytest.MonkeyPatch
    ran: set[tuple[str, ...]] = field(default_factory=set)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.app.port}"

    async def run(self, *argv: str) -> Result:
        full = ["--server", self.target, *argv]
        args = build_parser().parse_args(full)
        self.ran.add((args.command, args.action))
        code = await asyncio.to_thread(main, full)
        out, err = self.capsys.readouterr()
        return Result(code, masked(out), err)

    async def json(self, *argv: str) -> Any:
        code, out, err = await self.run("--json", *argv)
        assert (code, err) == (0, ""), (code, out, err)
        return json.loads(out)

    async def json_lines(self, *argv: str) -> list[Any]:
        code, out, err = await self.run("--json", *argv)
        assert (code, err) == (0, ""), (code, out, err)
        return [json.loads(line) for line in out.splitlines()]

    async def sdk(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        def call() -> Any:
            with BadgeflowClient(self.target) as client:
                return method(client, *args, **kwargs)

        return await asyncio.to_thread(call)

    async def issue(self) -> int:
        """Run the issuance worker until nothing is due; how many items it handled."""
        worker = IssuanceWorker(
            self.app.runner, self.app.providers.registry, policy=RetryPolicy(base_delay=0)
        )
        handled = 0
        while claimed := await worker.run_once():
            handled += claimed
        return handled

    async def reconcile(self) -> None:
        """Read the provider's badges back now, as the periodic sweep does."""
        record = await self.app.runner.read(
            lambda s: connections_repo.get_connection(s, CONNECTION)
        )
        client = self.app.providers.registry.client(CONNECTION)
        assert record is not None and client is not None
        await reconcile_connection(self.app.runner, record, client, None, datetime.now(UTC))

    def badge_id(self, email: str, template_id: str) -> str:
        """The emulated Credly's live badge for a recipient and a template."""
        (badge,) = [
            b
            for b in self.emulator.state.credly_badges(DEMO_CREDLY_ORG_ID)
            if b["recipient_email"] == email
            and b["badge_template"]["id"] == template_id.split(":")[1]
            and b["state"] not in ("revoked", "rejected")
        ]
        return str(badge["id"])

    def fail_next_issue(self) -> None:
        """The emulated Credly refuses the next badge it is asked to create (422)."""
        faults = self.emulator.faults
        faults.error_status, faults.error_next, faults.methods = 422, 1, frozenset({"POST"})

    async def watching(self, argv: list[str], action: Callable[[], Any]) -> Result:
        """Run a watching command (`awards watch`, `events tail`) and, once it is
        subscribed, `action()` in a thread."""
        watches: queue.Queue[AwardWatch] = queue.Queue()
        watch_awards = BadgeflowClient.watch_awards

        def spying(client: BadgeflowClient, *args: Any, **kwargs: Any) -> AwardWatch:
            watch = watch_awards(client, *args, **kwargs)
            watches.put(watch)
            return watch

        self.monkeypatch.setattr(BadgeflowClient, "watch_awards", spying)
        watching = asyncio.ensure_future(self.run(*argv))

        def act() -> None:
            watches.get(timeout=10).wait_subscribed(timeout=10)
            action()

        await asyncio.to_thread(act)
        result = await watching
        self.monkeypatch.setattr(BadgeflowClient, "watch_awards", watch_awards)
        return result


@pytest.fixture
async def emulator() -> AsyncIterator[EmulatorServer]:
    state = EmulatorState()
    seed_demo(state)
    async with EmulatorServer(state) as server:
        yield server


@pytest.fixture
async def quiet_app(tmp_path: Path) -> AsyncIterator[App]:
    """A server whose issuance the test drives itself (no background worker)."""
    settings = Settings(
        grpc_port=0,
        database_url=f"sqlite:///{tmp_path / 'ctl.db'}",
        secret_key=TEST_SECRET_KEY,
        http_port=0,
        issuance_worker=False,
        reconcile_interval_seconds=0,
        shutdown_grace_seconds=1.0,
    )
    app = await build_server(settings)
    try:
        yield app
    finally:
        await app.stop(1.0)


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(meter, "PROGRESS_INTERVAL", math.inf)  # no timing-dependent lines
    monkeypatch.setenv("BADGEFLOW_PROVIDER_TOKEN", DEMO_CREDLY_TOKEN)
    for name in ("BADGEFLOW_SERVER", "BADGEFLOW_API_KEY", "BADGEFLOW_TLS", "BADGEFLOW_CA_FILE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


# -- the scenario, step by step ---------------------------------------------------


async def connect_and_sync(scene: Scene) -> None:
    url = scene.emulator.credly_url
    assert await scene.run(
        "providers", "connect", "credly", DEMO_CREDLY_ORG_ID, "--base-url", url
    ) == (
        0,
        f"connected {CONNECTION}  active  Demo Academy  {url}\n"
        "55 new template(s), inactive until activated\n",
        "",
    )
    assert await scene.run("providers", "list") == (
        0,
        "ID                                           STATE   NAME          API\n"
        f"{CONNECTION}  active  Demo Academy  {url}\n",
        "",
    )
    assert await scene.run("templates", "sync") == (
        0,
        f"synced {CONNECTION}: 0 created, 0 updated, 0 deactivated\n",
        "",
    )
    credly = scene.emulator.state.credly
    credly.add_template(DEMO_CREDLY_ORG_ID, "Late Addition", template_id="late-1")
    assert await scene.run("providers", "sync", CONNECTION) == (
        0,
        f"synced {CONNECTION}: 1 created, 0 updated, 0 deactivated\n  created credly:late-1\n",
        "",
    )
    credly.update_template(DEMO_CREDLY_ORG_ID, "late-1", name="Late Addition, renamed")
    assert await scene.json_lines("templates", "sync", CONNECTION) == [
        {"connection_id": CONNECTION, "updated_template_ids": ["credly:late-1"]}
    ]
    assert await scene.run("templates", "list", "--active") == (0, "ID  ACTIVE  BADGE  NAME\n", "")
    listed = await scene.json_lines("templates", "list")
    assert len(listed) == 56
    assert listed[-1] == {
        "id": "credly:late-1",
        "name": "Late Addition, renamed",
        "provider": "credly",
        "external_id": "late-1",
        **{
            k: v
            for k, v in listed[-1].items()
            if k not in ("id", "name", "provider", "external_id")
        },
    }
    assert await scene.run("templates", "deactivate", "credly:late-1") == (
        0,
        "deactivated credly:late-1\n",
        "",
    )
    assert await scene.run("templates", "show", "credly:nope") == (
        3,
        "",
        "badgectl: no template 'credly:nope'; list templates to see the ids\n",
    )


async def write_and_apply_rules(scene: Scene) -> None:
    (scene.workdir / "skills.badge").write_text(RULES)
    (scene.workdir / "skills.events.jsonl").write_text(
        event("t1", "ada", "DEMO") + event("t2", "ben", "A") + event("t3", "ben", "B")
    )
    (scene.workdir / "skills.expect.json").write_text(
        json.dumps(
            {
                "badges": {
                    GRADUATE: {"awarded": ["ada"], "not_awarded": ["ben"]},
                    TWO_COURSES: {"awarded": ["ben"], "not_awarded": ["ada"]},
                }
            }
        )
    )
    assert await scene.run("rules", "check", "skills.badge") == (
        0,
        "ok: 1 file(s), 0 error(s), 0 warning(s)\n",
        "",
    )
    assert await scene.run("rules", "test", "skills.badge") == (
        0,
        "ok   skills.badge (3 events, 4 checks)\n1 passed, 0 failed\n",
        "",
    )
    assert await scene.run("rules", "validate", "skills.badge") == (
        0,
        "valid: 2 badge(s), 0 warning(s)\n",
        "",
    )
    assert await scene.run("rules", "plan", "skills.badge") == (
        0,
        "plan against rules version 0 (0 logged events replayed)\n"
        f"  added     {GRADUATE}  demo-graduate: a backfill would award 0 learner(s) "
        "(template inactive)\n"
        f"  added     {TWO_COURSES}  two-courses: a backfill would award 0 learner(s) "
        "(template inactive)\n"
        "apply exactly this: badgectl rules apply --expected-version 0 skills.badge\n",
        "",
    )
    assert await scene.run("rules", "apply", "skills.badge") == (
        0,
        "applied rules version 1\n",
        "",
    )
    code, out, err = await scene.run("rules", "show")
    assert (code, out.splitlines()[:3], err) == (
        0,
        [
            f"version 1, applied at {NOW}",
            f"badge demo-graduate -> {GRADUATE}: 1 group(s), 1 requirement(s), 0 penalty(ies)",
            f"badge two-courses -> {TWO_COURSES}: 2 group(s), 2 requirement(s), 0 penalty(ies)",
        ],
        "",
    )
    assert out.endswith(f"--- skills.badge\n{RULES}")
    for template in (GRADUATE, TWO_COURSES):
        assert await scene.run("templates", "activate", template) == (
            0,
            f"activated {template}\n",
            "",
        )
    assert await scene.run("templates", "show", TWO_COURSES) == (
        0,
        f"id:          {TWO_COURSES}\n"
        "name:        Demo Skill 03\n"
        "active:      yes\n"
        "badge:       two-courses\n"
        "repeatable:  no\n"
        "description: Demo Skill 03 description\n"
        f'requirement  g1/a: {WHERE} "A"\n'
        f'requirement  g2/b: {WHERE} "B"\n',
        "",
    )


async def send_events(scene: Scene) -> None:
    (scene.workdir / "broken.jsonl").write_text(event("x1", "ada", "DEMO") + "{not json\n")
    assert await scene.run("events", "send", "broken.jsonl") == (
        2,
        "",
        "badgectl: broken.jsonl:2: not valid JSON: Expecting property name enclosed in "
        "double quotes\n",
    )
    (scene.workdir / "day1.jsonl").write_text(
        event("e1", "ada", "DEMO")
        + event("e2", "ada", "A")
        + event("e3", "ben", "DEMO")
        + event("e4", "chen", "OTHER")
        + event("e5", None, "DEMO")
        + event("e6", "chen", "A")
    )
    assert await scene.run(
        "events", "send", "day1.jsonl", "--batch-size", "2", "--rate", "100000"
    ) == (
        1,
        "sent 6: accepted 5, duplicate 0, rejected 1\n"
        "  rejected e5: MISSING_LEARNER: event.learner.id is empty: "
        "say which learner the event is about\n",
        "",
    )
    assert await scene.issue() == 2  # ada's and ben's demo-graduate

    def send_e7() -> None:
        with BadgeflowClient(scene.target) as client:
            client.publish_events([event_from_dict(json.loads(event("e7", "ada", "B")))])

    watched = await scene.watching(["awards", "watch", "--learner", "ada", "--count", "1"], send_e7)
    assert watched == (
        0,
        f"AWARDED {TWO_COURSES} (two-courses) learner ada #1 award 3\n",
        "badgectl: watching awards\n",
    )
    assert await scene.issue() == 1


async def look_at_progress(scene: Scene) -> None:
    assert await scene.run("progress", "learner", "chen") == (
        0,
        "learner chen\n"
        "\n"
        "In progress (1)\n"
        "BADGE        NAME           PROGRESS  REMAINING\n"
        f'two-courses  Demo Skill 03  50%       {WHERE} "B"\n'
        "\n"
        "Available (1)\n"
        "BADGE          NAME           HOW TO EARN\n"
        f'demo-graduate  Demo Skill 02  {WHERE} "DEMO"\n'
        "\n"
        "Earned (0)\n",
        "",
    )
    ada_graduate = scene.badge_id("ada@example.org", GRADUATE)
    ada_two = scene.badge_id("ada@example.org", TWO_COURSES)
    assert await scene.run("progress", "learner", "ada") == (
        0,
        "learner ada\n\nIn progress (0)\n\nAvailable (0)\n\nEarned (2)\n"
        "BADGE          NAME           STATE    AWARDED            EXPIRES  URL\n"
        f"two-courses    Demo Skill 03  pending  {NOW}  -        "
        f"accept at {WEB}/{ada_two}/accept\n"
        f"demo-graduate  Demo Skill 02  pending  {NOW}  -        "
        f"accept at {WEB}/{ada_graduate}/accept\n",
        "",
    )
    scene.emulator.state.credly.set_badge_state(DEMO_CREDLY_ORG_ID, ada_two, "accepted")
    await scene.reconcile()
    board = await scene.json("progress", "learner", "ada")
    assert [
        (e["award_id"], e["badge"], e["state"], e.get("badge_url"), e.get("accept_url"))
        for e in board["earned"]
    ] == [
        ("3", "two-courses", "EARNED_BADGE_STATE_ACCEPTED", f"{WEB}/{ada_two}", None),
        (
            "1",
            "demo-graduate",
            "EARNED_BADGE_STATE_PENDING",
            f"{WEB}/{ada_graduate}",
            f"{WEB}/{ada_graduate}/accept",
        ),
    ]
    assert await scene.run("progress", "learner", "ben", "--detail") == (
        0,
        "learner ben (ben@example.org, Ben Okri)\n"
        f"{GRADUATE}  demo-graduate  100% (1/1 groups)  awarded #1 at {NOW}\n"
        "  group g1: fulfilled by r1\n"
        f'    [x] r1: {WHERE} "DEMO"\n',
        "",
    )
    assert await scene.run("progress", "learner", "nobody", "--detail") == (
        3,
        "",
        "badgectl: no events were ever received for learner 'nobody'\n",
    )
    assert await scene.run("progress", "template", GRADUATE, "--completed") == (
        0,
        "LEARNER  PERCENT  GROUPS  UPDATED            AWARD\n"
        f"ada      100%     1/1     {NOW}  awarded #1 at {NOW}\n"
        f"ben      100%     1/1     {NOW}  awarded #1 at {NOW}\n",
        "",
    )
    assert await scene.run(
        "progress", "template", TWO_COURSES, "--in-progress", "--min-percent", "50"
    ) == (
        0,
        "LEARNER  PERCENT  GROUPS  UPDATED            AWARD\n"
        f"chen     50%      1/2     {NOW}  not awarded\n",
        "",
    )
    records = await scene.json_lines(
        "progress", "template", GRADUATE, "--updated-after", "2026-01-01", "--limit", "1"
    )
    assert [(r["learner_id"], r["percent"], r["award"]["id"]) for r in records] == [
        ("ada", 100.0, "1")
    ]
    assert await scene.run(
        "progress", "template", GRADUATE, "--updated-after", "2999-01-01T00:00Z"
    ) == (0, "LEARNER  PERCENT  GROUPS  UPDATED  AWARD\n", "")


async def admin_badges(scene: Scene) -> None:
    direct = scene.emulator.state.credly.issue(
        DEMO_CREDLY_ORG_ID,
        {
            "badge_template_id": DIRECT.split(":")[1],
            "recipient_email": "ada@example.org",
            "issued_to_first_name": "Ada",
            "issued_to_last_name": "Lovelace",
            "issued_at": DIRECT_ISSUED,
        },
    )
    await scene.reconcile()
    assert await scene.run("badges", "list", "ada") == (
        0,
        "learner ada (ada@example.org, Ada Lovelace)\n"
        "AWARD  BADGE          NAME           STATE    ORIGIN       AWARDED            "
        "EXPIRES  PROVIDER  EVENTS\n"
        f"1      demo-graduate  Demo Skill 02  awarded  rules        {NOW}  -        "
        "pending   e1\n"
        f"3      two-courses    Demo Skill 03  awarded  rules        {NOW}  -        "
        "accepted  e2, e7\n"
        "-      -              Demo Skill 05  -        on provider  2026-11-20 09:30Z  -        "
        "pending   -\n",
        "",
    )
    ada_graduate = scene.badge_id("ada@example.org", GRADUATE)
    assert await scene.run("badges", "provider", "--learner", "ada") == (
        0,
        "BADGE                                        STATE     RECIPIENT        TEMPLATE"
        "                              ISSUED             EXPIRES  AWARD\n"
        f"credly:{ada_graduate}  pending   ada@example.org  {GRADUATE.split(':')[1]}  "
        f"{NOW}  -        1\n"
        f"credly:{scene.badge_id('ada@example.org', TWO_COURSES)}  accepted  ada@example.org  "
        f"{TWO_COURSES.split(':')[1]}  {NOW}  -        3\n"
        f"credly:{direct.id}  pending   ada@example.org  {DIRECT.split(':')[1]}  "
        "2026-11-20 09:30Z  -        on provider\n",
        "",
    )

    # A grant, seen by `events tail`; granting what is held is refused.
    def grant_dara() -> None:
        with BadgeflowClient(scene.target) as client:
            client.grant_award(
                TWO_COURSES,
                "dara",
                "finished both courses on paper",
                email="dara@example.org",
                first_name="Dara",
                last_name="Diaz",
            )

    tailed = await scene.watching(
        ["events", "tail", "--template", TWO_COURSES, "--count", "1"], grant_dara
    )
    assert tailed == (
        0,
        f"AWARDED {TWO_COURSES} (two-courses) learner dara #1 award 4\n",
        "badgectl: watching awards\n",
    )
    assert await scene.issue() == 1  # dara's
    scene.fail_next_issue()
    assert await scene.run(
        "badges", "grant", GRADUATE, "chen", "--reason", "passed DEMO before it was tracked"
    ) == (
        0,
        f"granted {GRADUATE} (demo-graduate) to chen: award 5, issuing on the provider\n",
        "",
    )
    code, out, err = await scene.run("badges", "grant", GRADUATE, "chen", "--reason", "again")
    assert (code, out, err) == (
        4,
        "",
        f"badgectl: learner 'chen' already holds '{GRADUATE}' (award 5); "
        "a grant is for a learner who has not earned it\n",
    )
    assert await scene.issue() == 1  # chen's, refused (422)

    # The refused issuance, retried from the queue.
    code, out, err = await scene.run("issuances", "list", "--state", "failed")
    assert (code, err) == (0, "")
    assert out.splitlines()[0].split() == [
        "ID", "STATE", "ACTION", "AWARD", "TEMPLATE", "ATTEMPTS", "NEXT", "TRY", "DETAIL"
    ]  # fmt: skip
    (failed,) = out.splitlines()[1:]
    issuance_id, state, action, award, template = failed.split()[:5]
    assert (state, action, award, template) == ("failed", "issue", "5", GRADUATE)
    assert "HTTP 422" in failed
    assert await scene.run("issuances", "retry", issuance_id) == (
        0,
        f"issuance {issuance_id} queued again\n",
        "",
    )
    assert await scene.issue() == 1
    assert (await scene.json_lines("issuances", "list", "--state", "failed")) == []

    # An award whose badge the earner declined, issued again.
    ben_graduate = scene.badge_id("ben@example.org", GRADUATE)
    scene.emulator.state.credly.set_badge_state(DEMO_CREDLY_ORG_ID, ben_graduate, "rejected")
    await scene.reconcile()
    assert await scene.run("badges", "retry", "2") == (
        0,
        "award 2 queued for issuing again (issuance 6)\n",
        "",
    )
    assert await scene.run("badges", "retry", "2") == (
        4,
        "",
        "badgectl: award 2 is being issued (issuance 6); wait for it, or retry it if it fails\n",
    )
    assert await scene.issue() == 1
    assert scene.badge_id("ben@example.org", GRADUATE) != ben_graduate

    # A revocation, here at once and on the provider through the queue.
    assert await scene.run("badges", "revoke", "1", "--reason", "issued in error") == (
        0,
        "revoked award 1\n",
        "",
    )
    assert await scene.run("badges", "revoke", "1", "--reason", "twice") == (
        4,
        "",
        "badgectl: award 1 was already revoked (issued in error)\n",
    )
    assert await scene.issue() == 1
    awards = await scene.json("badges", "list", "ada", "--exclude-revoked")
    assert [
        (a.get("award", {}).get("id"), a.get("issued_on_provider", False)) for a in awards["awards"]
    ] == [
        ("3", False),
        (None, True),
    ]
    assert await scene.run("badges", "list", "nobody") == (
        3,
        "",
        "badgectl: no events were ever received for learner 'nobody'\n",
    )


async def add_a_rule_and_backfill(scene: Scene) -> None:
    (scene.workdir / "other.badge").write_text(OTHER_RULES)
    code, out, err = await scene.run("rules", "plan", "skills.badge", "other.badge")
    assert (code, err) == (0, "")
    assert (
        f"  added     {OTHER}  other-course: a backfill would award 1 learner(s) "
        "(template inactive)\n"
        "            learners: chen\n"
    ) in out
    assert await scene.run(
        "rules", "apply", "--expected-version", "1", "skills.badge", "other.badge"
    ) == (0, "applied rules version 2\n", "")
    assert await scene.run("rules", "backfill", OTHER) == (
        4,
        "",
        f"badgectl: template '{OTHER}' is inactive: activate it first "
        "(only active templates are earned, live or by a backfill)\n",
    )
    assert await scene.run("rules", "backfill", "credly:nope") == (
        3,
        "",
        "badgectl: no template 'credly:nope'; list templates to see the ids\n",
    )
    assert (await scene.run("templates", "activate", OTHER)).code == 0

    scene.monkeypatch.setattr(meter, "PROGRESS_INTERVAL", 0.0)  # a line per progress message
    code, out, err = await scene.run("rules", "backfill", "--dry-run", OTHER)
    assert err.splitlines()[-1] == "replayed 6/6 events, 3 learner(s), 1 award(s) so far"
    assert all(re.fullmatch(r"replayed \d/6 events, .* so far", line) for line in err.splitlines())
    scene.monkeypatch.setattr(meter, "PROGRESS_INTERVAL", math.inf)
    assert (code, out, "") == (
        0,
        "dry run, nothing written: 6 event(s) replayed for 3 learner(s), 1 award(s) would be "
        "made\n"
        "TEMPLATE                                     BADGE         WOULD AWARD  ALREADY HELD  "
        "REVOKED BY ADMIN  PROGRESS UPDATED\n"
        f"{OTHER}  other-course  1            0             0                 1\n"
        f"would award {OTHER} to chen\n",
        "",
    )
    assert await scene.run("rules", "backfill", OTHER) == (
        0,
        "backfilled: 6 event(s) replayed for 3 learner(s), 1 award(s)\n"
        "TEMPLATE                                     BADGE         AWARDED  ALREADY HELD  "
        "REVOKED BY ADMIN  PROGRESS UPDATED\n"
        f"{OTHER}  other-course  1        0             0                 1\n",
        "",
    )
    summary = await scene.json("rules", "backfill")
    assert summary["done"] is True
    assert {r["template_id"]: r.get("awards", "0") for r in summary["results"]} == {
        GRADUATE: "0",
        TWO_COURSES: "0",
        OTHER: "0",
    }
    assert await scene.issue() == 1
    assert await scene.run("providers", "disconnect", CONNECTION) == (
        0,
        f"disconnected {CONNECTION}\n",
        "",
    )


async def manage_api_keys(scene: Scene) -> None:
    """Keys are managed the same whether auth is on or not (tests/service/test_auth.py
    runs badgectl against a server with auth on)."""
    code, out, err = await scene.run("keys", "create", "--role", "reader", "--name", "dashboards")
    secret = out.strip()
    key_id = secret.split("_")[1]
    assert (code, out, err) == (
        0,
        f"{secret}\n",
        f"badgectl: created reader key {key_id} (dashboards)\n"
        "badgectl: the key is shown this once; store it in a secret manager\n",
    )
    assert re.fullmatch(r"bfk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", secret)
    created = await scene.json("keys", "create", "--role", "publisher", "--name", "lms")
    assert (created["api_key"]["role"], created["secret"][:4]) == ("ROLE_PUBLISHER", "bfk_")
    lms = created["api_key"]["key_id"]
    assert await scene.run("keys", "list") == (
        0,
        "KEY ID        ROLE       NAME        CREATED            LAST USED  REVOKED\n"
        f"{key_id}  reader     dashboards  {NOW}  -          -\n"
        f"{lms}  publisher  lms         {NOW}  -          -\n",
        "",
    )
    assert await scene.run("keys", "revoke", key_id) == (
        0,
        f"revoked reader key {key_id} (dashboards)\n",
        "",
    )
    assert await scene.run("keys", "revoke", key_id) == (
        4,
        "",
        f"badgectl: API key {key_id} is already revoked\n",
    )
    assert await scene.run("keys", "revoke", "000000000000") == (
        3,
        "",
        "badgectl: no API key '000000000000'; list keys to see the ids\n",
    )
    assert [k["key_id"] for k in await scene.json_lines("keys", "list")] == [lms]
    listed = await scene.json_lines("keys", "list", "--all")
    assert [(k["key_id"], "revoke_time" in k) for k in listed] == [(key_id, True), (lms, False)]
    assert all("secret" not in k for k in listed)


async def test_every_command_against_a_server_and_the_emulator(
    quiet_app: App,
    emulator: EmulatorServer,
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scene = Scene(quiet_app, emulator, workdir, capsys, monkeypatch)
    await connect_and_sync(scene)
    await write_and_apply_rules(scene)
    await send_events(scene)
    await look_at_progress(scene)
    await admin_badges(scene)
    await add_a_rule_and_backfill(scene)
    await manage_api_keys(scene)
    assert sorted(set(commands()) - scene.ran) == []
