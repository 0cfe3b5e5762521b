"""`make bench` keeps working: a quick run of every scenario writes its results. No
timing is asserted here; figures come from `make bench` as same-run ratios."""

from __future__ import annotations

import json
from pathlib import Path

from bench.__main__ import SCENARIOS, main


def test_every_scenario_runs_and_writes_results(tmp_path: Path) -> None:
    assert main(["--quick", "--out", str(tmp_path)]) == 0
    written = {p.stem: json.loads(p.read_text()) for p in tmp_path.glob("*.json")}
    assert set(written) == set(SCENARIOS)
    assert written["predicates"]["compiled_cost_vs_hand_written"] > 0
    assert written["predicates"]["naive_cost_vs_compiled"] > 0
    assert set(written["ingest_by_templates"]["runs"]) == {"10", "100"}
    ingest = written["ingest_sqlite"]
    assert ingest["events"] == 2_000
    assert ingest["badgeflow"]["events_per_s"] > 0 and ingest["null_sink"]["events_per_s"] > 0
