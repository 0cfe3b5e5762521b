"""`badgectl providers …` and `issuances …`: Credly and Accredible connections, template
sync, and the issuance queue to the providers."""

from __future__ import annotations

import argparse
import os
from typing import Any

from badgeflow.v1 import provider_pb2

from badgeflow_client.cli.console import EXIT_OK, Console, InputError, when
from badgeflow_client.cli.parsing import add_command, add_group, positive, read_text
from badgeflow_client.client import BadgeflowClient

__all__ = ["TOKEN_ENV", "add_sync", "register", "register_issuances", "sync"]

TOKEN_ENV = "BADGEFLOW_PROVIDER_TOKEN"
_ISSUANCE_STATES = {
    "pending": provider_pb2.ISSUANCE_STATE_PENDING,
    "sent": provider_pb2.ISSUANCE_STATE_SENT,
    "failed": provider_pb2.ISSUANCE_STATE_FAILED,
}


def _token(args: argparse.Namespace) -> str:
    """The provider token, never from the command line (it would show in `ps`)."""
    if args.token_file:
        return read_text(args.token_file).strip()
    token = os.environ.get(args.token_env, "")
    if not token:
        raise InputError(f"no token: set ${args.token_env} or pass --token-file FILE")
    return token


def _connection_line(connection: provider_pb2.ProviderConnection) -> str:
    state = "active" if connection.active else "disconnected"
    return f"{connection.id}  {state}  {connection.name}  {connection.base_url}"


def _connect(client: BadgeflowClient, args: argparse.Namespace, console: Console) -> int:
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


def _list(client: BadgeflowClient, args: argparse.Namespace, console: Console) -> int:
    connections = client.list_providers()
    if console.as_json:
        for connection in connections:
            console.message(connection)
        return EXIT_OK
    rows = [("ID", "STATE", "NAME", "API")]
    rows += [
        (c.id, "active" if c.active else "disconnected", c.name, c.base_url) for c in connections
    ]
    console.table(rows)
    return EXIT_OK


def _disconnect(client: BadgeflowClient, args: argparse.Namespace, console: Console) -> int:
    connection = client.disconnect_provider(args.id)
    if console.as_json:
        console.message(connection)
    else:
        console.line(f"disconnected {connection.id}")
    return EXIT_OK


def sync(client: BadgeflowClient, args: argparse.Namespace, console: Console) -> int:
    """Sync one connection's templates, or every active connection's when none is named."""
    if args.id:
        ids = [args.id]
    else:
        ids = [c.id for c in client.list_providers() if c.active]
        if not ids and not console.as_json:
            console.line("no active connections: connect one with `badgectl providers connect`")
    for connection_id in ids:
        response = client.sync_templates(connection_id)
        if console.as_json:
            console.message(response, connection_id=connection_id)
            continue
        console.line(
            f"synced {connection_id}: {len(response.created_template_ids)} created, "
            f"{len(response.updated_template_ids)} updated, "
            f"{len(response.deactivated_template_ids)} deactivated"
        )
        for label, template_ids in (
            ("created", response.created_template_ids),
            ("updated", response.updated_template_ids),
            ("deactivated", response.deactivated_template_ids),
        ):
            for template_id in template_ids:
                console.line(f"  {label} {template_id}")
    return EXIT_OK


def add_sync(sub: Any, help_text: str) -> None:
    parser = add_command(
        sub,
        "sync",
        sync,
        help_text,
        "  badgectl templates sync\n  badgectl providers sync credly:<organization id>",
    )
    parser.add_argument(
        "id",
        nargs="?",
        default="",
        metavar="CONNECTION_ID",
        help='e.g. "credly:<organization id>" (default: every active connection)',
    )


def register(commands: Any) -> None:
    sub = add_group(commands, "providers", "connect, list, sync and disconnect provider accounts")
    connect = add_command(
        sub,
        "connect",
        _connect,
        "connect a Credly organisation or an Accredible account (checks the token at once)",
        "  BADGEFLOW_PROVIDER_TOKEN=... badgectl providers connect credly <organization id>\n"
        "  badgectl providers connect accredible acme --token-file accredible.key",
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
    add_command(sub, "list", _list, "list connections, active and disconnected")
    add_command(
        sub, "disconnect", _disconnect, "stop issuing through a connection (records are kept)"
    ).add_argument("id", metavar="CONNECTION_ID", help='e.g. "credly:<organization id>"')
    add_sync(sub, "pull templates from a connection now (every active one by default)")


# -- issuances --------------------------------------------------------------------


def _issuances_list(client: BadgeflowClient, args: argparse.Namespace, console: Console) -> int:
    state = _ISSUANCE_STATES[args.state] if args.state else 0
    items = client.list_issuances(state=state, limit=args.limit)
    if console.as_json:
        for item in items:
            console.message(item)
        return EXIT_OK
    rows = [("ID", "STATE", "ACTION", "AWARD", "TEMPLATE", "ATTEMPTS", "NEXT TRY", "DETAIL")]
    for item in items:
        name = provider_pb2.IssuanceState.Name(item.state).removeprefix("ISSUANCE_STATE_").lower()
        rows.append(
            (
                str(item.id),
                name,
                item.action,
                item.award_id,
                item.template_id,
                str(item.attempts),
                when(item.next_attempt_time),
                item.provider_badge_id or item.last_error or "-",
            )
        )
    console.table(rows)
    return EXIT_OK


def _issuances_retry(client: BadgeflowClient, args: argparse.Namespace, console: Console) -> int:
    item = client.retry_issuance(args.id)
    if console.as_json:
        console.message(item)
    else:
        console.line(f"issuance {item.id} queued again")
    return EXIT_OK


def register_issuances(commands: Any) -> None:
    sub = add_group(commands, "issuances", "see and retry the issuance queue to the providers")
    listing = add_command(
        sub,
        "list",
        _issuances_list,
        "list issuances, most recent last",
        "  badgectl issuances list --state failed",
    )
    listing.add_argument(
        "--state", choices=sorted(_ISSUANCE_STATES), default="", help="only this state"
    )
    listing.add_argument(
        "--limit", type=positive, default=100, metavar="N", help="at most N (default 100)"
    )
    add_command(sub, "retry", _issuances_retry, "send a failed issuance again").add_argument(
        "id", type=int, metavar="ISSUANCE_ID"
    )
