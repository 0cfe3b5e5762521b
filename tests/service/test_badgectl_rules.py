"""`badgectl rules check | test | plan`: the rules-as-code loop, driven in-process."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from badgeflow_client.cli import main

from tests.service.test_badgectl import (
    BAD_DIAGNOSTIC,
    BAD_RULES,
    DEMO_COURSE,
    RULES,
    TEMPLATE_ID,
    event,
    write_events,
)


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "demo.badge").write_text(RULES)
    (tmp_path / "bad.badge").write_text(BAD_RULES)
    return tmp_path


def test_check_reports_every_diagnostic_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check", "demo.badge"]) == 0
    assert capsys.readouterr().out == "ok: 1 file(s), 0 error(s), 0 warning(s)\n"
    assert main(["rules", "check", "bad.badge"]) == 1
    assert (
        capsys.readouterr().out == BAD_DIAGNOSTIC + "failed: 1 file(s), 1 error(s), 0 warning(s)\n"
    )


def test_check_json_is_machine_readable(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", "rules", "check", "bad.badge"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is False
    (diagnostic,) = report["diagnostics"]
    assert {k: diagnostic[k] for k in ("code", "severity", "file", "line", "column")} == {
        "code": "E203",
        "severity": "error",
        "file": "bad.badge",
        "line": 3,
        "column": 36,
    }


def test_test_runs_sibling_files_and_reports_failures(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_events(
        workdir / "demo.events.jsonl",
        event("e1", "ada"),
        event("e2", "ben", payload={"is_passing": False}),
    )
    (workdir / "demo.expect.json").write_text(
        json.dumps({"awarded": ["ada"], "not_awarded": ["ben"]})
    )
    assert main(["rules", "test", "demo.badge"]) == 0
    assert capsys.readouterr().out == "ok   demo.badge (2 events, 2 checks)\n1 passed, 0 failed\n"
    (workdir / "demo.expect.json").write_text(json.dumps({"awarded": ["ben"]}))
    assert main(["rules", "test", "demo.badge", "bad.badge"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "FAIL demo.badge (2 events, 1 checks)"
    assert out[1] == f"    {TEMPLATE_ID}: ben should hold the badge but has no award"
    assert out[2].startswith("ERROR bad.badge: ")
    assert out[-1] == "0 passed, 2 failed"


async def test_plan_against_a_server(
    target: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(*argv: str) -> int:
        return main(["--server", target, *argv])

    assert await asyncio.to_thread(run, "rules", "apply", "demo.badge") == 0
    assert await asyncio.to_thread(run, "templates", "activate", TEMPLATE_ID) == 0
    failing = {"is_passing": False, "course": {"course_key": DEMO_COURSE}}
    write_events(workdir / "e.jsonl", event("e1", "ada"), event("e2", "ben", payload=failing))
    assert await asyncio.to_thread(run, "events", "send", "e.jsonl") == 0
    (workdir / "loose.badge").write_text(RULES.replace("is_passing and ", ""))
    capsys.readouterr()
    assert await asyncio.to_thread(run, "rules", "plan", "loose.badge") == 0
    assert capsys.readouterr().out == (
        "plan against rules version 1 (2 logged events replayed)\n"
        f"  changed   {TEMPLATE_ID}  demo-graduate: a backfill would award 1 learner(s)\n"
        "            learners: ben\n"
        "apply exactly this: badgectl rules apply --expected-version 1 loose.badge\n"
    )
    assert await asyncio.to_thread(run, "rules", "plan", "bad.badge") == 1
