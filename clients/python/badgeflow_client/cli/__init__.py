"""badgectl: the badgeflow command line.

    badgectl [--server HOST:PORT] [--json] [--timeout SECONDS] COMMAND ...

    rules check FILE... [--json]           check rule files here (no server)
    rules test FILE...                     run each rule file's sibling events and expectations
    rules plan FILE...                     what applying would change, with backfill counts
    rules validate FILE...                 check rule files on the server
    rules apply FILE... [--expected-version N]
    rules show
    templates list [--active]
    templates show ID | activate ID | deactivate ID
    events send FILE.jsonl [--batch-size N]
    progress learner ID
    progress template ID [--completed]
    awards watch [--learner ID] [--template ID] [--count N]
    providers connect credly|accredible ORG [--token-env VAR | --token-file FILE]
              [--environment E] [--base-url URL]
    providers list | disconnect ID | sync ID
    issuances list [--state pending|sent|failed] [--limit N]
    issuances retry ID
    badges provider --learner ID | --template ID
    badges revoke AWARD_ID --reason TEXT

`--server` defaults to $BADGEFLOW_SERVER, else 127.0.0.1:50151. `--json` prints responses
as JSON (proto field names): one object, or one object per line for streams. Errors go to
stderr as `badgectl: <message>`, followed by the server's field violations.

Exit codes:

    0  ok
    1  the operation reported failures (rule errors, rejected events)
    2  usage error, unreadable or malformed input file, or a request the server
       rejected as INVALID_ARGUMENT
    3  NOT_FOUND
    4  FAILED_PRECONDITION or ALREADY_EXISTS
    5  UNAVAILABLE or DEADLINE_EXCEEDED (the server could not be reached in time)
    6  any other server error
    130 interrupted (Ctrl-C)

Example:

    $ badgectl rules apply rules/demo.badge
    applied rules version 1
    created credly:8f2b7c1e-0000-4000-8000-000000000001
    $ badgectl templates activate credly:8f2b7c1e-0000-4000-8000-000000000001
    $ badgectl events send events.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Any

import grpc
from badgeflow.v1 import event_pb2, progress_pb2, provider_pb2, rules_pb2, template_pb2
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

from badgeflow_client import offline
from badgeflow_client.client import DEFAULT_BATCH_SIZE, DEFAULT_RPC_TIMEOUT, BadgeflowClient
from badgeflow_client.errors import BadgeflowError
from badgeflow_client.events import event_from_dict

__all__ = [
    "DEFAULT_SERVER",
    "EXIT_FAILURES",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_PRECONDITION",
    "EXIT_SERVER_ERROR",
    "EXIT_UNREACHABLE",
    "EXIT_USAGE",
    "SERVER_ENV",
    "build_parser",
    "main",
]

DEFAULT_SERVER = "127.0.0.1:50151"
SERVER_ENV = "BADGEFLOW_SERVER"
PROGRESS_INTERVAL = 1.0
"""Seconds between progress lines of `events send`."""

EXIT_OK = 0
EXIT_FAILURES = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_PRECONDITION = 4
EXIT_UNREACHABLE = 5
EXIT_SERVER_ERROR = 6
EXIT_INTERRUPTED = 130

_EXIT_CODES = {
    grpc.StatusCode.INVALID_ARGUMENT: EXIT_USAGE,
    grpc.StatusCode.NOT_FOUND: EXIT_NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION: EXIT_PRECONDITION,
    grpc.StatusCode.ALREADY_EXISTS: EXIT_PRECONDITION,
    grpc.StatusCode.UNAVAILABLE: EXIT_UNREACHABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED: EXIT_UNREACHABLE,
}


class InputError(Exception):
    """A bad input file: reported as `badgectl: <message>` with exit code 2."""


class _Console:
    """Where a command writes: stdout for results, stderr for errors and progress."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.out: IO[str] = sys.stdout
        self.err: IO[str] = sys.stderr

    def line(self, text: str = "") -> None:
        print(text, file=self.out)

    def error(self, text: str) -> None:
        print(text, file=self.err)

    def message(self, message: Message) -> None:
        """Print a proto as one JSON object (on one line, so streams are JSON lines)."""
        data = MessageToDict(message, preserving_proto_field_name=True)
        print(json.dumps(data, sort_keys=True), file=self.out)


# -- helpers ----------------------------------------------------------------------


def _read_rule_files(paths: Sequence[str]) -> dict[str, str]:
    files = {}
    for path in paths:
        try:
            files[path] = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise InputError(f"cannot read {path}: {error}") from None
    return files


def _read_events(path: str) -> list[event_pb2.Event]:
    """Parse a whole JSON-lines file before anything is sent; blank lines are skipped."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read {path}: {error}") from None
    events = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            events.append(event_from_dict(json.loads(line)))
        except json.JSONDecodeError as error:
            raise InputError(f"{path}:{number}: not valid JSON: {error.msg}") from None
        except ValueError as error:
            raise InputError(f"{path}:{number}: {error}") from None
    return events


def _time(ts: Any) -> str:
    return ts.ToJsonString() if ts.seconds or ts.nanos else "-"


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def _award_state(progress: progress_pb2.TemplateProgress) -> str:
    if not progress.HasField("award"):
        return "not awarded"
    award = progress.award
    if award.state == progress_pb2.AWARD_STATE_AWARDED:
        return f"awarded #{award.sequence} at {_time(award.award_time)}"
    if award.state == progress_pb2.AWARD_STATE_REVOKED:
        by = progress_pb2.RevokedBy.Name(award.revoked_by).removeprefix("REVOKED_BY_").lower()
        reason = f": {award.revoke_reason}" if award.revoke_reason else ""
        return f"revoked by {by} at {_time(award.revoke_time)}{reason}"
    return "not awarded"


# -- rules ------------------------------------------------------------------------


def _rules_validate(client: BadgeflowClient, args: argparse.Namespace, console: _Console) -> int:
    response = client.validate_rules(_read_rule_files(args.files))
    if console.as_json:
        console.message(response)
    else:
        for diagnostic in response.diagnostics:
            console.line(diagnostic.rendered)
        errors = sum(
            d.severity == rules_pb2.DIAGNOSTIC_SEVERITY_ERROR for d in response.diagnostics
        )
        warnings = len(response.diagnostics) - errors
        if response.valid:
            console.line(f"valid: {len(response.badges)} badge(s), {warnings} warning(s)")
        else:
            console.line(f"invalid: {errors} error(s), {warnings} warning(s)")
    return EXIT_OK if response.valid else EXIT_FAILURES


def _report_diagnostics(error: BadgeflowError, console: _Console) -> int:
    """Rule errors from apply or plan: every diagnostic, exit 1; other errors re-raised."""
    if not error.diagnostics:
        raise error
    if console.as_json:
        console.message(rules_pb2.RuleDiagnostics(diagnostics=error.diagnostics))
    console.error(f"badgectl: {error.message}")
    for diagnostic in error.diagnostics:
        console.error(diagnostic.rendered)
    return EXIT_FAILURES


def _rules_plan(client: BadgeflowClient, args: argparse.Namespace, console: _Console) -> int:
    try:
        plan = client.plan_rules(_read_rule_files(args.files))
    except BadgeflowError as error:
        return _report_diagnostics(error, console)
    if console.as_json:
        console.message(plan)
        return EXIT_OK
    console.line(
        f"plan against rules version {plan.current_version} "
        f"({plan.events_replayed} logged events replayed)"
    )
    for badge in plan.badges:
        if badge.change == "unchanged":
            continue
        note = "" if badge.template_active else " (template inactive)"
        console.line(
            f"  {badge.change:<9} {badge.template_id}  {badge.slug}: a backfill would award "
            f"{badge.backfill_awards} learner(s){note}"
        )
    for template_id in plan.unbound_template_ids:
        console.line(f"  {'unbound':<9} {template_id}: no rules; it would stop counting")
    if not (plan.added_template_ids or plan.changed_template_ids or plan.unbound_template_ids):
        console.line("  no changes")
    apply = f"badgectl rules apply --expected-version {plan.current_version}"
    console.line(f"apply exactly this: {apply} {' '.join(args.files)}")
    return EXIT_OK


def _rules_apply(client: BadgeflowClient, args: argparse.Namespace, console: _Console) -> int:
    try:
        response = client.apply_rules(_read_rule_files(args.files), args.expected_version)
    except BadgeflowError as error:
        return _report_diagnostics(error, console)
    if console.as_json:
        console.message(response)
        return EXIT_OK
    console.line(f"applied rules version {response.version}")
    for label, ids in (
        ("created", response.created_template_ids),
        ("changed", response.changed_template_ids),
        ("unbound", response.unbound_template_ids),
    ):
        for template_id in ids:
            console.line(f"{label} {template_id}")
    return EXIT_OK


def _rules_show(client: BadgeflowClient, args: argparse.Namespace, console: _Console) -> int:
    response = client.get_rules()
    if console.as_json:
        console.message(response)
        return EXIT_OK
    if not response.version:
        console.line("no rules applied yet")
        return EXIT_OK
    console.line(f"version {response.version}, applied at {_time(response.applied_at)}")
    for badge in response.badges:
        console.line(
            f"badge {badge.slug} -> {badge.template_id}: {badge.group_count} group(s), "
            f"{badge.requirement_count} requirement(s), {badge.penalty_count} penalty(ies)"
        )
    for rule_file in response.files:
        console.line(f"--- {rule_file.name}")
        console.line(rule_file.content.rstrip("\n"))
    return EXIT_OK


# -- templates --------------------------------------------------------------------


def _templates_list(client: BadgeflowClient, args: argparse.Namespace, console: _Console) -> int:
    templates = list(client.list_templates(active_only=args.active))
    if console.as_json:
        for template in templates:
            console.message(template)
        return EXIT_OK
    rows = [("ID", "ACTIVE", "BADGE", "NAME")]
    rows += [(t.id, "yes" if t.active else "no", t.badge or "-", t.name) for t in templates]
    for line in _table(rows):
        console.line(line)
    return EXIT_OK


def _print_template(template: template_pb2.Template, console: _Console) -> None:
    if console.as_json:
        console.message(template)
        return
    console.line(f"id:          {template.id}")
    console.line(f"name:        {template.name}")
    console.line(f"active:      {'yes' if template.active else 'no'}")
    console.line(f"badge:       {template.badge or '-'}")
    console.line(f"repeatable:  {'yes' if template.repeatable else 'no'}")
    if template.description:
        console.line(f"description: {template.description}")
    for req in template.requirements:
        console.line(f"requirement  {req.group}/{req.name}: {req.description}")
    for penalty in template.penalties:
        resets = ", ".join(penalty.resets)
        console.line(f"penalty      {penalty.name}: {penalty.description} (resets {resets})")


def _templates_show(client: BadgeflowClient, args: argparse.Namespace, console: _Console) -> int:
    _print_template(client.get_template(args.id), console)
    return EXIT_OK


def _templates_activate(
    client: BadgeflowClient, args: argparse.Namespace, console: _Console
) -> int:
    template = client.activate_template(args.id)
    console.message(template) if console.as_json else console.line(f"activated {template.id}")
    return EXIT_OK


def _templates_deactivate(
    client: BadgeflowClient, args: argparse.Namespace, console: _Console
) -> int:
    template = client.deactivate_template(args.id)
    console.message(template) if console.as_json else console.line(f"deactivated {template.id}")
    return EXIT_OK


# -- events -----------------------------------------------------------------------


class _Progress:
    """Writes `sent N/TOTAL events (R events/s)` to a stream at most every `interval` s."""

    def __init__(
        self, total: int, stream: IO[str], interval: float, clock: Callable[[], float]
    ) -> None:
        self._total = total
        self._stream = stream
        self._interval = interval
        self._clock = clock
        self._start = self._last = clock()

    def update(self, sent: int) -> None:
        now = self._clock()
        if now - self._last < self._interval:
            return
        self._last = now
        rate = sent / (now - self._start) if now > self._start else 0.0
        print(f"sent {sent}/{self._total} events ({rate:.0f} events/s)", file=self._stream)


def _events_send(client: BadgeflowClient, args: argparse.Namespace, console: _Console) -> int:
    events = _read_events(args.file)
    progress = _Progress(len(events), console.err, PROGRESS_INTERVAL, time.monotonic)
    counts = dict.fromkeys(event_pb2.EventOutcome.values(), 0)
    rejected = []
    for sent, result in enumerate(
        client.stream_events(events, batch_size=args.batch_size), start=1
    ):
        counts[result.outcome] += 1
        if result.outcome == event_pb2.EVENT_OUTCOME_REJECTED:
            rejected.append(result)
        if console.as_json:
            console.message(result)
        progress.update(sent)
    if not console.as_json:
        console.line(
            f"sent {sum(counts.values())}: accepted {counts[event_pb2.EVENT_OUTCOME_ACCEPTED]}, "
            f"duplicate {counts[event_pb2.EVENT_OUTCOME_DUPLICATE]}, rejected {len(rejected)}"
        )
        for result in rejected:
            console.line(
                f"  rejected {result.event_id or '(no id)'}: {result.reason_code}: {result.reason}"
            )
    return EXIT_FAILURES if rejected else EXIT_OK


# -- progress and awards ----------------------------------------------------------


def _print_learner_progress(progress: progress_pb2.TemplateProgress, console: _Console) -> None:
    console.line(
        f"{progress.template_id}  {progress.badge or '-'}  {progress.percent:g}% "
        f"({progress.fulfilled_groups}/{progress.total_groups} groups)  {_award_state(progress)}"
    )
    for group in progress.groups:
        state = f"fulfilled by {group.fulfilled_by}" if group.fulfilled else "not fulfilled"
        console.line(f"  group {group.name}: {state}")


def _progress_learner(client: BadgeflowClient, args: argparse.Namespace, console: _Console) -> int:
    response = client.learner_progress(args.id)
    if console.as_json:
        console.message(response)
        return EXIT_OK
    learner = response.learner
    name = " ".join(part for part in (learner.first_name, learner.last_name) if part)
    about = ", ".join(part for part in (learner.email, name) if part)
    console.line(f"learner {learner.id}" + (f" ({about})" if about else ""))
    for progress in response.progress:
        _print_learner_progress(progress, console)
    return EXIT_OK


def _progress_template(client: BadgeflowClient, args: argparse.Namespace, console: _Console) -> int:
    records = list(client.template_progress(args.id, completed_only=args.completed))
    if console.as_json:
        for record in records:
            console.message(record)
        return EXIT_OK
    rows = [("LEARNER", "PERCENT", "GROUPS", "AWARD")]
    rows += [
        (r.learner_id, f"{r.percent:g}%", f"{r.fulfilled_groups}/{r.total_groups}", _award_state(r))
        for r in records
    ]
    for line in _table(rows):
        console.line(line)
    return EXIT_OK


def _awards_watch(client: BadgeflowClient, args: argparse.Namespace, console: _Console) -> int:
    watch = client.watch_awards(learner_id=args.learner, template_id=args.template)
    try:
        watch.wait_subscribed(timeout=args.timeout)
        console.error("badgectl: watching awards")
        for seen, change in enumerate(watch, start=1):
            if console.as_json:
                console.message(change)
            else:
                kind = progress_pb2.AwardEventKind.Name(change.kind).removeprefix(
                    "AWARD_EVENT_KIND_"
                )
                award = change.award
                console.line(
                    f"{kind} {award.template_id} ({award.badge}) learner {award.learner_id} "
                    f"#{award.sequence} award {award.id}"
                )
            if seen == args.count:
                break
    except TimeoutError as error:
        raise BadgeflowError(str(error), code=grpc.StatusCode.DEADLINE_EXCEEDED) from None
    finally:
        watch.cancel()
    return EXIT_OK


# -- providers and issuances -------------------------------------------------------

TOKEN_ENV = "BADGEFLOW_PROVIDER_TOKEN"
_ISSUANCE_STATES = {"pending": 1, "sent": 2, "failed": 3}


def _token(args: argparse.Namespace) -> str:
    """The provider token, never from the command line (it would show in `ps`)."""
    if args.token_file:
        try:
            return Path(args.token_file).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise InputError(f"cannot read {args.token_file}: {error}") from None
    token = os.environ.get(args.token_env, "")
    if not token:
        raise InputError(f"no token: set ${args.token_env} or pass --token-file FILE")
    return token


def _connection_line(connection: Any) -> str:
    state = "active" if connection.active else "disconnected"
    return f"{connection.id}  {state}  {connection.name}  {connection.base_url}"


def _providers_connect(client: BadgeflowClient, args: argparse.Namespace, console: _Console) -> int:
    response = client.connect_provider(
        args.kind,
        args.organization,
        _token(args),
        environment=args.environment,
        base_url=args.base_url,
    )
    if console.as_json:
        console.message(response)
        return EXIT_OK
    console.line(f"connected {_connection_line(response.connection)}")
    console.line(f"{len(response.created_template_ids)} new template(s), inactive until activated")
    return EXIT_OK


def _providers_list(client: BadgeflowClient, args: argparse.Namespace, console: _Console) -> int:
    for connection in client.list_providers():
        console.message(connection) if console.as_json else console.line(
            _connection_line(connection)
        )
    return EXIT_OK


def _providers_disconnect(
    client: BadgeflowClient, args: argparse.Namespace, console: _Console
) -> int:
    connection = client.disconnect_provider(args.id)
    console.message(connection) if console.as_json else console.line(
        f"disconnected {connection.id}"
    )
    return EXIT_OK


def _providers_sync(client: BadgeflowClient, args: argparse.Namespace, console: _Console) -> int:
    response = client.sync_templates(args.id)
    if console.as_json:
        console.message(response)
        return EXIT_OK
    for label, ids in (
        ("created", response.created_template_ids),
        ("updated", response.updated_template_ids),
        ("deactivated", response.deactivated_template_ids),
    ):
        for template_id in ids:
            console.line(f"{label} {template_id}")
    return EXIT_OK


def _issuances_list(client: BadgeflowClient, args: argparse.Namespace, console: _Console) -> int:
    state = _ISSUANCE_STATES[args.state] if args.state else 0
    for item in client.list_issuances(state=state, limit=args.limit):
        if console.as_json:
            console.message(item)
            continue
        name = provider_pb2.IssuanceState.Name(item.state).removeprefix("ISSUANCE_STATE_").lower()
        detail = item.provider_badge_id or item.last_error
        console.line(
            f"{item.id}  {name}  {item.action}  award {item.award_id}  {item.template_id}  {detail}"
        )
    return EXIT_OK


def _badges_provider(client: BadgeflowClient, args: argparse.Namespace, console: _Console) -> int:
    if bool(args.learner) == bool(args.template):
        raise InputError("give exactly one of --learner and --template")
    for badge in client.provider_badges(learner_id=args.learner, template_id=args.template):
        if console.as_json:
            console.message(badge)
            continue
        award = f"award {badge.award_id}" if badge.award_id else "issued on the provider"
        console.line(
            f"{badge.provider}:{badge.external_id}  {badge.state}  {badge.recipient_email}  "
            f"{badge.template_external_id}  {award}"
        )
    return EXIT_OK


def _badges_revoke(client: BadgeflowClient, args: argparse.Namespace, console: _Console) -> int:
    award = client.revoke_award(args.award_id, args.reason)
    console.message(award) if console.as_json else console.line(f"revoked award {award.id}")
    return EXIT_OK


def _issuances_retry(client: BadgeflowClient, args: argparse.Namespace, console: _Console) -> int:
    item = client.retry_issuance(args.id)
    console.message(item) if console.as_json else console.line(f"issuance {item.id} queued again")
    return EXIT_OK


# -- parser -----------------------------------------------------------------------


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _add(
    group: Any, name: str, handler: Callable[..., int], help_text: str
) -> argparse.ArgumentParser:
    parser = group.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(handler=handler)
    return parser


def _add_rules(commands: Any) -> None:
    rules = commands.add_parser(
        "rules",
        help="validate, apply and show rule files",
        description="Validate, apply and show rule files.",
    )
    sub = rules.add_subparsers(dest="action", required=True, metavar="ACTION")
    validate = _add(
        sub, "validate", _rules_validate, "check rule files on the server without applying them"
    )
    validate.add_argument("files", nargs="+", metavar="FILE")
    apply = _add(sub, "apply", _rules_apply, "replace the rules in force with these files")
    apply.add_argument("files", nargs="+", metavar="FILE")
    apply.add_argument(
        "--expected-version",
        type=int,
        default=0,
        metavar="N",
        help="fail if the rules in force are not at version N (default: no check)",
    )
    _add(sub, "show", _rules_show, "show the rules in force")
    plan = _add(
        sub, "plan", _rules_plan, "show what applying these files would change (nothing changes)"
    )
    plan.add_argument("files", nargs="+", metavar="FILE")
    check = _add(sub, "check", offline.rules_check, "check rule files here, without a server")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.set_defaults(offline=True)
    test = _add(
        sub, "test", offline.rules_test, "run each rule file's sibling .events.jsonl/.expect.json"
    )
    test.add_argument("files", nargs="+", metavar="FILE")
    test.set_defaults(offline=True)


def _add_templates(commands: Any) -> None:
    templates = commands.add_parser(
        "templates",
        help="list, show, activate and deactivate templates",
        description="List, show, activate and deactivate badge templates.",
    )
    sub = templates.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = _add(sub, "list", _templates_list, "list templates")
    listing.add_argument("--active", action="store_true", help="only active templates")
    for name, handler, text in (
        ("show", _templates_show, "show one template"),
        ("activate", _templates_activate, "make a template count"),
        ("deactivate", _templates_deactivate, "stop a template from counting"),
    ):
        _add(sub, name, handler, text).add_argument("id", metavar="ID", help='e.g. "credly:<uuid>"')


def _add_events(commands: Any) -> None:
    events = commands.add_parser(
        "events", help="send learner events", description="Send learner events."
    )
    sub = events.add_subparsers(dest="action", required=True, metavar="ACTION")
    send = _add(sub, "send", _events_send, "stream the events of a JSON-lines file")
    send.add_argument(
        "file", metavar="FILE.jsonl", help="one event per line (see badgeflow_client.events)"
    )
    send.add_argument(
        "--batch-size",
        type=_positive,
        default=DEFAULT_BATCH_SIZE,
        metavar="N",
        help=f"events per batch, at most 1000 (default {DEFAULT_BATCH_SIZE})",
    )


def _add_progress(commands: Any) -> None:
    progress = commands.add_parser(
        "progress",
        help="show learner or template progress",
        description="Show learner or template progress.",
    )
    sub = progress.add_subparsers(dest="action", required=True, metavar="ACTION")
    _add(sub, "learner", _progress_learner, "a learner's progress on every template").add_argument(
        "id", metavar="ID"
    )
    template = _add(sub, "template", _progress_template, "every learner's progress on a template")
    template.add_argument("id", metavar="ID")
    template.add_argument(
        "--completed", action="store_true", help="only learners who earned the badge"
    )


def _add_awards(commands: Any) -> None:
    awards = commands.add_parser(
        "awards", help="watch awards", description="Watch awards as they happen."
    )
    sub = awards.add_subparsers(dest="action", required=True, metavar="ACTION")
    watch = _add(sub, "watch", _awards_watch, "print one line per award or revocation from now on")
    watch.add_argument("--learner", default="", metavar="ID", help="only this learner's awards")
    watch.add_argument("--template", default="", metavar="ID", help="only this template's awards")
    watch.add_argument(
        "--count", type=_positive, default=None, metavar="N", help="exit after N changes"
    )


def _add_providers(commands: Any) -> None:
    providers = commands.add_parser(
        "providers",
        help="connect, list, sync and disconnect Credly and Accredible accounts",
        description="Provider connections.",
    )
    sub = providers.add_subparsers(dest="action", required=True, metavar="ACTION")
    connect = _add(
        sub, "connect", _providers_connect, "connect an account (checks the token at once)"
    )
    connect.add_argument("kind", choices=["credly", "accredible"])
    connect.add_argument(
        "organization", metavar="ORG", help="Credly organisation id, or a name for Accredible"
    )
    connect.add_argument(
        "--token-env",
        default=TOKEN_ENV,
        metavar="VAR",
        help=f"read the token from $VAR (default {TOKEN_ENV})",
    )
    connect.add_argument(
        "--token-file", default="", metavar="FILE", help="read the token from FILE"
    )
    connect.add_argument(
        "--environment", default="", help="production (default), sandbox, or eu (Accredible)"
    )
    connect.add_argument(
        "--base-url", default="", metavar="URL", help="another API host, e.g. the emulator"
    )
    _add(sub, "list", _providers_list, "list connections")
    for name, handler, text in (
        (
            "disconnect",
            _providers_disconnect,
            "stop issuing through a connection (records are kept)",
        ),
        ("sync", _providers_sync, "pull a connection's templates now"),
    ):
        _add(sub, name, handler, text).add_argument(
            "id", metavar="ID", help='e.g. "credly:<org id>"'
        )


def _add_issuances(commands: Any) -> None:
    issuances = commands.add_parser(
        "issuances", help="see and retry provider issuance", description="The issuance queue."
    )
    sub = issuances.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = _add(sub, "list", _issuances_list, "list issuances, most recent last")
    listing.add_argument(
        "--state", choices=sorted(_ISSUANCE_STATES), default="", help="only this state"
    )
    listing.add_argument("--limit", type=_positive, default=100, metavar="N")
    _add(sub, "retry", _issuances_retry, "send a failed issuance again").add_argument(
        "id", type=int, metavar="ID"
    )


def _add_badges(commands: Any) -> None:
    badges = commands.add_parser(
        "badges", help="badges as the providers hold them", description="Provider badges."
    )
    sub = badges.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = _add(sub, "provider", _badges_provider, "a learner's or a template's provider badges")
    listing.add_argument("--learner", default="", metavar="ID")
    listing.add_argument("--template", default="", metavar="ID")
    revoke = _add(sub, "revoke", _badges_revoke, "revoke an award here and on the provider")
    revoke.add_argument("award_id", metavar="AWARD_ID")
    revoke.add_argument("--reason", required=True, help="why; recorded and sent to Credly")


def build_parser() -> argparse.ArgumentParser:
    """The badgectl argument parser (every command has `--help`)."""
    parser = argparse.ArgumentParser(
        prog="badgectl",
        description="The badgeflow command line.",
        epilog="exit codes: 0 ok, 1 failures reported, 2 usage/bad input, 3 not found, "
        "4 precondition, 5 unreachable, 6 other server error",
    )
    parser.add_argument(
        "--server",
        default=os.environ.get(SERVER_ENV) or DEFAULT_SERVER,
        metavar="HOST:PORT",
        help=f"badgeflow address (${SERVER_ENV}, else {DEFAULT_SERVER})",
    )
    parser.add_argument("--json", action="store_true", help="print responses as JSON")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_RPC_TIMEOUT,
        metavar="SECONDS",
        help=f"deadline of each call (default {DEFAULT_RPC_TIMEOUT:g})",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (
        _add_rules,
        _add_templates,
        _add_events,
        _add_progress,
        _add_awards,
        _add_providers,
        _add_issuances,
        _add_badges,
    ):
        add(commands)
    return parser


def _report(error: BadgeflowError, server: str, console: _Console) -> int:
    code = _EXIT_CODES.get(error.code, EXIT_SERVER_ERROR)
    if code == EXIT_UNREACHABLE and not error.reason:
        console.error(f"badgectl: cannot reach badgeflow at {server}")
        console.error(f"  ({error.code.name}: {error.message})")
        return code
    console.error(f"badgectl: {error.message}")
    for violation in error.violations:
        console.error(f"  {violation.field}: {violation.description}")
    return code


def _run(args: argparse.Namespace, console: _Console) -> int:
    if getattr(args, "offline", False):
        return args.handler(None, args, console)
    try:
        with BadgeflowClient(args.server, timeout=args.timeout) as client:
            return args.handler(client, args, console)
    except InputError as error:
        console.error(f"badgectl: {error}")
        return EXIT_USAGE
    except BadgeflowError as error:
        return _report(error, args.server, console)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def main(argv: Iterable[str] | None = None) -> int:
    """Run badgectl with `argv` (default: the process arguments) and return the exit code.

    Example:
        >>> main(["--server", "127.0.0.1:50151", "templates", "list"])  # doctest: +SKIP
        0
    """
    try:
        args = build_parser().parse_args(None if argv is None else list(argv))
    except SystemExit as exit_:  # argparse exits on --help (0) and on usage errors (2)
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    try:
        return _run(args, _Console(args.json))
    except BrokenPipeError:
        # The reader went away (`badgectl templates list | head`): not an error of ours.
        # Point stdout at /dev/null so the interpreter's final flush stays quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
