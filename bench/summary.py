"""The summary table: one row per goal of issue 6, each figure next to the baseline it
is measured against in the same run, the ratio, the goal, and whether it is met."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["render"]

Row = tuple[str, str, str, str, str, str, str]
_HEADER: Row = ("Scenario", "Backend", "Measured", "Baseline (same run)", "Ratio", "Goal", "Result")


def _verdict(met: bool) -> str:
    return "pass" if met else "**FAIL**"


def _rate(figures: dict[str, Any]) -> str:
    ack = f"ack p50 {figures['ack_p50_ms']} / p99 {figures['ack_p99_ms']} ms"
    return f"{figures['events_per_s']:,} ev/s ({ack})"


def _ingest(result: dict[str, Any], key: str, baseline: str, goal: float) -> Iterator[Row]:
    title = f"(a) {result['workload']}, {result['active_templates']:,} templates"
    for backend, outcome in result["backends"].items():
        if "skipped" in outcome:
            yield (title, backend, f"skipped: {outcome['skipped']}", "", "", "", "skipped")
            continue
        ratio = outcome[key]
        base = baseline.format(**outcome, **result)
        yield (
            title,
            backend,
            _rate(outcome["badgeflow"]),
            base,
            f"{ratio:.3f}",
            f"≥ {goal}",
            _verdict(ratio >= goal),
        )


def _mixed(result: dict[str, Any]) -> Iterator[Row]:
    sink = f"null sink {result['null_sink']['events_per_s']:,} ev/s"
    yield from _ingest(result, "throughput_vs_null_sink", sink, 0.25)


def _all_advance(result: dict[str, Any]) -> Iterator[Row]:
    for outcome in result["backends"].values():
        if "raw_store" in outcome:
            outcome["raw"] = f"raw store {outcome['raw_store']['rows_per_s']:,} rows/s"
    yield from _ingest(result, "throughput_vs_raw_store", "{raw}", 0.5)


def _by_templates(result: dict[str, Any]) -> Iterator[Row]:
    for name, series in result["series"].items():
        workload, backend = name.split("/")
        title = f"(b) {workload}, 10 → most templates"
        if "skipped" in series:
            yield (title, backend, f"skipped: {series['skipped']}", "", "", "", "skipped")
            continue
        runs = series["runs"]
        first, last = min(runs, key=int), max(runs, key=int)
        slowdown = series["slowdown_vs_10_templates"][last]
        yield (
            title,
            backend,
            f"{int(last):,} templates: {runs[last]['events_per_s']:,} ev/s",
            f"{int(first):,} templates: {runs[first]['events_per_s']:,} ev/s",
            f"{slowdown:.2f}× slower",
            "≤ 1.5× slower",
            _verdict(slowdown <= 1.5),
        )


def _predicates(result: dict[str, Any]) -> Iterator[Row]:
    cost, naive = result["compiled_cost_vs_hand_written"], result["naive_cost_vs_compiled"]
    compiled = f"compiled {result['compiled_evals_per_s']:,}/s"
    yield (
        "(c) predicates vs lambda",
        "",
        compiled,
        f"lambda {result['hand_written_evals_per_s']:,}/s",
        f"{cost:.2f}× the cost",
        "≤ 2×",
        _verdict(cost <= 2),
    )
    yield (
        "(c) predicates vs naive",
        "",
        compiled,
        f"naive {result['naive_evals_per_s']:,}/s",
        f"{naive:.1f}× faster",
        "≥ 10×",
        _verdict(naive >= 10),
    )


def _issuance(result: dict[str, Any]) -> Iterator[Row]:
    clean, faulty = result["no_faults"], result["with_faults"]
    for label, run in (("no faults", clean), ("with faults", faulty)):
        exact = run["exactly_one_badge_per_award"]
        ratio = "1" if run is clean else f"{result['throughput_with_faults_vs_without']:.3f}"
        yield (
            f"(d) issuance, {label}",
            "sqlite",
            f"{run['badges_per_s']:,} badges/s, {run['provider_badges']:,} provider badges",
            f"no faults {clean['badges_per_s']:,} badges/s",
            ratio,
            f"exactly {result['awards']:,} badges",
            _verdict(exact),
        )


def _memory(result: dict[str, Any]) -> Iterator[Row]:
    rss = result["rss_mb"]
    peak = max(v for k, v in rss.items() if k != "no_progress")
    yield (
        f"(e) RSS, {result['learners']:,} learners × {result['templates']} templates",
        "sqlite",
        f"peak {peak} MB (loaded {rss['after_loading']}, ingesting "
        f"{rss['peak_while_ingesting']}, reading {rss['peak_while_reading']})",
        f"no progress {rss['no_progress']} MB",
        f"{peak / rss['no_progress']:.2f}×",
        f"< {result['goal_mb']:.0f} MB",
        _verdict(peak < result["goal_mb"]),
    )


def _latency(result: dict[str, Any]) -> Iterator[Row]:
    sink = result["null_sink"]
    for backend, outcome in result["backends"].items():
        title = f"(f) ack latency at {result['offered_events_per_s']:,} ev/s"
        if "skipped" in outcome:
            yield (title, backend, f"skipped: {outcome['skipped']}", "", "", "", "skipped")
            continue
        ours = outcome["badgeflow"]
        yield (
            title,
            backend,
            f"p50 {ours['ack_p50_ms']} / p99 {ours['ack_p99_ms']} ms "
            f"at {ours['events_per_s']:,} ev/s",
            f"null sink p99 {sink['ack_p99_ms']} ms",
            f"{ours['ack_p99_ms'] / max(sink['ack_p99_ms'], 0.01):.1f}×",
            "p99 < 20 ms",
            _verdict(ours["ack_p99_ms"] < 20),
        )


_ROWS = {
    "ingest_mixed": _mixed,
    "ingest_all_advance": _all_advance,
    "ingest_by_templates": _by_templates,
    "predicates": _predicates,
    "issuance": _issuance,
    "memory": _memory,
    "latency": _latency,
}


def _notes(results: dict[str, Any]) -> list[str]:
    commits = ", ".join(sorted({r.get("commit", "?") for r in results.values()}))
    quick = any(r.get("quick") for r in results.values())
    notes = [
        f"Measured against commit {commits}"
        + (" (--quick: too small to compare)." if quick else ".")
    ]
    for backend, outcome in results.get("ingest_mixed", {}).get("backends", {}).items():
        if "setup" in outcome:
            notes.append(_setup_note(backend, outcome["setup"]))
    seconds = sum(r.get("seconds", 0) for r in results.values())
    notes.append(f"The scenarios took {seconds:,.0f} s in all.")
    return notes


def _setup_note(backend: str, setup: dict[str, Any]) -> str:
    """Setting up 10,000 templates through the services, as measured on the way."""
    return (
        f"Setup on {backend}: ApplyRules took {setup['apply_rules_s']} s and the server started "
        f"in {setup['server_start_s']} s; one ActivateTemplate took "
        f"{setup['activate_template_ms_at_full_size']} ms with the others active, so activating "
        f"them one by one would take about {setup['activate_all_one_by_one_estimated_s']:,.0f} s."
    )


def render(results: dict[str, dict[str, Any]]) -> str:
    """Markdown: the table, then notes (commit, setup costs)."""
    rows = [row for name, make in _ROWS.items() if name in results for row in make(results[name])]
    lines = ["# badgeflow benchmark summary", "", _line(_HEADER), _line(("---",) * len(_HEADER))]
    lines += [_line(row) for row in rows]
    lines += [""] + [f"- {note}" for note in _notes(results)]
    return "\n".join(lines) + "\n"


def _line(cells: tuple[str, ...]) -> str:
    return "| " + " | ".join(cells) + " |"
