"""The results: a table for people, JSON for tools, PNG charts for the README."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlib.measure import Outcome, ratio
from benchlib.registry import Scenario, Variant

METHOD = (
    "ops/s: median of {rounds} interleaved rounds; ratio: median over rounds of the variant's "
    "ops/s over the baseline's in the same round; p50/p99: over every timed call"
)
PLOT_HINT = "matplotlib not installed: pip install '.[bench]'"


@dataclass(frozen=True)
class Row:
    scenario: Scenario
    variant: Variant
    outcome: Outcome
    ratio: float | None

    @property
    def is_baseline(self) -> bool:
        return self.variant is self.scenario.baseline

    def as_json(self) -> dict[str, Any]:
        ran = self.outcome.unavailable is None
        return {
            "scenario": self.scenario.name,
            "group": self.scenario.group,
            "variant": self.variant.name,
            "baseline": self.is_baseline,
            "unit": "rows/s" if self.variant.rows > 1 else "ops/s",
            "rate": round(self.outcome.rate() * self.variant.rows, 1) if ran else None,
            "p50_ms": round(self.outcome.latency(0.50) * 1000, 4) if ran else None,
            "p99_ms": round(self.outcome.latency(0.99) * 1000, 4) if ran else None,
            "ratio": None if self.ratio is None else round(self.ratio, 3),
            "calls": self.outcome.calls(),
            "threads": self.variant.threads,
            "unavailable": self.outcome.unavailable,
        }


def rows_of(results: list[tuple[Scenario, dict[str, Outcome]]]) -> list[Row]:
    rows = []
    for scenario, outcomes in results:
        base = outcomes[scenario.baseline.name]
        for variant in scenario.all_variants():
            outcome = outcomes[variant.name]
            ran = outcome.unavailable is None and base.unavailable is None
            rows.append(Row(scenario, variant, outcome, ratio(outcome, base) if ran else None))
    return rows


def _ms(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:.3f}" if ms < 10 else f"{ms:.1f}"


def table(rows: list[Row], header: list[str]) -> str:
    width = max([len(r.variant.name) for r in rows] + [30]) + 2
    lines = [*header, ""]
    current = None
    for row in rows:
        if row.scenario is not current:
            current = row.scenario
            lines += ["", f"== {current.name}" + (f"  ({current.note})" if current.note else "")]
            lines.append(f"   {'variant':<{width}}{'rate':>14} {'p50 ms':>9} {'p99 ms':>9} "
                         f"{'ratio':>7} {'calls':>7}")
        o = row.outcome
        if o.unavailable is not None:
            lines.append(f"   {row.variant.name:<{width}}{o.unavailable}")
            continue
        unit = "rows/s" if row.variant.rows > 1 else "ops/s"
        rate = f"{o.rate() * row.variant.rows:,.0f} {unit}"
        shown = "base" if row.is_baseline else ("-" if row.ratio is None else f"{row.ratio:.2f}x")
        lines.append(f"   {row.variant.name:<{width}}{rate:>14} {_ms(o.latency(0.5)):>9} "
                     f"{_ms(o.latency(0.99)):>9} {shown:>7} {o.calls():>7}")
    return "\n".join(lines)


def as_json(rows: list[Row], meta: dict[str, Any]) -> str:
    return json.dumps({"meta": meta, "results": [r.as_json() for r in rows]}, indent=2)


def plot(rows: list[Row], directory: Path, title: str) -> list[Path]:
    """One chart a scenario group: each variant's ratio to its baseline (log scale)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter
    except ImportError:
        raise RuntimeError(PLOT_HINT) from None
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for group in dict.fromkeys(r.scenario.group for r in rows):
        shown = [r for r in rows if r.scenario.group == group and not r.is_baseline
                 and r.ratio is not None]
        if not shown:
            continue
        labels = [f"{r.scenario.name}\n{r.variant.name} vs {r.scenario.baseline.name}"
                  for r in shown]
        values = [r.ratio or 0.0 for r in shown]
        fig, ax = plt.subplots(figsize=(11, 0.55 * len(shown) + 1.5))
        ax.barh(range(len(shown)), values,
                color=["tab:green" if v >= 1 else "tab:orange" for v in values])
        ax.set_yticks(range(len(shown)), labels, fontsize=7)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlim(min([*values, 0.5]) / 1.5, max([*values, 2.0]) * 1.5)
        ratio_format = FuncFormatter(lambda v, _: f"{v:g}x")
        ax.xaxis.set_major_formatter(ratio_format)
        ax.xaxis.set_minor_formatter(ratio_format)
        ax.tick_params(axis="x", which="both", labelsize=7)
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_xlabel("throughput ratio to the baseline (log scale; > 1 is faster)")
        ax.set_title(f"{title}: {group}", fontsize=9)
        for i, v in enumerate(values):
            ax.annotate(f"{v:.2f}x", (v, i), xytext=(3, 0), textcoords="offset points",
                        va="center", fontsize=7)
        path = directory / f"bench-{group}.png"
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        written.append(path)
    return written
