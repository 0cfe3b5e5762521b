"""`make bench`: run every scenario, write bench/results/<name>.json, print a summary.

`python -m bench --quick` runs small sizes (used by a smoke test so the suite stays
runnable); figures from a quick run are not meant to be compared."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench import ingest, predicates, templates

RESULTS = Path(__file__).parent / "results"
SCENARIOS = {
    "predicates": predicates.run,
    "ingest_sqlite": ingest.run,
    "ingest_by_templates": templates.run,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="badgeflow benchmarks")
    parser.add_argument("--quick", action="store_true", help="small sizes, for smoke tests")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for the JSON results")
    parser.add_argument("scenarios", nargs="*", choices=[*SCENARIOS, []], help="default: all")
    options = parser.parse_args(argv)
    options.out.mkdir(parents=True, exist_ok=True)
    for name in options.scenarios or SCENARIOS:
        print(f"running {name}…", file=sys.stderr, flush=True)
        result = SCENARIOS[name](options.quick)
        (options.out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
