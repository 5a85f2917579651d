"""bench.main_from_sub: the weight is chosen on validation figures only, and each weight is
read through the gateway's own aggregation."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.main_from_sub import chosen_weight, read_weights


def _result(validation: dict[float, tuple[float, float]], evaluation_main: float) -> dict:
    return {
        "validation": {w: {"main": m, "sub": s} for w, (m, s) in validation.items()},
        "evaluation": {w: {"main": evaluation_main, "sub": 0.0} for w in validation},
    }


def test_the_weight_is_chosen_on_validation_averaged_over_checkpoints() -> None:
    results = [
        # 0.5 wins on the first checkpoint alone, 0.8 on the mean; the evaluation figures
        # (all equal here, whatever they are) are never read.
        _result({0.0: (0.70, 0.50), 0.5: (0.76, 0.56), 0.8: (0.74, 0.56)}, 0.99),
        _result({0.0: (0.70, 0.50), 0.5: (0.70, 0.50), 0.8: (0.74, 0.54)}, 0.10),
    ]
    assert chosen_weight(results) == 0.8
    assert chosen_weight(results[:1]) == 0.5


def test_ties_go_to_the_smaller_weight() -> None:
    assert chosen_weight([_result({0.8: (0.7, 0.5), 0.2: (0.7, 0.5)}, 0.0)]) == 0.2


def test_weight_zero_reads_as_the_served_report(tmp_path: Path) -> None:
    from export.tiny import make_tiny_checkpoint
    from helpline_model.taxonomy import SEVERITY_ORDER, SUB_TO_MAIN, demo_labels
    from training.calibration import checkpoint_set_report
    from training.demo_model import HANDWRITTEN_VALIDATION
    from training.rows import load_rows

    folder = make_tiny_checkpoint(
        tmp_path / "tiny",
        demo_labels(),
        sub_to_main=SUB_TO_MAIN,
        severity_order=list(SEVERITY_ORDER),
    )
    read = read_weights(folder, HANDWRITTEN_VALIDATION, weights=(0.0, 1.0))
    rows, _ = load_rows(HANDWRITTEN_VALIDATION, folder)
    assert len(rows) == 140
    served = checkpoint_set_report(folder, rows)[0]["shipped"]
    assert read[0.0]["main"] == pytest.approx(served["main_accuracy"])
    assert read[0.0]["sub"] == pytest.approx(served["sub_accuracy"])
    assert 0.0 <= read[1.0]["ece_main"] <= 1.0
