"""`make bench`: run every scenario, write bench/results/<name>.json, then the summary
table (bench/results/SUMMARY.md, also printed) and the plot (events_by_templates.png).

`python -m bench ingest_mixed latency` runs only those scenarios; the summary and plot
are remade from every result in the directory. `python -m bench --quick` runs small
sizes on SQLite only (the smoke test); its figures are not meant to be compared."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import ingest, issuance, latency, memory, plot, predicates, summary, templates
from bench.context import Context

RESULTS = Path(__file__).parent / "results"
Scenario = Callable[[Context], dict[str, Any]]
SCENARIOS: dict[str, Scenario] = {
    "predicates": predicates.run,
    "ingest_mixed": ingest.run_mixed,
    "ingest_all_advance": ingest.run_all_advance,
    "ingest_by_templates": templates.run,
    "issuance": issuance.run,
    "memory": memory.run,
    "latency": latency.run,
}


def _server_commit() -> str:
    """The commit the figures were measured against (marked -dirty with local changes)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], capture_output=True, text=True, cwd=RESULTS.parent
        ).stdout.strip()

    commit = git("rev-parse", "--short=12", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "server", "dsl", "clients")
    return f"{commit}-dirty" if dirty else commit


def _run(name: str, ctx: Context, out: Path, commit: str) -> None:
    print(f"running {name}…", file=sys.stderr, flush=True)
    start = time.perf_counter()
    result = SCENARIOS[name](ctx)
    result["seconds"] = round(time.perf_counter() - start, 1)
    result["commit"] = commit
    result["quick"] = ctx.quick
    (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"{name} done in {result['seconds']} s", file=sys.stderr, flush=True)


def _report(out: Path) -> None:
    results = {p.stem: json.loads(p.read_text()) for p in sorted(out.glob("*.json"))}
    table = summary.render(results)
    (out / "SUMMARY.md").write_text(table)
    print(table)
    print(plot.draw(results, out / "events_by_templates.png"), file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="badgeflow benchmarks")
    parser.add_argument(
        "--quick", action="store_true", help="small sizes, SQLite only, for smoke tests"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for the results")
    parser.add_argument(
        "scenarios", nargs="*", metavar="SCENARIO", help=f"default: all of {', '.join(SCENARIOS)}"
    )
    options = parser.parse_args(argv)
    unknown = [n for n in options.scenarios if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    options.out.mkdir(parents=True, exist_ok=True)
    commit, start = _server_commit(), time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="badgeflow-bench-") as tmp:
        ctx = Context(quick=options.quick, workdir=Path(tmp))
        try:
            for name in options.scenarios or SCENARIOS:
                _run(name, ctx, options.out, commit)
        finally:
            ctx.close()
    _report(options.out)
    print(f"bench finished in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
