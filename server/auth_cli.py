"""`python -m server keys …`: manage API keys offline, straight against the configured
database (BADGEFLOW_DATABASE_URL or the TOML file). This is how the first admin key of a
fresh database is made; after that, `badgectl keys` does the same over gRPC.

    python -m server keys create --role admin --name ops   # prints the key once
    python -m server keys list [--all]
    python -m server keys revoke KEY_ID

The database is migrated first, so this works before the server ever started. A key
revoked here is refused by running servers within BADGEFLOW_AUTH_CACHE_SECONDS.
Exit codes: 0 ok, 1 refused (unknown or already revoked key, bad name), 2 usage or
settings, 3 database unreachable.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TextIO, TypeVar

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from server.auth import Role
from server.auth_keys import create_key, revoke_key
from server.errors import BadgeflowError
from server.settings import SettingsError, load_settings
from server.store import api_keys as keys_repo
from server.store.api_keys import ApiKeyRecord
from server.store.db import create_engine_for, make_session_factory, migrate

__all__ = ["main"]

T = TypeVar("T")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m server keys",
        description="Manage badgeflow API keys in the configured database (offline).",
    )
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = sub.add_parser("create", help="create a key and print it once")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--name", required=True, help="who or what uses the key")
    listing = sub.add_parser("list", help="list keys (never their secrets)")
    listing.add_argument("--all", action="store_true", help="revoked keys too")
    revoke = sub.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id", metavar="KEY_ID")
    return parser


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"


def _print_keys(keys: Sequence[ApiKeyRecord], out: TextIO) -> None:
    rows = [("KEY ID", "ROLE", "NAME", "CREATED", "LAST USED", "REVOKED")]
    rows += [
        (k.key_id, k.role, k.name, _when(k.created_at), _when(k.last_used_at), _when(k.revoked_at))
        for k in keys
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip(), file=out
        )


def _in_database(work: Callable[[Session], T]) -> T:
    engine = create_engine_for(load_settings().database_url)
    try:
        migrate(engine)
        with make_session_factory(engine).begin() as session:
            return work(session)
    finally:
        engine.dispose()


def _run(args: argparse.Namespace, out: TextIO) -> int:
    now = datetime.now(UTC)
    if args.action == "create":
        record, secret = _in_database(lambda s: create_key(s, args.name, Role(args.role), now))
        print(f"created {record.role} key {record.key_id} ({record.name})", file=sys.stderr)
        print("the key is shown this once; store it in a secret manager:", file=sys.stderr)
        print(secret, file=out)
    elif args.action == "list":
        _print_keys(
            _in_database(lambda s: keys_repo.list_api_keys(s, include_revoked=args.all)), out
        )
    else:
        record = _in_database(lambda s: revoke_key(s, args.key_id, now))
        print(f"revoked key {record.key_id} ({record.name})", file=out)
    return 0


def main(argv: Sequence[str], out: TextIO | None = None) -> int:
    """Run `keys ACTION …` (argv without the leading "keys"); return the exit code."""
    args = _parser().parse_args(list(argv))
    try:
        return _run(args, out or sys.stdout)
    except SettingsError as error:
        print(f"badgeflow: {error}", file=sys.stderr)
        return 2
    except BadgeflowError as error:
        print(f"badgeflow: {error.message}", file=sys.stderr)
        return 1
    except OperationalError as error:
        print(f"badgeflow: the database is unreachable: {error.orig}", file=sys.stderr)
        return 3
