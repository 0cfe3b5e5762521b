"""badgectl: the badgeflow command line.

    badgectl [--server HOST:PORT] [--api-key KEY] [--tls] [--ca-file FILE]
             [--json] [--timeout SECONDS] COMMAND ...

    rules check FILE... [--json]             check rule files here (no server)
    rules test FILE...                       run each rule file's sibling events and expectations
    rules plan FILE...                       what applying would change, and whom a backfill awards
    rules validate FILE...                   check rule files on the server
    rules apply FILE... [--expected-version N]
    rules show                               the rules in force
    rules backfill [TEMPLATE_ID...] [--dry-run]
    templates sync [CONNECTION_ID]           pull templates (every active connection by default)
    templates list [--active]
    templates show TEMPLATE_ID
    templates activate TEMPLATE_ID
    templates deactivate TEMPLATE_ID
    events send FILE.jsonl [--batch-size N] [--rate EVENTS_PER_S]
    events tail [--learner ID] [--template ID] [--count N]      (= awards watch)
    progress learner LEARNER_ID [--detail]   in progress, available and earned badges
    progress template TEMPLATE_ID [--completed | --in-progress] [--min-percent P]
             [--updated-after ISO] [--limit N]
    awards watch [--learner ID] [--template ID] [--count N]
    providers connect credly|accredible ORG [--token-env VAR | --token-file FILE]
             [--environment E] [--base-url URL]
    providers list
    providers disconnect CONNECTION_ID
    providers sync [CONNECTION_ID]
    issuances list [--state pending|sent|failed] [--limit N]
    issuances retry ISSUANCE_ID
    badges list LEARNER_ID [--exclude-revoked]
    badges grant TEMPLATE_ID LEARNER_ID --reason TEXT [--email E] [--first-name N]
             [--last-name N]
    badges revoke AWARD_ID --reason TEXT
    badges retry AWARD_ID                    issue an award on the provider again
    badges provider --learner ID | --template ID
    keys create --role publisher|reader|admin --name NAME   prints the key once
    keys list [--all]
    keys revoke KEY_ID

Every command has `--help`. The options above go before the command or after it.
`--server` defaults to $BADGEFLOW_SERVER, else
127.0.0.1:50151; `--api-key` to $BADGEFLOW_API_KEY (sent as a bearer token, never
printed); `--tls` to $BADGEFLOW_TLS (1/true/yes), `--ca-file` to $BADGEFLOW_CA_FILE (a
PEM bundle; implies TLS). Human output is aligned tables with times in UTC to the minute;
`--json` prints responses as JSON (proto field names): one object, or one object per
line for lists and streams. Progress (`events send`, `rules backfill`) goes to stderr: a
bar on a terminal, a line a second otherwise. Errors go to stderr as
`badgectl: <message>`, followed by the server's field violations.

Exit codes:

    0  ok
    1  the operation reported failures (rule errors, rejected events)
    2  usage error, unreadable or malformed input file, or a request the server
       rejected as INVALID_ARGUMENT
    3  NOT_FOUND
    4  FAILED_PRECONDITION or ALREADY_EXISTS
    5  UNAVAILABLE or DEADLINE_EXCEEDED (the server could not be reached in time)
    6  any other server error
    7  UNAUTHENTICATED or PERMISSION_DENIED (check --api-key)
    130 interrupted (Ctrl-C)

Example:

    $ badgectl rules apply rules/demo.badge
    applied rules version 1
    created credly:8f2b7c1e-0000-4000-8000-000000000001
    $ badgectl templates activate credly:8f2b7c1e-0000-4000-8000-000000000001
    $ badgectl events send events.jsonl
    $ badgectl progress learner ada

docs/badgectl.md is the reference, with an example session.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable

import grpc

from badgeflow_client.cli import (
    awards,
    badges,
    events,
    keys,
    progress,
    providers,
    rules,
    templates,
)
from badgeflow_client.cli.console import (
    EXIT_DENIED,
    EXIT_FAILURES,
    EXIT_INTERRUPTED,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_PRECONDITION,
    EXIT_SERVER_ERROR,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    Console,
    InputError,
)
from badgeflow_client.cli.parsing import (
    API_KEY_ENV,
    CA_FILE_ENV,
    DEFAULT_SERVER,
    SERVER_ENV,
    TLS_ENV,
    add_global_options,
    leaves,
    read_text,
)
from badgeflow_client.client import BadgeflowClient
from badgeflow_client.errors import BadgeflowError

__all__ = [
    "API_KEY_ENV",
    "CA_FILE_ENV",
    "DEFAULT_SERVER",
    "EXIT_DENIED",
    "EXIT_FAILURES",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_PRECONDITION",
    "EXIT_SERVER_ERROR",
    "EXIT_UNREACHABLE",
    "EXIT_USAGE",
    "SERVER_ENV",
    "TLS_ENV",
    "build_parser",
    "commands",
    "main",
]

_TRUE = frozenset({"1", "true", "yes", "on"})

_EXIT_CODES = {
    grpc.StatusCode.INVALID_ARGUMENT: EXIT_USAGE,
    grpc.StatusCode.NOT_FOUND: EXIT_NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION: EXIT_PRECONDITION,
    grpc.StatusCode.ALREADY_EXISTS: EXIT_PRECONDITION,
    grpc.StatusCode.UNAVAILABLE: EXIT_UNREACHABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED: EXIT_UNREACHABLE,
    grpc.StatusCode.UNAUTHENTICATED: EXIT_DENIED,
    grpc.StatusCode.PERMISSION_DENIED: EXIT_DENIED,
}
_EPILOG = """\
exit codes:
  0  ok                      4  FAILED_PRECONDITION or ALREADY_EXISTS
  1  failures reported       5  server unreachable or too slow
  2  usage or bad input      6  any other server error
  3  NOT_FOUND               7  UNAUTHENTICATED or PERMISSION_DENIED
  130 interrupted

example:
  export BADGEFLOW_SERVER=badgeflow.internal:443 BADGEFLOW_TLS=1 BADGEFLOW_API_KEY=...
  badgectl rules plan rules/*.badge
  badgectl --json progress learner ada

see `badgectl COMMAND ACTION --help`, and docs/badgectl.md"""


def build_parser() -> argparse.ArgumentParser:
    """The badgectl argument parser (every command has `--help`)."""
    parser = argparse.ArgumentParser(
        prog="badgectl",
        description="The badgeflow command line: rules, templates, events, progress, "
        "awards, providers, issuances, badges and API keys.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_global_options(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in (
        rules.register,
        templates.register,
        events.register,
        progress.register,
        awards.register,
        providers.register,
        providers.register_issuances,
        badges.register,
        keys.register,
    ):
        register(sub)
    return parser


def commands() -> list[tuple[str, ...]]:
    """Every command, as its words: [("rules", "check"), …, ("badges", "provider")]."""
    return list(leaves(build_parser()))


def _report(error: BadgeflowError, server: str, console: Console) -> int:
    code = _EXIT_CODES.get(error.code, EXIT_SERVER_ERROR)
    if code == EXIT_UNREACHABLE and not error.reason:
        console.error(f"badgectl: cannot reach badgeflow at {server}")
        console.error(f"  ({error.code.name}: {error.message})")
        return code
    console.error(f"badgectl: {error.message}")
    for violation in error.violations:
        console.error(f"  {violation.field}: {violation.description}")
    if code == EXIT_DENIED:
        console.error(f"  (check --api-key or ${API_KEY_ENV})")
    return code


def _client(args: argparse.Namespace) -> BadgeflowClient:
    """The client the global options and their environment variables describe."""
    ca_file = args.ca_file if args.ca_file is not None else os.environ.get(CA_FILE_ENV, "")
    tls = args.tls if args.tls is not None else os.environ.get(TLS_ENV, "").lower() in _TRUE
    roots = read_text(ca_file).encode() if ca_file else None
    api_key = args.api_key if args.api_key is not None else os.environ.get(API_KEY_ENV, "")
    return BadgeflowClient(
        args.server,
        timeout=args.timeout,
        api_key=api_key,
        tls=tls or roots is not None,
        root_certificates=roots,
    )


def _run(args: argparse.Namespace, console: Console) -> int:
    if getattr(args, "offline", False):
        return args.handler(None, args, console)
    try:
        with _client(args) as client:
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
        return _run(args, Console(args.json))
    except BrokenPipeError:
        # The reader went away (`badgectl templates list | head`): not an error of ours.
        # Point stdout at /dev/null so the interpreter's final flush stays quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
