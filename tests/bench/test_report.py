"""Agreement between two sides' answers, over the workload or a subset of it."""

from __future__ import annotations

from bench.report import agreement

ANSWERS = {
    "fp32": {0: "abuse", 1: "neglect", 2: "custody", 3: "abuse"},
    "int8": {0: "abuse", 1: "custody", 2: "custody"},  # 3 not answered
}


def test_agreement_over_positions_both_sides_answered() -> None:
    assert agreement(ANSWERS, "int8", "fp32") == {"narratives": 3, "agree": 2, "rate": 0.6667}


def test_agreement_among_a_subset() -> None:
    assert agreement(ANSWERS, "int8", "fp32", among=[0, 2, 3]) == {
        "narratives": 2,
        "agree": 2,
        "rate": 1.0,
    }
    assert agreement(ANSWERS, "int8", "fp32", among=[1]) == {
        "narratives": 1,
        "agree": 0,
        "rate": 0.0,
    }


def test_agreement_over_nothing_has_no_rate() -> None:
    assert agreement(ANSWERS, "int8", "fp32", among=[]) == {
        "narratives": 0,
        "agree": 0,
        "rate": None,
    }
