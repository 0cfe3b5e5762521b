"""`make bench` keeps working: a quick run of every scenario writes its results, the
summary table and (when matplotlib is installed) the plot. No timing is asserted here;
figures come from `make bench` as same-run ratios."""

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
    mixed = written["ingest_mixed"]
    assert mixed["events"] == 1_000 and mixed["null_sink"]["events_per_s"] > 0
    assert mixed["backends"]["sqlite"]["throughput_vs_null_sink"] > 0
    assert mixed["backends"]["postgresql"]["skipped"].startswith("not run by --quick")
    assert written["ingest_all_advance"]["backends"]["sqlite"]["throughput_vs_raw_store"] > 0
    assert set(written["ingest_by_templates"]["series"]["all-advance/sqlite"]["runs"]) == {
        "10",
        "100",
    }
    assert written["issuance"]["no_faults"]["exactly_one_badge_per_award"] is True
    assert written["issuance"]["with_faults"]["exactly_one_badge_per_award"] is True
    assert written["memory"]["rss_mb"]["peak_while_reading"] > 0
    assert written["latency"]["backends"]["sqlite"]["badgeflow"]["ack_p99_ms"] > 0
    summary = (tmp_path / "SUMMARY.md").read_text()
    assert summary.count("| (a) mixed, 100 templates |") == 2
    assert "| (f) ack latency at 1,000 ev/s | sqlite |" in summary
