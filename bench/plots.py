"""PNG plots of a comparison: throughput and latency vs concurrency, latency vs length."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
from matplotlib.ticker import NullFormatter, ScalarFormatter  # noqa: E402

from bench.loadgen import RunResult  # noqa: E402

COLORS = {"baseline": "tab:red", "fp32": "tab:blue", "int8": "tab:green"}


def _series(runs: Sequence[Mapping[str, object]], side: str, key: str) -> tuple[list, list]:
    points = sorted(
        (int(r["concurrency"]), r[key]) for r in runs if r["side"] == side and r[key] is not None
    )
    return [p[0] for p in points], [p[1] for p in points]


def _concurrency_axis(ax: plt.Axes, runs: Sequence[Mapping[str, object]]) -> None:
    ax.set_xscale("log", base=2)
    ax.set_xticks(sorted({int(r["concurrency"]) for r in runs}))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("concurrency (closed loop)")


def throughput(runs: Sequence[Mapping[str, object]], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    for side, color in COLORS.items():
        x, y = _series(runs, side, "narratives_per_s")
        if x:
            ax.plot(x, y, marker="o", color=color, label=side)
    _concurrency_axis(ax, runs)
    ax.set_ylabel("narratives / s")
    ax.set_title("Throughput")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def latency(runs: Sequence[Mapping[str, object]], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    styles = {"latency_p50_ms": "-", "latency_p95_ms": "--", "latency_p99_ms": ":"}
    for side, color in COLORS.items():
        for key, style in styles.items():
            x, y = _series(runs, side, key)
            if x:
                label = f"{side} {key.split('_')[1]}"
                ax.plot(x, y, linestyle=style, marker="o", color=color, label=label)
    _concurrency_axis(ax, runs)
    ax.set_yscale("log")
    ax.set_ylabel("latency, ms")
    ax.set_title("Latency percentiles")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def cost_vs_length(results: Mapping[str, RunResult], path: Path) -> None:
    """Latency per request against narrative tokens, one run per side (lowest concurrency:
    latency is then the cost of one narrative, not queueing)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for side, result in results.items():
        ok = [r for r in result.records if r.ok]
        ax.scatter(
            [r.narrative_tokens for r in ok],
            [r.latency_s * 1000 for r in ok],
            s=10,
            alpha=0.6,
            color=COLORS.get(side),
            label=f"{side} (concurrency {result.concurrency})",
        )
    ax.set_yscale("log")
    ax.set_xlabel("narrative tokens")
    ax.set_ylabel("latency, ms")
    ax.set_title("Cost vs narrative length")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
