"""badgectl argument wiring, input files and output helpers; no server needed."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from badgeflow_client import cli

COMMANDS = [
    pytest.param([], id="badgectl"),
    pytest.param(["rules"], id="rules"),
    pytest.param(["rules", "validate"], id="rules-validate"),
    pytest.param(["rules", "apply"], id="rules-apply"),
    pytest.param(["rules", "show"], id="rules-show"),
    pytest.param(["templates"], id="templates"),
    pytest.param(["templates", "list"], id="templates-list"),
    pytest.param(["templates", "show"], id="templates-show"),
    pytest.param(["templates", "activate"], id="templates-activate"),
    pytest.param(["templates", "deactivate"], id="templates-deactivate"),
    pytest.param(["events"], id="events"),
    pytest.param(["events", "send"], id="events-send"),
    pytest.param(["progress"], id="progress"),
    pytest.param(["progress", "learner"], id="progress-learner"),
    pytest.param(["progress", "template"], id="progress-template"),
    pytest.param(["awards"], id="awards"),
    pytest.param(["awards", "watch"], id="awards-watch"),
]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_exits_zero(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: badgectl")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param([], "the following arguments are required: COMMAND", id="no-command"),
        pytest.param(["rules"], "the following arguments are required: ACTION", id="no-action"),
        pytest.param(
            ["rules", "apply"], "the following arguments are required: FILE", id="no-files"
        ),
        pytest.param(
            ["events", "send", "x.jsonl", "--batch-size", "0"],
            "argument --batch-size: must be at least 1, not 0",
            id="batch-size-zero",
        ),
        pytest.param(
            ["templates", "frob"], "argument ACTION: invalid choice: 'frob'", id="bad-action"
        ),
    ],
)
def test_usage_errors_exit_two(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err


def test_server_defaults_to_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cli.SERVER_ENV, "badgeflow.internal:443")
    assert cli.build_parser().parse_args(["rules", "show"]).server == "badgeflow.internal:443"
    monkeypatch.delenv(cli.SERVER_ENV)
    args = cli.build_parser().parse_args(["rules", "show"])
    assert (args.server, args.json, args.timeout) == ("127.0.0.1:50151", False, 10.0)


def test_malformed_event_line_names_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text('{"id": "e1", "type": "t"}\n\n{"id": "e2", "type": "t", "occurred_at": "x"}\n')
    # The address is never dialled: the file is parsed before anything is sent.
    assert cli.main(["--server", "127.0.0.1:1", "events", "send", str(path)]) == 2
    assert capsys.readouterr() == (
        "",
        f"badgectl: {path}:3: occurred_at is not an ISO 8601 time: 'x'\n",
    )


def test_invalid_json_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text('{"id": "e1",\n')
    assert cli.main(["--server", "127.0.0.1:1", "events", "send", str(path)]) == 2
    assert (
        capsys.readouterr().err == f"badgectl: {path}:1: not valid JSON: "
        "Expecting property name enclosed in double quotes\n"
    )


def test_missing_rule_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.badge"
    assert cli.main(["--server", "127.0.0.1:1", "rules", "validate", str(missing)]) == 2
    assert capsys.readouterr().err == (
        f"badgectl: cannot read {missing}: [Errno 2] No such file or directory: '{missing}'\n"
    )


def test_progress_lines_are_rate_limited() -> None:
    ticks = iter([0.0, 0.5, 1.0, 1.5, 4.0])
    stream = io.StringIO()
    progress = cli._Progress(1000, stream, 1.0, lambda: next(ticks))
    for sent in (100, 200, 300, 400):
        progress.update(sent)
    assert (
        stream.getvalue()
        == "sent 200/1000 events (200 events/s)\nsent 400/1000 events (100 events/s)\n"
    )
