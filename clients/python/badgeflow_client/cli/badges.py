"""`badgectl badges …`: an admin's view of a learner's badges, and the manual actions
(grant, revoke, re-issue); `badges provider` shows the providers' own records."""

from __future__ import annotations

import argparse
from typing import Any

from badgeflow.v1 import progress_pb2, progress_service_pb2

from badgeflow_client.cli.console import (
    EXIT_OK,
    Console,
    InputError,
    learner_line,
    listing,
    when,
)
from badgeflow_client.cli.parsing import add_command, add_group
from badgeflow_client.client import BadgeflowClient

__all__ = ["DIRECT", "SHOWN_EVENTS", "register"]

SHOWN_EVENTS = 3
"""Event ids shown per award before "and N more"."""
DIRECT = "on provider"
"""The ORIGIN of a badge issued directly on the provider, not by badgeflow."""


def _name(enum: Any, value: int, prefix: str) -> str:
    return enum.Name(value).removeprefix(prefix).lower().replace("_", " ")


def _award_state(award: progress_pb2.Award) -> str:
    if award.state == progress_pb2.AWARD_STATE_REVOKED:
        return f"revoked ({_name(progress_pb2.RevokedBy, award.revoked_by, 'REVOKED_BY_')})"
    return _name(progress_pb2.AwardState, award.state, "AWARD_STATE_")


def _row(item: progress_service_pb2.LearnerAward) -> tuple[str, ...]:
    badge = item.provider_badge
    provider_state = badge.state if item.HasField("provider_badge") else "-"
    if item.issued_on_provider:
        name = item.template_name or badge.template_external_id
        return (
            "-",
            "-",
            name,
            "-",
            DIRECT,
            when(badge.issue_time),
            when(badge.expire_time),
            provider_state,
            "-",
        )
    award = item.award
    events = list(award.event_ids)
    return (
        award.id,
        award.badge or "-",
        item.template_name or award.template_id,
        _award_state(award),
        _name(progress_pb2.AwardOrigin, award.origin, "AWARD_ORIGIN_"),
        when(award.award_time),
        when(award.expire_time),
        provider_state,
        listing(events, SHOWN_EVENTS) or "-",
    )


def _list(client: BadgeflowClient, args: argparse.Namespace, console: Console) -> int:
    response = client.learner_awards(args.learner_id, exclude_revoked=args.exclude_revoked)
    if console.as_json:
        console.message(response)
        return EXIT_OK
    console.line(learner_line(response.learner, args.learner_id))
    rows = [
        (
            "AWARD",
            "BADGE",
            "NAME",
            "STATE",
            "ORIGIN",
            "AWARDED",
            "EXPIRES",
            "PROVIDER",
            "EVENTS",
        )
    ]
    rows += [_row(item) for item in response.awards]
    console.table(rows)
    return EXIT_OK


def _grant(client: BadgeflowClient, args: argparse.Namespace, console: Console) -> int:
    if not args.reason.strip():
        raise InputError("--reason must say why the badge is granted")
    award = client.grant_award(
        args.template_id,
        args.learner_id,
        args.reason,
        email=args.email,
        first_name=args.first_name,
        last_name=args.last_name,
    )
    if console.as_json:
        console.message(award)
    else:
        console.line(
            f"granted {award.template_id} ({award.badge or '-'}) to {award.learner_id}: "
            f"award {award.id}, issuing on the provider"
        )
    return EXIT_OK


def _revoke(client: BadgeflowClient, args: argparse.Namespace, console: Console) -> int:
    award = client.revoke_award(args.award_id, args.reason)
    if console.as_json:
        console.message(award)
    else:
        console.line(f"revoked award {award.id}")
    return EXIT_OK


def _retry(client: BadgeflowClient, args: argparse.Namespace, console: Console) -> int:
    response = client.reissue_award(args.award_id)
    if console.as_json:
        console.message(response)
    else:
        console.line(
            f"award {response.award.id} queued for issuing again (issuance {response.issuance_id})"
        )
    return EXIT_OK


def _provider(client: BadgeflowClient, args: argparse.Namespace, console: Console) -> int:
    if bool(args.learner) == bool(args.template):
        raise InputError("give exactly one of --learner and --template")
    badges = client.provider_badges(learner_id=args.learner, template_id=args.template)
    if console.as_json:
        for badge in badges:
            console.message(badge)
        return EXIT_OK
    rows = [("BADGE", "STATE", "RECIPIENT", "TEMPLATE", "ISSUED", "EXPIRES", "AWARD")]
    rows += [
        (
            f"{b.provider}:{b.external_id}",
            b.state,
            b.recipient_email,
            b.template_external_id,
            when(b.issue_time),
            when(b.expire_time),
            b.award_id or DIRECT,
        )
        for b in badges
    ]
    console.table(rows)
    return EXIT_OK


def register(commands: Any) -> None:
    sub = add_group(commands, "badges", "a learner's badges; grant, revoke and re-issue them")
    listing_ = add_command(
        sub,
        "list",
        _list,
        "a learner's awards with their provider state and events, and badges issued "
        "directly on the provider",
        "  badgectl badges list ada --exclude-revoked",
    )
    listing_.add_argument("learner_id", metavar="LEARNER_ID")
    listing_.add_argument("--exclude-revoked", action="store_true", help="leave revoked awards out")
    grant = add_command(
        sub,
        "grant",
        _grant,
        "grant a badge by hand to a learner who does not hold it; it is issued as usual",
        "  badgectl badges grant credly:8f2b7c1e-0000-4000-8000-000000000001 ada \\\n"
        '      --reason "passed the course before it was tracked"',
    )
    grant.add_argument("template_id", metavar="TEMPLATE_ID")
    grant.add_argument("learner_id", metavar="LEARNER_ID")
    grant.add_argument("--reason", required=True, help="why; recorded on the award")
    grant.add_argument(
        "--email", default="", help="the learner's email (needed if badgeflow never saw them)"
    )
    for flag in ("--first-name", "--last-name"):
        grant.add_argument(
            flag, default="", metavar="NAME", help="needed by Credly if badgeflow has none"
        )
    revoke = add_command(
        sub,
        "revoke",
        _revoke,
        "revoke an award here and on the provider",
        '  badgectl badges revoke 42 --reason "issued in error"',
    )
    revoke.add_argument("award_id", metavar="AWARD_ID")
    revoke.add_argument("--reason", required=True, help="why; recorded and sent to Credly")
    add_command(
        sub,
        "retry",
        _retry,
        "issue an award on the provider again after the provider refused or dropped it",
        "  badgectl badges retry 42",
    ).add_argument("award_id", metavar="AWARD_ID")
    provider = add_command(
        sub,
        "provider",
        _provider,
        "a learner's or a template's badges as the providers hold them",
        "  badgectl badges provider --learner ada",
    )
    provider.add_argument("--learner", default="", metavar="LEARNER_ID")
    provider.add_argument("--template", default="", metavar="TEMPLATE_ID")
