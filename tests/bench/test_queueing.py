"""The queueing ratio: latency under load over the same narrative's latency alone."""

from __future__ import annotations

import pytest

from bench.loadgen import RequestRecord
from bench.queueing import alone_latencies, queueing_ratios, to_measure_alone
from bench.report import _vs_alone_lines, targets


def _record(index: int, latency_s: float, status: int = 200) -> RequestRecord:
    return RequestRecord(
        index=index, started_s=0.0, latency_s=latency_s, status=status, narrative_tokens=10
    )


# Narrative 0 is short (0.1 s alone), narrative 1 long (0.5 s alone): under load both wait,
# and a raw p99/p50 would mostly show their length difference.
LOADED = [
    _record(0, 0.1),  # no wait: ratio 1
    _record(1, 0.5),  # ratio 1
    _record(0, 0.3),  # ratio 3
    _record(1, 0.75),  # ratio 1.5
    _record(2, 0.2),  # answered under load, but no alone figure
    _record(3, 9.0, status=503),  # failed under load: not a latency
]
ALONE = {0: 0.1, 1: 0.5}


def test_ratio_per_request_against_its_own_narrative() -> None:
    found = queueing_ratios(LOADED, ALONE)
    # ratios 1, 1, 3, 1.5: numpy's linear percentiles
    assert found["ratio_p50"] == pytest.approx(1.25)
    assert found["ratio_p99"] == pytest.approx(2.955)
    assert found["requests_compared"] == 4
    assert found["met"] is False
    assert queueing_ratios(LOADED[:2], ALONE)["met"] is True


def test_narrative_without_alone_figure_is_counted_not_dropped() -> None:
    found = queueing_ratios(LOADED, ALONE)
    assert found["narratives_under_load"] == 3  # 0, 1, 2 (3 failed)
    assert found["narratives_measured_alone"] == 2
    assert found["narratives_without_alone"] == 1
    assert found["requests_without_alone"] == 1


def test_nothing_to_compare_has_no_ratio() -> None:
    found = queueing_ratios(LOADED, {})
    assert found["ratio_p50"] is None and found["ratio_p99"] is None and found["met"] is None
    assert found["narratives_without_alone"] == 3 and found["requests_compared"] == 0


def test_alone_set_is_distinct_answered_narratives_capped() -> None:
    assert to_measure_alone(LOADED) == [0, 1, 2]
    assert to_measure_alone(LOADED, limit=2) == [0, 1]
    alone = alone_latencies([_record(4, 0.2), _record(4, 0.9), _record(5, 0.1, status=0)])
    assert alone == {4: 0.2}


def test_target_row_and_markdown_show_the_ratio() -> None:
    vs_alone = queueing_ratios(LOADED, ALONE)
    report = {
        "ratios": {"16": {"int8_vs_baseline_narratives_per_s": 6.0,
                          "fp32_vs_baseline_narratives_per_s": 3.0}},
        "gateway_cpu_share_at_max_concurrency": {"fp32": 0.1, "int8": 0.1},
        "padding": {"ours_bucketed": 1.1},
        "half_saturation": {
            "fp32": {"p99_over_p50": 1.5, "vs_alone": vs_alone},
            "int8": {"p99_over_p50": 1.5, "vs_alone": queueing_ratios(LOADED[:2], ALONE)},
        },
        "agreement": {"int8_vs_fp32_main": {"rate": 0.995}},
    }  # fmt: skip
    row = next(t for t in targets(report) if "alone" in t["target"])
    assert row["value"] == pytest.approx(2.955)  # the worse side
    assert row["met"] is False
    text = "\n".join(_vs_alone_lines(report["half_saturation"]))
    assert "| fp32 | 1.25 | 2.96 | **no** (<= 2.0) | 4 | 2/3 | 1 (1 requests) |" in text
    assert "| int8 | 1.00 | 1.00 | yes (<= 2.0) |" in text
