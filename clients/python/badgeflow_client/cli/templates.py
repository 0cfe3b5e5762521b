"""`badgectl templates …`: sync from the providers, list, show, activate, deactivate."""

from __future__ import annotations

import argparse
from typing import Any

from badgeflow.v1 import template_pb2

from badgeflow_client.cli.console import EXIT_OK, Console
from badgeflow_client.cli.parsing import add_command, add_group
from badgeflow_client.cli.providers import add_sync
from badgeflow_client.client import BadgeflowClient

__all__ = ["register"]


def _list(client: BadgeflowClient, args: argparse.Namespace, console: Console) -> int:
    templates = list(client.list_templates(active_only=args.active))
    if console.as_json:
        for template in templates:
            console.message(template)
        return EXIT_OK
    rows = [("ID", "ACTIVE", "BADGE", "NAME")]
    rows += [(t.id, "yes" if t.active else "no", t.badge or "-", t.name) for t in templates]
    console.table(rows)
    return EXIT_OK


def _print_template(template: template_pb2.Template, console: Console) -> None:
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


def _show(client: BadgeflowClient, args: argparse.Namespace, console: Console) -> int:
    template = client.get_template(args.id)
    if console.as_json:
        console.message(template)
    else:
        _print_template(template, console)
    return EXIT_OK


def _activate(client: BadgeflowClient, args: argparse.Namespace, console: Console) -> int:
    template = client.activate_template(args.id)
    if console.as_json:
        console.message(template)
    else:
        console.line(f"activated {template.id}")
    return EXIT_OK


def _deactivate(client: BadgeflowClient, args: argparse.Namespace, console: Console) -> int:
    template = client.deactivate_template(args.id)
    if console.as_json:
        console.message(template)
    else:
        console.line(f"deactivated {template.id}")
    return EXIT_OK


def register(commands: Any) -> None:
    sub = add_group(commands, "templates", "sync, list, show, activate and deactivate templates")
    add_sync(sub, "pull templates from the providers now (every active connection by default)")
    listing = add_command(
        sub, "list", _list, "list templates", "  badgectl templates list --active"
    )
    listing.add_argument("--active", action="store_true", help="only active templates")
    for name, handler, text, example in (
        ("show", _show, "show one template with its requirements and penalties", ""),
        (
            "activate",
            _activate,
            "make a template count (it needs rules bound to it)",
            "  badgectl templates activate credly:8f2b7c1e-0000-4000-8000-000000000001",
        ),
        ("deactivate", _deactivate, "stop a template from counting (awards are kept)", ""),
    ):
        add_command(sub, name, handler, text, example).add_argument(
            "id", metavar="TEMPLATE_ID", help='e.g. "credly:<uuid>"'
        )
