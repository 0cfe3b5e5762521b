"""`badgectl awards watch` (also `events tail`): awards and revocations as they happen."""

from __future__ import annotations

import argparse
from typing import Any

import grpc
from badgeflow.v1 import progress_pb2

from badgeflow_client.cli.console import EXIT_OK, Console
from badgeflow_client.cli.parsing import add_command, add_group, positive
from badgeflow_client.client import BadgeflowClient
from badgeflow_client.errors import BadgeflowError

__all__ = ["add_watch", "register"]


def _watch(client: BadgeflowClient, args: argparse.Namespace, console: Console) -> int:
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


def add_watch(sub: Any, name: str, help_text: str) -> None:
    watch = add_command(
        sub,
        name,
        _watch,
        help_text,
        "  badgectl awards watch --template credly:8f2b7c1e-0000-4000-8000-000000000001\n"
        "  badgectl --json events tail --learner ada --count 1",
    )
    watch.add_argument("--learner", default="", metavar="ID", help="only this learner's awards")
    watch.add_argument(
        "--template", default="", metavar="TEMPLATE_ID", help="only this template's awards"
    )
    watch.add_argument(
        "--count", type=positive, default=None, metavar="N", help="exit after N changes"
    )


def register(commands: Any) -> None:
    sub = add_group(commands, "awards", "watch awards as they happen")
    add_watch(sub, "watch", "print one line per award or revocation from now on")
