"""bench.handwritten_mix's choice: made on validation figures only, never on evaluation."""

from __future__ import annotations

from bench.handwritten_mix import chosen_repeat, fewest_false_alarms


def _result(seed: int, repeat: int, val: tuple[float, float], ev: tuple[float, float]) -> dict:
    return {
        "seed": seed,
        "repeat": repeat,
        "validation": {"main": val[0], "sub": val[1]},
        "evaluation": {"main": ev[0], "sub": ev[1]},
    }


def test_the_repeat_is_chosen_on_validation_averaged_over_seeds() -> None:
    results = [
        # repeat 6 wins on seed 13 alone, repeat 3 on the mean over both seeds; repeat 0
        # has by far the best evaluation figures, which must not matter.
        _result(13, 0, (0.50, 0.40), (0.99, 0.99)),
        _result(13, 3, (0.70, 0.50), (0.10, 0.10)),
        _result(13, 6, (0.72, 0.56), (0.10, 0.10)),
        _result(14, 0, (0.50, 0.40), (0.99, 0.99)),
        _result(14, 3, (0.72, 0.56), (0.10, 0.10)),
        _result(14, 6, (0.60, 0.50), (0.10, 0.10)),
    ]
    assert chosen_repeat(results) == 3
    assert chosen_repeat(results[:3]) == 6


def test_ties_go_to_the_smaller_repeat() -> None:
    results = [_result(13, 6, (0.7, 0.5), (0, 0)), _result(13, 3, (0.7, 0.5), (0, 0))]
    assert chosen_repeat(results) == 3


def test_fewest_false_alarms_at_the_target_recall() -> None:
    curve = [[0.9, 0.80, 0.02], [0.5, 0.95, 0.20], [0.4, 0.96, 0.15], [0.1, 1.0, 0.90]]
    assert fewest_false_alarms(curve) == 0.15
    assert fewest_false_alarms(curve, target=0.99) == 0.90
    assert fewest_false_alarms(curve[:1]) is None
