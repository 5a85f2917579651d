"""The int8 profile runs end to end on a tiny model (no timing assertions)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.int8_profile import profile


def test_profile_reports_op_shares_and_ffn_input_ranges(tiny_checkpoint: Path) -> None:
    report = profile(tiny_checkpoint, n_texts=12, batch=4, seed=3, max_length=64, threads=1, runs=2)
    for graph, op in (("fp32-opt", "MatMul"), ("int8", "DynamicQuantizeMatMul")):
        times = report[graph]
        assert times["ms_per_run"] > 0, graph
        assert op in times["share_by_op"], (graph, sorted(times["share_by_op"]))
        assert sum(times["share_by_op"].values()) == pytest.approx(1.0, abs=0.01), graph
    ranges = report["ffn_input_ranges"]
    assert any("ffn/lin1" in name for name in ranges)
    assert any("ffn/lin2" in name for name in ranges)
    for name, span in ranges.items():
        # Leaving channels out can only narrow the range.
        assert 0 < span["real_without_outliers"] <= span["real"], name
        # The synthetic narratives are shorter than 64 tokens only sometimes: padding may be absent.
        assert span["padding_without_outliers"] is None or span["padding_without_outliers"] >= 0
