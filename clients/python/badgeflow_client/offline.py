"""`badgectl rules check` and `rules test`: rule files checked and tested on this
machine, without a server, by the same compiler and engine the server runs.

They need the badgeflow server package next to the client (a development checkout
has both; `pip install badgeflow` otherwise)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Protocol

__all__ = ["rules_check", "rules_test"]

EXIT_OK, EXIT_FAILURES, EXIT_USAGE = 0, 1, 2
_NEEDS_SERVER = "badgectl: `rules {}` needs the badgeflow package (pip install badgeflow)"


class Console(Protocol):
    as_json: bool

    def line(self, text: str = "") -> None: ...
    def error(self, text: str) -> None: ...


def _sources(paths: list[str], console: Console) -> list[Any] | None:
    from dsl import SourceFile

    sources = []
    for path in paths:
        try:
            sources.append(SourceFile(path, Path(path).read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as error:
            console.error(f"badgectl: cannot read {path}: {error}")
            return None
    return sources


def _diagnostic_json(d: Any) -> dict[str, Any]:
    s = d.span
    return {
        "code": d.code,
        "severity": d.severity.value,
        "message": d.message,
        "hint": d.hint or "",
        "file": s.file,
        "line": s.line,
        "column": s.column,
        "end_line": s.end_line,
        "end_column": s.end_column,
        "rendered": d.render(),
    }


def rules_check(client: object, args: argparse.Namespace, console: Console) -> int:
    """Every diagnostic of the files checked together; exit 1 if any is an error."""
    try:
        from dsl import Severity, check
    except ImportError:
        console.error(_NEEDS_SERVER.format("check"))
        return EXIT_USAGE
    sources = _sources(args.files, console)
    if sources is None:
        return EXIT_USAGE
    diagnostics = check(sources)
    errors = sum(d.severity is Severity.ERROR for d in diagnostics)
    if console.as_json:
        console.line(
            json.dumps(
                {"valid": errors == 0, "diagnostics": [_diagnostic_json(d) for d in diagnostics]}
            )
        )
    else:
        for diagnostic in diagnostics:
            console.line(diagnostic.render())
        verdict = "ok" if errors == 0 else "failed"
        warnings = len(diagnostics) - errors
        console.line(f"{verdict}: {len(sources)} file(s), {errors} error(s), {warnings} warning(s)")
    return EXIT_FAILURES if errors else EXIT_OK


def rules_test(client: object, args: argparse.Namespace, console: Console) -> int:
    """Run each rule file's sibling events and expectations (see server.rule_tests)."""
    try:
        from server.rule_tests import RuleTestError, run_rule_test
    except ImportError:
        console.error(_NEEDS_SERVER.format("test"))
        return EXIT_USAGE
    failed = 0
    reports = []
    for path in args.files:
        try:
            result = run_rule_test(Path(path))
        except RuleTestError as error:
            failed += 1
            reports.append({"file": path, "passed": False, "error": str(error)})
            if not console.as_json:
                console.line(f"ERROR {path}: {error}")
            continue
        failed += not result.passed
        reports.append(
            {
                "file": path,
                "passed": result.passed,
                "events": result.events,
                "checks": result.checks,
                "failures": result.failures,
            }
        )
        if not console.as_json:
            verdict = "ok   " if result.passed else "FAIL "
            console.line(f"{verdict}{path} ({result.events} events, {result.checks} checks)")
            for failure in result.failures:
                console.line(f"    {failure}")
    if console.as_json:
        console.line(json.dumps({"passed": failed == 0, "files": reports}))
    else:
        console.line(f"{len(args.files) - failed} passed, {failed} failed")
    return EXIT_FAILURES if failed else EXIT_OK
