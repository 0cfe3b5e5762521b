"""badgectl against a real server (port 0, temporary SQLite), driven in-process.

`main(argv)` runs in a worker thread (`asyncio.to_thread`) so its synchronous gRPC calls
do not block the event loop the server runs on; capsys captures what it prints.
"""

from __future__ import annotations

import asyncio
import errno
import json
import math
import os
import pty
import queue
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from badgeflow_client import AwardWatch, BadgeflowClient, event_from_dict
from badgeflow_client.cli import main, meter
from badgeflow_client.cli.console import when

PASSED = "org.openedx.learning.course.passing.status.updated.v1"
DEMO_COURSE = "course-v1:OpenedX+DemoX+Demo_Course"
TEMPLATE_ID = "credly:8f2b7c1e-0000-4000-8000-000000000001"
RULES = f"""badge "demo-graduate" {{
    template credly "8f2b7c1e-0000-4000-8000-000000000001"
    require on course_passed where is_passing and course.course_key == "{DEMO_COURSE}"
}}
"""
BAD_RULES = RULES.replace("is_passing", "is_pasing")
BAD_DIAGNOSTIC = f"""bad.badge:3:36: error[E203]: unknown field 'is_pasing' in event 'course_passed'
        require on course_passed where is_pasing and course.course_key == "{DEMO_COURSE}"
                                       ^^^^^^^^^
  hint: did you mean 'is_passing'?
"""


def event(event_id: str, learner_id: str | None = "L1", **extra: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": event_id,
        "type": PASSED,
        "occurred_at": "2026-11-23T10:00:00Z",
        "payload": {"is_passing": True, "course": {"course_key": DEMO_COURSE}},
        **extra,
    }
    if learner_id:
        obj["learner"] = {
            "id": learner_id,
            "email": "ada@example.org",
            "first_name": "Ada",
            "last_name": "Lovelace",
        }
    return obj


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Rule and event files live in the working directory, so diagnostics name them short."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(meter, "PROGRESS_INTERVAL", math.inf)  # no timing-dependent progress lines
    (tmp_path / "demo.badge").write_text(RULES)
    (tmp_path / "bad.badge").write_text(BAD_RULES)
    return tmp_path


def write_events(path: Path, *events: dict[str, Any]) -> str:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path.name


async def badgectl(target: str, *argv: str) -> int:
    return await asyncio.to_thread(main, ["--server", target, *argv])


async def sdk(target: str, method: Callable[..., Any], *args: Any) -> Any:
    """Call one SDK method in a worker thread with a fresh client."""

    def call() -> Any:
        with BadgeflowClient(target) as client:
            return method(client, *args)

    return await asyncio.to_thread(call)


async def ready(target: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Apply the demo rules and activate the template."""
    assert await badgectl(target, "rules", "apply", "demo.badge") == 0
    assert await badgectl(target, "templates", "activate", TEMPLATE_ID) == 0
    capsys.readouterr()


async def test_rules_validate(target: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert await badgectl(target, "rules", "validate", "demo.badge") == 0
    assert capsys.readouterr() == ("valid: 1 badge(s), 0 warning(s)\n", "")
    assert await badgectl(target, "rules", "validate", "bad.badge") == 1
    assert capsys.readouterr() == (BAD_DIAGNOSTIC + "invalid: 1 error(s), 0 warning(s)\n", "")


async def test_rules_apply_and_show(target: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert await badgectl(target, "rules", "apply", "demo.badge") == 0
    assert capsys.readouterr() == (f"applied rules version 1\ncreated {TEMPLATE_ID}\n", "")
    assert await badgectl(target, "rules", "apply", "--expected-version", "1", "demo.badge") == 0
    assert capsys.readouterr() == ("applied rules version 2\n", "")

    assert await badgectl(target, "rules", "show") == 0
    applied_at = when((await sdk(target, BadgeflowClient.get_rules)).applied_at)
    assert capsys.readouterr() == (
        f"version 2, applied at {applied_at}\n"
        f"badge demo-graduate -> {TEMPLATE_ID}: 1 group(s), 1 requirement(s), 0 penalty(ies)\n"
        f"--- demo.badge\n{RULES}",
        "",
    )


async def test_rules_show_when_none_applied(
    target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await badgectl(target, "rules", "show") == 0
    assert capsys.readouterr() == ("no rules applied yet\n", "")


async def test_rules_apply_with_errors_prints_diagnostics(
    target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await badgectl(target, "rules", "apply", "bad.badge") == 1
    first = BAD_DIAGNOSTIC.splitlines()[0]
    assert capsys.readouterr() == (
        "",
        f"badgectl: the rules have 1 error(s); the first: {first}\n{BAD_DIAGNOSTIC}",
    )


async def test_rules_apply_stale_version(target: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert await badgectl(target, "rules", "apply", "--expected-version", "7", "demo.badge") == 4
    assert capsys.readouterr() == (
        "",
        "badgectl: expected rules version 7, but version 0 is in force: "
        "re-read the rules, plan again, and apply with the new version\n",
    )


async def test_templates_list_show_activate_deactivate(
    target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await badgectl(target, "rules", "apply", "demo.badge") == 0
    capsys.readouterr()
    assert await badgectl(target, "templates", "list") == 0
    assert capsys.readouterr() == (
        "ID                                           ACTIVE  BADGE          NAME\n"
        f"{TEMPLATE_ID}  no      demo-graduate  demo-graduate\n",
        "",
    )
    assert await badgectl(target, "templates", "list", "--active") == 0
    assert capsys.readouterr() == ("ID  ACTIVE  BADGE  NAME\n", "")

    assert await badgectl(target, "templates", "activate", TEMPLATE_ID) == 0
    assert capsys.readouterr() == (f"activated {TEMPLATE_ID}\n", "")
    assert await badgectl(target, "templates", "show", TEMPLATE_ID) == 0
    condition = f'on course_passed where is_passing and course.course_key == "{DEMO_COURSE}"'
    assert capsys.readouterr() == (
        f"id:          {TEMPLATE_ID}\n"
        "name:        demo-graduate\n"
        "active:      yes\n"
        "badge:       demo-graduate\n"
        "repeatable:  no\n"
        f"description: {condition}\n"
        f"requirement  g1/r1: {condition}\n",
        "",
    )
    assert await badgectl(target, "templates", "deactivate", TEMPLATE_ID) == 0
    assert capsys.readouterr() == (f"deactivated {TEMPLATE_ID}\n", "")

    assert await badgectl(target, "--json", "templates", "show", TEMPLATE_ID) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (
        shown["id"],
        shown["provider"],
        shown["external_id"],
        shown.get("active", False),
        shown["badge"],
    ) == (
        TEMPLATE_ID,
        "credly",
        "8f2b7c1e-0000-4000-8000-000000000001",
        False,
        "demo-graduate",
    )


@pytest.mark.parametrize(
    ("argv", "code", "stderr"),
    [
        pytest.param(
            ["templates", "show", "credly:nope"],
            3,
            "badgectl: no template 'credly:nope'; list templates to see the ids\n",
            id="show-unknown",
        ),
        pytest.param(
            ["templates", "activate", "credly:nope"],
            3,
            "badgectl: no template 'credly:nope'; list templates to see the ids\n",
            id="activate-unknown",
        ),
        pytest.param(
            ["progress", "learner", "L404", "--detail"],
            3,
            "badgectl: no events were ever received for learner 'L404'\n",
            id="learner-unknown",
        ),
        pytest.param(
            ["progress", "template", "credly:nope"],
            3,
            "badgectl: no template 'credly:nope'; list templates to see the ids\n",
            id="template-progress-unknown",
        ),
        pytest.param(
            ["progress", "learner", "", "--detail"],
            2,
            "badgectl: learner_id is empty\n"
            "  learner_id: give the learner's id as the platform sends it\n",
            id="empty-learner-id-shows-violations",
        ),
    ],
)
async def test_server_errors_map_to_exit_codes(
    target: str, capsys: pytest.CaptureFixture[str], argv: list[str], code: int, stderr: str
) -> None:
    assert await badgectl(target, *argv) == code
    assert capsys.readouterr() == ("", stderr)


async def test_activate_template_without_requirements(
    target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    Path("other.badge").write_text(RULES.replace("demo-graduate", "other").replace("0001", "0002"))
    assert await badgectl(target, "rules", "apply", "demo.badge") == 0
    assert await badgectl(target, "rules", "apply", "other.badge") == 0
    capsys.readouterr()
    assert await badgectl(target, "templates", "activate", TEMPLATE_ID) == 4
    assert capsys.readouterr() == (
        "",
        f"badgectl: template '{TEMPLATE_ID}' has no requirements: "
        "apply rules with a badge block bound to it "
        f"(template credly 8f2b7c1e-0000-4000-8000-000000000001) before activating it\n",
    )


async def test_events_send_summarises_outcomes(
    target: str, capsys: pytest.CaptureFixture[str], workdir: Path
) -> None:
    await ready(target, capsys)
    name = write_events(
        workdir / "events.jsonl", event("e1"), event("e2", learner_id=None), event("e3", "L2")
    )
    assert await badgectl(target, "events", "send", name, "--batch-size", "2") == 1
    assert capsys.readouterr() == (
        "sent 3: accepted 2, duplicate 0, rejected 1\n"
        "  rejected e2: MISSING_LEARNER: event.learner.id is empty: "
        "say which learner the event is about\n",
        "",
    )
    again = write_events(workdir / "again.jsonl", event("e1"))
    assert await badgectl(target, "events", "send", again) == 0
    assert capsys.readouterr() == ("sent 1: accepted 0, duplicate 1, rejected 0\n", "")


async def test_events_send_json_lines(
    target: str, capsys: pytest.CaptureFixture[str], workdir: Path
) -> None:
    await ready(target, capsys)
    name = write_events(workdir / "events.jsonl", event("e1"), event("e1"))
    assert await badgectl(target, "--json", "events", "send", name) == 0
    out, err = capsys.readouterr()
    assert [json.loads(line) for line in out.splitlines()] == [
        {"event_id": "e1", "outcome": "EVENT_OUTCOME_ACCEPTED"},
        {"event_id": "e1", "outcome": "EVENT_OUTCOME_DUPLICATE"},
    ]
    assert err == ""


async def test_events_send_prints_progress(
    target: str, capsys: pytest.CaptureFixture[str], workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await ready(target, capsys)
    monkeypatch.setattr(meter, "PROGRESS_INTERVAL", 0.0)  # a progress line after every event
    name = write_events(workdir / "events.jsonl", event("e1"), event("e2"))
    assert await badgectl(target, "events", "send", name) == 0
    out, err = capsys.readouterr()
    assert out == "sent 2: accepted 2, duplicate 0, rejected 0\n"
    assert [line.split(" (")[0] for line in err.splitlines()] == [
        "sent 1/2 events",
        "sent 2/2 events",
    ]
    assert all(line.endswith(" events/s)") for line in err.splitlines())


async def test_malformed_event_file_sends_nothing(
    target: str, capsys: pytest.CaptureFixture[str], workdir: Path
) -> None:
    await ready(target, capsys)
    name = write_events(workdir / "events.jsonl", event("e1"), event("e2", occurred_at="yesterday"))
    assert await badgectl(target, "events", "send", name) == 2
    assert capsys.readouterr() == (
        "",
        "badgectl: events.jsonl:2: occurred_at is not an ISO 8601 time: 'yesterday'\n",
    )
    assert await badgectl(target, "progress", "learner", "L1", "--detail") == 3


async def test_progress_learner_and_template(
    target: str, capsys: pytest.CaptureFixture[str], workdir: Path
) -> None:
    await ready(target, capsys)
    assert (
        await badgectl(target, "events", "send", write_events(workdir / "e.jsonl", event("e1")))
        == 0
    )
    capsys.readouterr()
    progress = await sdk(target, BadgeflowClient.learner_progress, "L1")
    record = progress.progress[0]
    awarded_at = when(record.award.award_time)
    condition = f'on course_passed where is_passing and course.course_key == "{DEMO_COURSE}"'

    assert await badgectl(target, "progress", "learner", "L1", "--detail") == 0
    assert capsys.readouterr() == (
        "learner L1 (ada@example.org, Ada Lovelace)\n"
        f"{TEMPLATE_ID}  demo-graduate  100% (1/1 groups)  awarded #1 at {awarded_at}\n"
        "  group g1: fulfilled by r1\n"
        f"    [x] r1: {condition}\n",
        "",
    )
    assert await badgectl(target, "progress", "template", TEMPLATE_ID, "--completed") == 0
    updated = when(record.update_time)
    assert capsys.readouterr() == (
        "LEARNER  PERCENT  GROUPS  UPDATED            AWARD\n"
        f"L1       100%     1/1     {updated}  awarded #1 at {awarded_at}\n",
        "",
    )
    assert await badgectl(target, "--json", "progress", "learner", "L1", "--detail") == 0
    shown = json.loads(capsys.readouterr().out)
    assert (
        shown["learner"]["id"],
        shown["progress"][0]["percent"],
        shown["progress"][0]["award"]["event_ids"],
    ) == (
        "L1",
        100.0,
        ["e1"],
    )


async def test_awards_watch_prints_each_change(
    target: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    await ready(target, capsys)
    watches: queue.Queue[AwardWatch] = queue.Queue()
    watch_awards = BadgeflowClient.watch_awards

    def spying(self: BadgeflowClient, *args: Any, **kwargs: Any) -> AwardWatch:
        watch = watch_awards(self, *args, **kwargs)
        watches.put(watch)
        return watch

    monkeypatch.setattr(BadgeflowClient, "watch_awards", spying)
    watching = asyncio.ensure_future(
        badgectl(target, "awards", "watch", "--learner", "L1", "--count", "1")
    )

    def send_once_subscribed() -> str:
        watches.get(timeout=10).wait_subscribed(timeout=10)
        with BadgeflowClient(target) as client:
            client.publish_events([event_from_dict(event("e1"))])
            return client.learner_progress("L1").progress[0].award.id

    award_id = await asyncio.to_thread(send_once_subscribed)
    assert await watching == 0
    assert capsys.readouterr() == (
        f"AWARDED {TEMPLATE_ID} (demo-graduate) learner L1 #1 award {award_id}\n",
        "badgectl: watching awards\n",
    )


async def test_unreachable_server(capsys: pytest.CaptureFixture[str]) -> None:
    assert await asyncio.to_thread(main, ["--server", "127.0.0.1:1", "templates", "list"]) == 5
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "badgectl: cannot reach badgeflow at 127.0.0.1:1"
    assert err[1].startswith("  (UNAVAILABLE: ")


def _drain(controller: int) -> bytes:
    """Everything written to a pseudo-terminal whose other end is closed, then close it."""
    chunks = []
    try:
        while chunk := os.read(controller, 4096):
            chunks.append(chunk)
    except OSError as error:  # EIO: the terminal side is closed and nothing is left
        if error.errno != errno.EIO:
            raise
    finally:
        os.close(controller)
    return b"".join(chunks)


async def test_on_a_terminal_events_send_draws_a_progress_bar(
    target: str, capsys: pytest.CaptureFixture[str], workdir: Path
) -> None:
    """badgectl in its own process with stderr on a pseudo-terminal, as a person runs it."""
    await ready(target, capsys)
    name = write_events(workdir / "events.jsonl", event("e1"), event("e2"))
    controller, terminal = pty.openpty()
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "badgeflow_client",
            "--server",
            target,
            "events",
            "send",
            name,
            stdout=asyncio.subprocess.PIPE,
            stderr=terminal,
        )
        out, _ = await process.communicate()
    finally:
        os.close(terminal)
    drawn = _drain(controller).decode()
    assert (process.returncode, out) == (0, b"sent 2: accepted 2, duplicate 0, rejected 0\n")
    assert drawn.startswith("\r[")
    last = drawn.rsplit("\r[", 1)[1]
    assert re.fullmatch(r"#{24}\] 100%  sent 2/2 events \(\d+ events/s\)\x1b\[K\r\n", last), repr(
        drawn
    )
