"""The plot: events/s against active templates (log x), one line per workload/backend
from (b), the (a) runs at 10,000 templates as markers, and the null sink as a reference
line. matplotlib is optional (the `bench` extra); without it the plot is skipped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["draw"]


def draw(results: dict[str, dict[str, Any]], path: Path) -> str:
    """Write the PNG; returns a sentence saying what happened."""
    by_templates = results.get("ingest_by_templates")
    if by_templates is None:
        return "plot skipped: no ingest_by_templates result"
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot
    except ImportError:
        return "plot skipped: matplotlib is not installed (pip install -e '.[bench]')"
    figure, axes = pyplot.subplots(figsize=(10, 5), dpi=120)
    colours = _lines(axes, by_templates)
    _points(axes, results, colours)
    sink = by_templates["null_sink"]["events_per_s"]
    axes.axhline(sink, color="grey", linestyle="--", label=f"null sink ({sink:,} ev/s)")
    axes.set(
        xscale="log",
        yscale="log",
        xlabel="active templates",
        ylabel="events/s",
        title=f"Ingest, {by_templates['batch']} events per message",
    )
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    figure.tight_layout()
    figure.savefig(path)
    pyplot.close(figure)
    return f"plot written to {path}"


def _lines(axes: Any, by_templates: dict[str, Any]) -> dict[str, str]:
    """One line per workload/backend; returns each one's colour, for the (a) markers."""
    colours = {}
    for name, series in by_templates["series"].items():
        if "runs" not in series:
            continue
        sizes = sorted(series["runs"], key=int)
        (line,) = axes.plot(
            [int(n) for n in sizes],
            [series["runs"][n]["events_per_s"] for n in sizes],
            marker="o",
            label=name,
        )
        colours[name] = line.get_color()
    return colours


def _points(axes: Any, results: dict[str, dict[str, Any]], colours: dict[str, str]) -> None:
    for key in ("ingest_mixed", "ingest_all_advance"):
        result = results.get(key)
        for backend, outcome in (result or {}).get("backends", {}).items():
            if "badgeflow" in outcome:
                axes.scatter(
                    [result["active_templates"]],
                    [outcome["badgeflow"]["events_per_s"]],
                    color=colours.get(f"{result['workload']}/{backend}"),
                    marker="*",
                    s=120,
                    label=f"(a) {result['workload']}/{backend}, via services",
                )
