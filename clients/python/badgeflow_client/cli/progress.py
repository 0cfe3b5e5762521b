"""`badgectl progress …`: a learner's dashboard (or per-requirement detail) and every
learner's progress on a template."""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Sequence
from typing import Any

from badgeflow.v1 import progress_pb2, progress_service_pb2

from badgeflow_client.cli.console import EXIT_OK, Console, learner_line, when
from badgeflow_client.cli.parsing import add_command, add_group, iso_time, percent, positive
from badgeflow_client.client import DEFAULT_PAGE_SIZE, BadgeflowClient

__all__ = ["award_state", "register"]


def award_state(progress: progress_pb2.TemplateProgress) -> str:
    """`awarded #1 at 2026-11-23 10:00Z`, `revoked by admin at …: why`, or `not awarded`."""
    if not progress.HasField("award"):
        return "not awarded"
    award = progress.award
    if award.state == progress_pb2.AWARD_STATE_AWARDED:
        return f"awarded #{award.sequence} at {when(award.award_time)}"
    if award.state == progress_pb2.AWARD_STATE_REVOKED:
        by = progress_pb2.RevokedBy.Name(award.revoked_by).removeprefix("REVOKED_BY_").lower()
        reason = f": {award.revoke_reason}" if award.revoke_reason else ""
        return f"revoked by {by} at {when(award.revoke_time)}{reason}"
    return "not awarded"


def _lines(rows: list[tuple[str, ...]], head: tuple[str, ...], last: Sequence[str]) -> None:
    """Append `head` + the first of `last`, then one row per further line of `last`."""
    rest = list(last) or ["-"]
    rows.append((*head, rest[0]))
    rows.extend((*("",) * len(head), line) for line in rest[1:])


def _earned_state(badge: progress_pb2.EarnedBadge) -> str:
    name = progress_pb2.EarnedBadgeState.Name(badge.state)
    return name.removeprefix("EARNED_BADGE_STATE_").lower().replace("_", " ")


def _earned_link(badge: progress_pb2.EarnedBadge) -> str:
    if badge.accept_url and badge.state == progress_pb2.EARNED_BADGE_STATE_PENDING:
        return f"accept at {badge.accept_url}"
    return badge.badge_url or badge.accept_url or "-"


def _in_progress(board: progress_service_pb2.GetLearnerBadgesResponse) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = [("BADGE", "NAME", "PROGRESS", "REMAINING")]
    for b in board.in_progress:
        _lines(rows, (b.badge or "-", b.name, f"{b.percent:.0f}%"), b.remaining)
    return rows


def _available(board: progress_service_pb2.GetLearnerBadgesResponse) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = [("BADGE", "NAME", "HOW TO EARN")]
    for a in board.available:
        _lines(rows, (a.badge or "-", a.name), a.how_to_earn)
    return rows


def _earned(board: progress_service_pb2.GetLearnerBadgesResponse) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = [("BADGE", "NAME", "STATE", "AWARDED", "EXPIRES", "URL")]
    rows += [
        (
            e.badge or "-",
            e.name,
            _earned_state(e),
            when(e.award_time),
            when(e.expire_time),
            _earned_link(e),
        )
        for e in board.earned
    ]
    return rows


def _print_dashboard(
    learner_id: str, board: progress_service_pb2.GetLearnerBadgesResponse, console: Console
) -> None:
    """Three sections, each `Title (count)` then its table (none when empty)."""
    console.line(f"learner {learner_id}")
    for title, count, rows in (
        ("In progress", len(board.in_progress), _in_progress(board)),
        ("Available", len(board.available), _available(board)),
        ("Earned", len(board.earned), _earned(board)),
    ):
        console.line()
        console.line(f"{title} ({count})")
        if count:
            console.table(rows)


def _print_detail(
    response: progress_service_pb2.GetLearnerProgressResponse, console: Console
) -> None:
    console.line(learner_line(response.learner))
    for progress in response.progress:
        console.line(
            f"{progress.template_id}  {progress.badge or '-'}  {progress.percent:g}% "
            f"({progress.fulfilled_groups}/{progress.total_groups} groups)  "
            f"{award_state(progress)}"
        )
        for group in progress.groups:
            state = f"fulfilled by {group.fulfilled_by}" if group.fulfilled else "not fulfilled"
            console.line(f"  group {group.name}: {state}")
            for req in group.requirements:
                mark = "x" if req.fulfilled else " "
                detail = f" ({req.detail})" if req.detail else ""
                console.line(f"    [{mark}] {req.name}: {req.description}{detail}")


def _learner(client: BadgeflowClient, args: argparse.Namespace, console: Console) -> int:
    if args.detail:
        response: Any = client.learner_progress(args.id)
        if not console.as_json:
            _print_detail(response, console)
    else:
        response = client.learner_badges(args.id)
        if not console.as_json:
            _print_dashboard(args.id, response, console)
    if console.as_json:
        console.message(response)
    return EXIT_OK


_STATUSES = {
    "completed": progress_service_pb2.PROGRESS_STATUS_COMPLETED,
    "in_progress": progress_service_pb2.PROGRESS_STATUS_IN_PROGRESS,
}


def _template(client: BadgeflowClient, args: argparse.Namespace, console: Console) -> int:
    pager = client.template_progress(
        args.id,
        status=_STATUSES.get(args.status, 0),
        min_percent=args.min_percent,
        updated_after=args.updated_after,
        page_size=min(args.limit or DEFAULT_PAGE_SIZE, DEFAULT_PAGE_SIZE),
    )
    records = list(itertools.islice(pager, args.limit))
    if console.as_json:
        for record in records:
            console.message(record)
        return EXIT_OK
    rows = [("LEARNER", "PERCENT", "GROUPS", "UPDATED", "AWARD")]
    rows += [
        (
            r.learner_id,
            f"{r.percent:g}%",
            f"{r.fulfilled_groups}/{r.total_groups}",
            when(r.update_time),
            award_state(r),
        )
        for r in records
    ]
    console.table(rows)
    return EXIT_OK


def register(commands: Any) -> None:
    sub = add_group(commands, "progress", "show a learner's badges or a template's progress")
    learner = add_command(
        sub,
        "learner",
        _learner,
        "a learner's badges: in progress (what remains), available (how to earn), earned",
        "  badgectl progress learner ada\n  badgectl progress learner ada --detail",
    )
    learner.add_argument("id", metavar="LEARNER_ID")
    learner.add_argument(
        "--detail",
        action="store_true",
        help="every template's groups and requirements, and the events that fulfilled them",
    )
    template = add_command(
        sub,
        "template",
        _template,
        "every learner's progress on a template, by learner id",
        "  badgectl progress template credly:8f2b7c1e-0000-4000-8000-000000000001 \\\n"
        "      --in-progress --min-percent 50 --updated-after 2026-11-01",
    )
    template.add_argument("id", metavar="TEMPLATE_ID")
    status = template.add_mutually_exclusive_group()
    status.add_argument(
        "--completed",
        dest="status",
        action="store_const",
        const="completed",
        default="",
        help="only learners who earned the badge",
    )
    status.add_argument(
        "--in-progress",
        dest="status",
        action="store_const",
        const="in_progress",
        help="only learners who have not completed it",
    )
    template.add_argument(
        "--min-percent", type=percent, default=0.0, metavar="P", help="only at or above P%%"
    )
    template.add_argument(
        "--updated-after",
        type=iso_time,
        default=None,
        metavar="ISO",
        help="only records changed at or after this time (UTC unless it says otherwise)",
    )
    template.add_argument(
        "--limit", type=positive, default=None, metavar="N", help="at most N records"
    )
