"""`badgectl rules …`: the rules-as-code loop (check, test, plan, validate, apply, show)
and the backfill of the rules in force from the stored event log."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from badgeflow.v1 import rule_service_pb2, rules_pb2

from badgeflow_client import offline
from badgeflow_client.cli import meter
from badgeflow_client.cli.console import EXIT_FAILURES, EXIT_OK, Console, listing, when
from badgeflow_client.cli.parsing import add_command, add_group, read_text
from badgeflow_client.client import BadgeflowClient
from badgeflow_client.errors import BadgeflowError

__all__ = ["SHOWN_LEARNERS", "register"]

SHOWN_LEARNERS = 5
"""Learner ids `rules plan` names per badge before "and N more"."""


def _read_rule_files(paths: Sequence[str]) -> dict[str, str]:
    return {path: read_text(path) for path in paths}


def _validate(client: BadgeflowClient, args: argparse.Namespace, console: Console) -> int:
    response = client.validate_rules(_read_rule_files(args.files))
    if console.as_json:
        console.message(response)
        return EXIT_OK if response.valid else EXIT_FAILURES
    for diagnostic in response.diagnostics:
        console.line(diagnostic.rendered)
    errors = sum(d.severity == rules_pb2.DIAGNOSTIC_SEVERITY_ERROR for d in response.diagnostics)
    warnings = len(response.diagnostics) - errors
    if response.valid:
        console.line(f"valid: {len(response.badges)} badge(s), {warnings} warning(s)")
    else:
        console.line(f"invalid: {errors} error(s), {warnings} warning(s)")
    return EXIT_OK if response.valid else EXIT_FAILURES


def _report_diagnostics(error: BadgeflowError, console: Console) -> int:
    """Rule errors from apply or plan: every diagnostic, exit 1; other errors re-raised."""
    if not error.diagnostics:
        raise error
    if console.as_json:
        console.message(rules_pb2.RuleDiagnostics(diagnostics=error.diagnostics))
    console.error(f"badgectl: {error.message}")
    for diagnostic in error.diagnostics:
        console.error(diagnostic.rendered)
    return EXIT_FAILURES


def _plan(client: BadgeflowClient, args: argparse.Namespace, console: Console) -> int:
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
        if badge.backfill_learner_ids:
            ids = list(badge.backfill_learner_ids)
            console.line(f"{'':12}learners: {listing(ids, SHOWN_LEARNERS, badge.backfill_awards)}")
    for template_id in plan.unbound_template_ids:
        console.line(f"  {'unbound':<9} {template_id}: no rules; it would stop counting")
    if not (plan.added_template_ids or plan.changed_template_ids or plan.unbound_template_ids):
        console.line("  no changes")
    apply = f"badgectl rules apply --expected-version {plan.current_version}"
    console.line(f"apply exactly this: {apply} {' '.join(args.files)}")
    return EXIT_OK


def _apply(client: BadgeflowClient, args: argparse.Namespace, console: Console) -> int:
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


def _show(client: BadgeflowClient, args: argparse.Namespace, console: Console) -> int:
    response = client.get_rules()
    if console.as_json:
        console.message(response)
        return EXIT_OK
    if not response.version:
        console.line("no rules applied yet")
        return EXIT_OK
    console.line(f"version {response.version}, applied at {when(response.applied_at)}")
    for badge in response.badges:
        console.line(
            f"badge {badge.slug} -> {badge.template_id}: {badge.group_count} group(s), "
            f"{badge.requirement_count} requirement(s), {badge.penalty_count} penalty(ies)"
        )
    for rule_file in response.files:
        console.line(f"--- {rule_file.name}")
        console.line(rule_file.content.rstrip("\n"))
    return EXIT_OK


# -- backfill ---------------------------------------------------------------------


def _backfill_progress(step: rule_service_pb2.BackfillRulesResponse) -> meter.Describe:
    def describe(seconds: float) -> str:
        return (
            f"replayed {step.events_replayed}/{step.events_total} events, "
            f"{step.learners_replayed} learner(s), {step.awards} award(s) so far"
        )

    return describe


def _backfill(client: BadgeflowClient, args: argparse.Namespace, console: Console) -> int:
    progress = meter.for_stream(console.err)
    final: rule_service_pb2.BackfillRulesResponse | None = None
    try:
        for step in client.backfill_rules(args.template_ids, dry_run=args.dry_run):
            if step.done:
                final = step
            else:
                progress.update(step.events_replayed, step.events_total, _backfill_progress(step))
    except KeyboardInterrupt:
        progress.finish()
        if not args.dry_run:
            console.error(
                "badgectl: backfill stopped; what it wrote is kept, and running it again "
                "finishes it without awarding anyone twice"
            )
        raise
    progress.finish()
    if final is None:  # the stream ended without its summary
        console.error("badgectl: the backfill ended without a summary; run it again")
        return EXIT_FAILURES
    if console.as_json:
        console.message(final)
        return EXIT_OK
    _print_backfill(final, args.dry_run, console)
    return EXIT_OK


def _print_backfill(
    final: rule_service_pb2.BackfillRulesResponse, dry_run: bool, console: Console
) -> None:
    verb = "dry run, nothing written" if dry_run else "backfilled"
    console.line(
        f"{verb}: {final.events_replayed} event(s) replayed for "
        f"{final.learners_replayed} learner(s), {final.awards} award(s)"
        f"{' would be made' if dry_run else ''}"
    )
    awarded = "WOULD AWARD" if dry_run else "AWARDED"
    rows: list[tuple[str, ...]] = [
        ("TEMPLATE", "BADGE", awarded, "ALREADY HELD", "REVOKED BY ADMIN", "PROGRESS UPDATED")
    ]
    rows += [
        (
            r.template_id,
            r.badge or "-",
            str(r.awards),
            str(r.already_held),
            str(r.revoked_by_admin),
            str(r.progress_updated),
        )
        for r in final.results
    ]
    console.table(rows)
    if dry_run:
        for result in final.results:
            if result.awards:
                ids = list(result.awarded_learner_ids)
                console.line(
                    f"would award {result.template_id} to {listing(ids, len(ids), result.awards)}"
                )


# -- parser -----------------------------------------------------------------------


def _files(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("files", nargs="+", metavar="FILE", help="rule files (.badge)")
    return parser


def register(commands: Any) -> None:
    sub = add_group(commands, "rules", "check, test, plan, apply and backfill rule files")
    _files(
        add_command(
            sub,
            "check",
            offline.rules_check,
            "check rule files here, without a server",
            "  badgectl rules check rules/*.badge",
        )
    ).set_defaults(offline=True)
    _files(
        add_command(
            sub,
            "test",
            offline.rules_test,
            "run each rule file's sibling .events.jsonl and .expect.json, without a server",
            "  badgectl rules test examples/*.badge",
        )
    ).set_defaults(offline=True)
    _files(
        add_command(
            sub,
            "plan",
            _plan,
            "show what applying these files would change and whom a backfill would award",
            "  badgectl rules plan rules/*.badge",
        )
    )
    _files(
        add_command(
            sub, "validate", _validate, "check rule files on the server without applying them"
        )
    )
    apply = _files(
        add_command(
            sub,
            "apply",
            _apply,
            "replace the rules in force with these files",
            "  badgectl rules apply --expected-version 3 rules/*.badge",
        )
    )
    apply.add_argument(
        "--expected-version",
        type=int,
        default=0,
        metavar="N",
        help="fail if the rules in force are not at version N (default: no check)",
    )
    add_command(sub, "show", _show, "show the rules in force")
    backfill = add_command(
        sub,
        "backfill",
        _backfill,
        "award, from the stored events, badges learners met before the rules said so",
        "  badgectl rules backfill --dry-run credly:8f2b7c1e-0000-4000-8000-000000000001\n"
        "  badgectl rules backfill",
    )
    backfill.add_argument(
        "template_ids",
        nargs="*",
        metavar="TEMPLATE_ID",
        help="the templates to backfill (default: every active template)",
    )
    backfill.add_argument(
        "--dry-run", action="store_true", help="show who would be awarded; write nothing"
    )
