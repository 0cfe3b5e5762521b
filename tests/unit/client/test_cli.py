"""badgectl argument wiring, its documentation, input files and output helpers; no server."""

from __future__ import annotations

import ast
import importlib
import io
import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from badgeflow_client import cli
from badgeflow_client.cli import console, events, meter, parsing
from google.protobuf.timestamp_pb2 import Timestamp

ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs" / "badgectl.md"
COMMANDS = cli.commands()
GROUPS = sorted({words[0] for words in COMMANDS})


def test_the_command_tree_is_enumerated() -> None:
    """`cli.commands()` walks the parser; this pins a few so the walk itself is checked."""
    assert len(COMMANDS) == len(set(COMMANDS)) == 31
    assert {("rules", "backfill"), ("events", "tail"), ("badges", "retry")} <= set(COMMANDS)
    assert GROUPS == [
        "awards",
        "badges",
        "events",
        "issuances",
        "keys",
        "progress",
        "providers",
        "rules",
        "templates",
    ]


@pytest.mark.parametrize(
    "words",
    [pytest.param([], id="badgectl")]
    + [pytest.param([group], id=group) for group in GROUPS]
    + [pytest.param(list(words), id="-".join(words)) for words in COMMANDS],
)
def test_help_exits_zero_with_a_description(
    words: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main([*words, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: badgectl {' '.join(words)}".rstrip())
    description = out.split("\n\n")[1]
    assert description.strip().endswith(".")


def _docstring_commands() -> set[tuple[str, ...]]:
    listed = set()
    for line in (cli.__doc__ or "").splitlines():
        match = re.match(r"^    ([a-z]+) ([a-z]+)\b", line)
        if match and match.group(1) in GROUPS:
            listed.add((match.group(1), match.group(2)))
    return listed


def test_the_docstring_lists_exactly_the_commands_of_the_parser() -> None:
    assert _docstring_commands() == set(COMMANDS)


def test_the_docstring_and_epilog_list_exactly_the_exit_codes() -> None:
    codes = {value for name, value in vars(console).items() if name.startswith("EXIT_")}
    documented = {int(n) for n in re.findall(r"^    (\d+) ", cli.__doc__ or "", re.M)}
    assert documented == codes
    exit_codes = (cli.build_parser().epilog or "").split("example:")[0]
    assert {int(n) for n in re.findall(r"(?:^|  )(\d+) +\S", exit_codes, re.M)} == codes


def test_the_reference_documents_exactly_the_exit_codes() -> None:
    codes = {value for name, value in vars(console).items() if name.startswith("EXIT_")}
    assert {int(n) for n in re.findall(r"^\| (\d+) \|", DOCS.read_text(), re.M)} == codes


def test_the_reference_documents_exactly_the_commands() -> None:
    headings = re.findall(r"^### `badgectl ([a-z]+) ([a-z]+)", DOCS.read_text(), re.M)
    assert sorted(set(headings)) == sorted(COMMANDS)
    assert len(headings) == len(COMMANDS)


MODULES = ["", "awards", "badges", "console", "events", "keys", "meter", "parsing", "progress"]
MODULES += ["providers", "rules", "templates"]


@pytest.mark.parametrize("name", [pytest.param(m, id=m or "cli") for m in MODULES])
def test_all_names_every_public_definition(name: str) -> None:
    module = importlib.import_module(f"badgeflow_client.cli{'.' + name if name else ''}")
    tree = ast.parse(Path(module.__file__ or "").read_text())
    defined = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            defined.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            defined |= {t.id for t in targets if isinstance(t, ast.Name)}
    public = {n for n in defined if not n.startswith("_")}
    assert public <= set(module.__all__)
    assert all(hasattr(module, n) for n in module.__all__)
    assert module.__all__ == sorted(module.__all__, key=lambda n: (not n.isupper(), n))


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
            ["events", "send", "x.jsonl", "--batch-size", "1001"],
            "argument --batch-size: must be at most 1000, not 1001",
            id="batch-size-too-big",
        ),
        pytest.param(
            ["events", "send", "x.jsonl", "--rate", "0"],
            "argument --rate: must be above 0, not 0",
            id="rate-zero",
        ),
        pytest.param(
            ["templates", "frob"], "argument ACTION: invalid choice: 'frob'", id="bad-action"
        ),
        pytest.param(
            ["progress", "template", "t", "--completed", "--in-progress"],
            "argument --in-progress: not allowed with argument --completed",
            id="completed-and-in-progress",
        ),
        pytest.param(
            ["progress", "template", "t", "--min-percent", "150"],
            "argument --min-percent: must be between 0 and 100, not 150",
            id="percent-out-of-range",
        ),
        pytest.param(
            ["progress", "template", "t", "--updated-after", "last week"],
            "argument --updated-after: not an ISO 8601 time: 'last week'",
            id="updated-after-not-iso",
        ),
        pytest.param(
            ["badges", "grant", "t", "L1"],
            "the following arguments are required: --reason",
            id="grant-without-reason",
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


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        pytest.param(["rules", "show"], ("127.0.0.1:50151", False, 10.0), id="defaults"),
        pytest.param(
            ["--json", "--server", "a:1", "--timeout", "3", "rules", "show"],
            ("a:1", True, 3.0),
            id="before",
        ),
        pytest.param(
            ["rules", "show", "--json", "--server", "b:2", "--timeout", "4"],
            ("b:2", True, 4.0),
            id="after",
        ),
        pytest.param(
            ["--server", "a:1", "--json", "rules", "show", "--server", "b:2"],
            ("b:2", True, 10.0),
            id="after-wins",
        ),
    ],
)
def test_global_options_go_before_or_after_the_command(
    argv: list[str], expected: tuple[Any, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(cli.SERVER_ENV, raising=False)
    args = cli.build_parser().parse_args(argv)
    assert (args.server, args.json, args.timeout) == expected


class _RecordingClient:
    """Stands in for BadgeflowClient: records how it was built, answers `get_rules`."""

    built: list[dict[str, Any]] = []

    def __init__(self, target: str, **options: Any) -> None:
        self.built.append({"target": target, **options})

    def __enter__(self) -> _RecordingClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass

    def get_rules(self) -> Any:
        from badgeflow.v1 import rule_service_pb2

        return rule_service_pb2.GetRulesResponse()


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    for name in (cli.SERVER_ENV, cli.API_KEY_ENV, cli.TLS_ENV, cli.CA_FILE_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(cli, "BadgeflowClient", _RecordingClient)
    _RecordingClient.built = []
    yield _RecordingClient.built


def _options(built: list[dict[str, Any]]) -> tuple[Any, ...]:
    (one,) = built
    return one["api_key"], one["tls"], one["root_certificates"]


@pytest.mark.parametrize(
    ("env", "argv", "expected"),
    [
        pytest.param({}, [], ("", False, None), id="defaults"),
        pytest.param({"BADGEFLOW_API_KEY": "k-env"}, [], ("k-env", False, None), id="key-env"),
        pytest.param(
            {"BADGEFLOW_API_KEY": "k-env"},
            ["--api-key", "k-flag"],
            ("k-flag", False, None),
            id="key-flag-wins",
        ),
        pytest.param({"BADGEFLOW_TLS": "yes"}, [], ("", True, None), id="tls-env"),
        pytest.param({"BADGEFLOW_TLS": "0"}, [], ("", False, None), id="tls-env-off"),
        pytest.param({}, ["--tls"], ("", True, None), id="tls-flag"),
        pytest.param({}, ["--ca-file", "{ca}"], ("", True, b"PEM"), id="ca-file-implies-tls"),
        pytest.param({"BADGEFLOW_CA_FILE": "{ca}"}, [], ("", True, b"PEM"), id="ca-file-env"),
    ],
)
def test_connection_options_come_from_flags_or_env(
    recording: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    argv: list[str],
    expected: tuple[Any, ...],
) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("PEM")
    for name, value in env.items():
        monkeypatch.setenv(name, value.format(ca=ca))
    assert cli.main([*(a.format(ca=ca) for a in argv), "rules", "show"]) == 0
    assert _options(recording) == expected
    assert capsys.readouterr() == ("no rules applied yet\n", "")


def test_an_unreadable_ca_file_is_a_usage_error(
    recording: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.pem"
    assert cli.main(["--ca-file", str(missing), "rules", "show"]) == 2
    assert capsys.readouterr().err.startswith(f"badgectl: cannot read {missing}: ")
    assert recording == []


def test_the_api_key_is_never_printed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(cli.API_KEY_ENV, "s3cret-key")
    assert cli.main(["--help"]) == 0
    assert cli.main(["--server", "127.0.0.1:1", "--timeout", "0.5", "rules", "show"]) == 5
    out, err = capsys.readouterr()
    assert "s3cret-key" not in out + err


class _InterruptedStream(_RecordingClient):
    """Acknowledges the first event, then the user presses Ctrl-C."""

    def stream_events(self, events: Any, batch_size: int) -> Iterator[Any]:
        from badgeflow.v1 import event_pb2

        yield event_pb2.EventResult(event_id="e1", outcome=event_pb2.EVENT_OUTCOME_ACCEPTED)
        raise KeyboardInterrupt


def test_an_interrupted_send_says_how_far_it_got(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "BadgeflowClient", _InterruptedStream)
    path = tmp_path / "events.jsonl"
    path.write_text('{"id": "e1", "type": "t"}\n{"id": "e2", "type": "t"}\n')
    assert cli.main(["events", "send", str(path)]) == 130
    assert capsys.readouterr() == (
        "",
        "badgectl: stopped after 1 of 2 events were acknowledged; sending the file again is "
        "safe (acknowledged ids come back as duplicates)\n",
    )


class _InterruptedBackfill(_RecordingClient):
    def backfill_rules(self, template_ids: Any, *, dry_run: bool) -> Iterator[Any]:
        from badgeflow.v1 import rule_service_pb2

        yield rule_service_pb2.BackfillRulesResponse(events_replayed=5, events_total=10)
        raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("dry_run", "err"),
    [
        pytest.param(
            [],
            "badgectl: backfill stopped; what it wrote is kept, and running it again finishes "
            "it without awarding anyone twice\n",
            id="backfill",
        ),
        pytest.param(["--dry-run"], "", id="dry-run"),
    ],
)
def test_an_interrupted_backfill_says_it_can_be_run_again(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    dry_run: list[str],
    err: str,
) -> None:
    monkeypatch.setattr(cli, "BadgeflowClient", _InterruptedBackfill)
    monkeypatch.setattr(meter, "PROGRESS_INTERVAL", math.inf)
    assert cli.main(["rules", "backfill", *dry_run]) == 130
    assert capsys.readouterr() == ("", err)


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


# -- output helpers ---------------------------------------------------------------


def _describe(sent: int) -> meter.Describe:
    return lambda seconds: f"sent {sent}/1000 events ({meter.rate(sent, seconds):.0f} events/s)"


def test_progress_lines_are_rate_limited() -> None:
    ticks = iter([0.0, 0.5, 1.0, 1.5, 4.0])
    stream = io.StringIO()
    progress = meter.Meter(stream, interval=1.0, clock=lambda: next(ticks), tty=False)
    for sent in (100, 200, 300, 400):
        progress.update(sent, 1000, _describe(sent))
    progress.finish()
    assert (
        stream.getvalue()
        == "sent 200/1000 events (200 events/s)\nsent 400/1000 events (100 events/s)\n"
    )


def test_on_a_terminal_the_bar_is_redrawn_in_place_and_ends_at_the_last_state() -> None:
    ticks = iter([0.0, 0.5, 0.55, 2.0, 2.0])
    stream = io.StringIO()
    progress = meter.Meter(stream, interval=0.1, clock=lambda: next(ticks), tty=True)
    progress.update(250, 1000, _describe(250))  # at 0.5 s: drawn
    progress.update(300, 1000, _describe(300))  # at 0.55 s: too soon
    progress.update(1000, 1000, _describe(1000))  # at 2.0 s: drawn
    progress.finish()  # already drawn: only the newline
    assert stream.getvalue() == (
        "\r[######..................]  25%  sent 250/1000 events (500 events/s)\x1b[K"
        "\r[########################] 100%  sent 1000/1000 events (500 events/s)\x1b[K\n"
    )


def test_finish_draws_a_state_skipped_as_too_soon() -> None:
    ticks = iter([0.0, 0.05, 1.0])
    stream = io.StringIO()
    progress = meter.Meter(stream, interval=0.1, clock=lambda: next(ticks), tty=True)
    progress.update(10, 10, _describe(10))
    progress.finish()
    assert stream.getvalue() == (
        "\r[########################] 100%  sent 10/1000 events (10 events/s)\x1b[K\n"
    )


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("stream", "tty"),
    [pytest.param(io.StringIO(), False, id="pipe"), pytest.param(_Terminal(), True, id="tty")],
)
def test_for_stream_draws_a_bar_only_on_a_terminal(stream: io.StringIO, tty: bool) -> None:
    assert meter.for_stream(stream).tty is tty


def test_throttled_sends_no_faster_than_the_rate() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    items = list(events.throttled(range(5), 2.0, clock=lambda: now[0], sleep=sleep))
    assert items == [0, 1, 2, 3, 4]
    assert slept == [0.5, 0.5, 0.5, 0.5]
    assert now[0] == 2.0


def test_table_aligns_columns_and_trims_trailing_space() -> None:
    assert console.table([("A", "LONG HEADER", "C"), ("wide cell", "x", "")]) == [
        "A          LONG HEADER  C",
        "wide cell  x",
    ]


@pytest.mark.parametrize(
    ("stamp", "text"),
    [
        pytest.param(Timestamp(), "-", id="unset"),
        pytest.param(Timestamp(seconds=1795428059, nanos=5), "2026-11-23 10:00Z", id="set"),
    ],
)
def test_when_is_short_and_utc(stamp: Timestamp, text: str) -> None:
    assert console.when(stamp) == text


@pytest.mark.parametrize(
    ("items", "shown", "total", "text"),
    [
        pytest.param(["a", "b"], 5, None, "a, b", id="all"),
        pytest.param(["a", "b", "c"], 2, None, "a, b and 1 more", id="cut"),
        pytest.param(["a", "b"], 5, 1002, "a, b and 1000 more", id="capped-by-server"),
        pytest.param([], 5, None, "", id="none"),
    ],
)
def test_listing(items: list[str], shown: int, total: int | None, text: str) -> None:
    assert console.listing(items, shown, total) == text


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        pytest.param("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC), id="date-is-utc"),
        pytest.param("2026-11-01T10:30Z", datetime(2026, 11, 1, 10, 30, tzinfo=UTC), id="z"),
        pytest.param(
            "2026-11-01T12:30+02:00", datetime(2026, 11, 1, 10, 30, tzinfo=UTC), id="offset"
        ),
    ],
)
def test_iso_time(text: str, moment: datetime) -> None:
    assert parsing.iso_time(text) == moment
