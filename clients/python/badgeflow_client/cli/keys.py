"""`badgectl keys …`: create, list and revoke API keys (an admin key is needed)."""

from __future__ import annotations

import argparse
from typing import Any

from badgeflow.v1 import api_key_pb2

from badgeflow_client._calls import ROLES
from badgeflow_client.cli.console import EXIT_OK, Console, when
from badgeflow_client.cli.parsing import add_command, add_group
from badgeflow_client.client import BadgeflowClient

__all__ = ["register"]


def _role(key: api_key_pb2.ApiKey) -> str:
    return api_key_pb2.Role.Name(key.role).removeprefix("ROLE_").lower()


def _create(client: BadgeflowClient, args: argparse.Namespace, console: Console) -> int:
    created = client.create_api_key(args.name, args.role)
    if console.as_json:
        console.message(created)
        return EXIT_OK
    key = created.api_key
    console.error(f"badgectl: created {_role(key)} key {key.key_id} ({key.name})")
    console.error("badgectl: the key is shown this once; store it in a secret manager")
    console.line(created.secret)  # alone on stdout: KEY=$(badgectl keys create …)
    return EXIT_OK


def _list(client: BadgeflowClient, args: argparse.Namespace, console: Console) -> int:
    keys = client.list_api_keys(include_revoked=args.all)
    if console.as_json:
        for key in keys:
            console.message(key)
        return EXIT_OK
    rows = [("KEY ID", "ROLE", "NAME", "CREATED", "LAST USED", "REVOKED")]
    rows += [
        (
            k.key_id,
            _role(k),
            k.name,
            when(k.create_time),
            when(k.last_use_time),
            when(k.revoke_time),
        )
        for k in keys
    ]
    console.table(rows)
    return EXIT_OK


def _revoke(client: BadgeflowClient, args: argparse.Namespace, console: Console) -> int:
    key = client.revoke_api_key(args.key_id)
    if console.as_json:
        console.message(key)
    else:
        console.line(f"revoked {_role(key)} key {key.key_id} ({key.name})")
    return EXIT_OK


def register(commands: Any) -> None:
    sub = add_group(commands, "keys", "create, list and revoke API keys (needs an admin key)")
    create = add_command(
        sub,
        "create",
        _create,
        "create an API key and print it once (stdout holds only the key)",
        "  badgectl keys create --role publisher --name lms-prod\n"
        "  KEY=$(badgectl keys create --role reader --name dashboards)",
    )
    create.add_argument("--role", required=True, choices=list(ROLES), help="what the key may do")
    create.add_argument("--name", required=True, help="who or what uses the key")
    listing = add_command(
        sub, "list", _list, "list API keys (never their secrets)", "  badgectl keys list --all"
    )
    listing.add_argument("--all", action="store_true", help="revoked keys too")
    add_command(
        sub,
        "revoke",
        _revoke,
        "revoke an API key (servers refuse it within 30 s)",
        "  badgectl keys revoke 3f9a0c1d2e4b",
    ).add_argument("key_id", metavar="KEY_ID", help="the key's id, as `keys list` shows it")
