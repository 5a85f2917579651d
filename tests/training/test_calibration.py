"""Calibration: temperature fitting, the recall-chosen escalation threshold, ECE, and that both
are chosen on the validation split only (the test split and the hand-written set never
decide)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from client.core.aggregation import Severity, aggregate_logits, softmax
from corpus import generator as corpus
from export.tiny import make_tiny_checkpoint
from helpline_model.calibration import (
    CALIBRATION_FILE,
    Calibration,
    CalibrationError,
    CurvePoint,
    choose_point,
    load_calibration,
    operating_curve,
)
from helpline_model.taxonomy import SEVERITY_ORDER, SUB_TO_MAIN, demo_labels
from training.calibration import expected_calibration_error, fit_temperature, reliability
from training.data import LabelVocabulary, clean_records
from training.finetune import TrainConfig, finetune

# --------------------------------------------------------------------------- temperature


@pytest.mark.parametrize("true_temperature", [0.5, 2.5])
def test_fit_temperature_recovers_a_known_temperature(true_temperature: float) -> None:
    """Labels drawn from softmax(z); the model reports z * T, so the fitted T must undo it."""
    rng = np.random.default_rng(0)
    z = rng.normal(0.0, 2.0, size=(20_000, 5))
    probs = softmax(z)
    labels = np.array([rng.choice(5, p=p) for p in probs])
    fitted = fit_temperature(z * true_temperature, labels)
    assert fitted == pytest.approx(true_temperature, rel=0.05)
    # Already calibrated logits need no temperature.
    assert fit_temperature(z, labels) == pytest.approx(1.0, rel=0.05)


def test_fit_temperature_refuses_mismatched_inputs() -> None:
    with pytest.raises(CalibrationError):
        fit_temperature(np.zeros((3, 2)), [0, 1])


# --------------------------------------------------------------------------- ECE


def test_ece_matches_a_hand_computed_value() -> None:
    # Bin (0.8, 0.867]: confidences 0.85 and 0.85, one right -> |0.5 - 0.85| over 2 of 4 rows.
    # Bin (0.6, 0.667]: confidences 0.65 twice, both right -> |1.0 - 0.65| over 2 of 4 rows.
    probs = np.array([[0.85, 0.15], [0.85, 0.15], [0.35, 0.65], [0.35, 0.65]])
    targets = [0, 1, 1, 1]
    expected = 0.5 * 0.35 + 0.5 * 0.35
    assert expected_calibration_error(probs, targets) == pytest.approx(expected)
    bins = [b for b in reliability(probs, targets) if b["count"]]
    assert [(b["count"], b["accuracy"]) for b in bins] == [(2, 1.0), (2, 0.5)]


def test_ece_of_a_perfectly_calibrated_set_is_zero() -> None:
    probs = np.array([[0.75, 0.25]] * 4)
    assert expected_calibration_error(probs, [0, 0, 0, 1]) == pytest.approx(0.0)


def test_temperature_scaling_lowers_the_ece_of_overconfident_logits() -> None:
    rng = np.random.default_rng(1)
    z = rng.normal(0.0, 1.5, size=(5000, 4))
    labels = np.array([rng.choice(4, p=p) for p in softmax(z)])
    overconfident = z * 3.0
    t = fit_temperature(overconfident, labels)
    before = expected_calibration_error(softmax(overconfident), labels)
    after = expected_calibration_error(softmax(overconfident / t), labels)
    assert after < before / 3


# --------------------------------------------------------------------------- threshold


# Ten most-severe cases and ten others; score = the case's escalation score.
POSITIVE_SCORES = [0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.45, 0.4, 0.3, 0.12]
NEGATIVE_SCORES = [0.85, 0.55, 0.35, 0.33, 0.25, 0.2, 0.15, 0.1, 0.05, 0.02]


def constructed_curve():
    scores = POSITIVE_SCORES + NEGATIVE_SCORES
    positive = [True] * 10 + [False] * 10
    return operating_curve(scores, positive)


@pytest.mark.parametrize(
    ("target", "threshold", "recall", "false_alarms"),
    [
        (0.95, 0.12, 1.0, 0.7),  # all ten: down to the lowest positive, 0.12
        (0.9, 0.3, 0.9, 0.4),  # nine of ten
        (0.8, 0.4, 0.8, 0.2),
        (0.5, 0.6, 0.5, 0.1),
        (0.1, 0.95, 0.1, 0.0),
    ],
)
def test_threshold_is_the_highest_that_reaches_the_target_recall(
    target: float, threshold: float, recall: float, false_alarms: float
) -> None:
    curve = constructed_curve()
    point = choose_point(curve, target, 10, 10)
    assert point.threshold == pytest.approx(threshold)
    assert point.recall == pytest.approx(recall) and point.recall >= target
    assert point.false_alarm_rate == pytest.approx(false_alarms)
    assert point.reached and point.split == "validation"
    # Any higher threshold misses the target: the chosen one is the highest that reaches it.
    scores = np.array(POSITIVE_SCORES)
    higher = [s for s in POSITIVE_SCORES + NEGATIVE_SCORES if s > point.threshold]
    for t in higher:
        assert (scores >= t).mean() < target


def test_one_hard_case_drags_the_threshold_down_and_the_figures_show_it() -> None:
    # A most-severe case the model barely flags: reaching it costs every false alarm.
    curve = operating_curve([0.9, 0.8, 0.01, 0.1], [True, True, True, False])
    point = choose_point(curve, 0.95, 3, 1)
    assert point.threshold == pytest.approx(0.01)
    assert point.recall == pytest.approx(1.0) and point.false_alarm_rate == pytest.approx(1.0)


def test_a_target_no_point_reaches_is_reported_not_hidden() -> None:
    curve = [CurvePoint(0.9, 0.5, 0.0), CurvePoint(0.4, 0.8, 0.3)]
    point = choose_point(curve, 0.95, 10, 10)
    assert point.threshold == 0.4 and not point.reached
    assert "target NOT reached" in point.describe()
    with pytest.raises(CalibrationError):
        choose_point(curve, 0.95, 0, 10)
    with pytest.raises(CalibrationError):
        choose_point(curve, 1.5, 10, 10)


def test_calibration_file_round_trip_and_re_choice(tmp_path: Path) -> None:
    curve = constructed_curve()
    calibration = Calibration(
        {"main": 1.3, "priority": 0.8}, choose_point(curve, 0.95, 10, 10), tuple(curve), "high"
    )
    calibration.save(tmp_path)
    loaded = load_calibration(tmp_path)
    assert loaded == calibration
    assert loaded.temperature("sub") == 1.0  # heads without a temperature are left as they are
    again = loaded.with_target_recall(0.8)
    assert again.escalation.threshold == pytest.approx(0.4)
    assert again.temperatures == loaded.temperatures
    assert load_calibration(tmp_path / "missing") is None
    (tmp_path / CALIBRATION_FILE).write_text(json.dumps({"temperatures": {"main": -1}}))
    with pytest.raises(CalibrationError):
        load_calibration(tmp_path)


# --------------------------------------------------------------------------- gateway rule


def test_temperatures_change_the_served_probabilities_and_bands() -> None:
    labels = demo_labels()
    rng = np.random.default_rng(3)
    logits = {
        head: rng.normal(0, 3, size=(2, len(labels.for_head(head)))) for head in labels.sizes()
    }
    plain = aggregate_logits(logits, [40, 20], labels)
    hot = Calibration({"main": 4.0})
    calibrated = aggregate_logits(logits, [40, 20], labels, calibration=hot)
    # The temperature softens main only; the other heads are untouched.
    assert calibrated.confidence("main") < plain.confidence("main")
    for head in ("sub", "intervention", "priority"):
        assert calibrated.confidence(head) == pytest.approx(plain.confidence(head))
    expected = aggregate_logits({**logits, "main": logits["main"] / 4.0}, [40, 20], labels)
    assert calibrated.confidence("main") == pytest.approx(expected.confidence("main"))
    assert calibrated.heads["main"].band == expected.heads["main"].band


def test_a_low_threshold_escalates_without_the_most_severe_being_the_argmax() -> None:
    labels = demo_labels()
    order = tuple(SEVERITY_ORDER)
    top = labels.priority.index(order[-1])
    logits = {head: np.zeros((1, len(labels.for_head(head)))) for head in labels.sizes()}
    # P(most severe) 0.3, not the argmax: the calm-words case an operating point must catch.
    row = np.full(len(labels.priority), np.log(0.35))
    row[top] = np.log(0.3)
    logits["priority"] = row[None, :]
    assert not aggregate_logits(
        logits, [10], labels, severity=Severity(order, 0.5)
    ).escalation.escalated
    result = aggregate_logits(logits, [10], labels, severity=Severity(order, 0.25))
    assert result.escalation.escalated and result.label("priority") == order[-1]


# --------------------------------------------------------------------------- validation only


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_checkpoint(
        tmp_path_factory.mktemp("tiny-calib"),
        demo_labels(),
        sub_to_main=dict(SUB_TO_MAIN),
        severity_order=list(SEVERITY_ORDER),
    )


def _splits(test_seed: int, validation_seed: int = 0) -> dict:
    vocab = LabelVocabulary.demo()
    train = corpus.generate(64, seed=0, length_profile="short")
    validation = corpus.generate(40, seed=100 + validation_seed, length_profile="short")
    test = corpus.generate(40, seed=200 + test_seed, length_profile="short")
    parts = {"train": train, "validation": validation, "test": test}
    return {name: clean_records(rows, vocab, name).examples for name, rows in parts.items()}


def _calibration_of(tiny_base: Path, out: Path, splits: dict) -> dict:
    config = TrainConfig(epochs=1, batch_size=16, max_length=64, learning_rate=1e-3, seed=0)
    finetune(splits, config, out, base=tiny_base, progress=lambda _: None)
    return json.loads((out / CALIBRATION_FILE).read_text())


def test_calibration_is_chosen_on_validation_only(tiny_base: Path, tmp_path: Path) -> None:
    first = _calibration_of(tiny_base, tmp_path / "a", _splits(test_seed=0))
    other_test = _calibration_of(tiny_base, tmp_path / "b", _splits(test_seed=1))
    assert first["escalation"]["split"] == "validation"
    assert first["escalation"]["n_positive"] + first["escalation"]["n_negative"] == 40
    # Other test rows: the same temperatures, threshold and curve, to the bit.
    assert other_test == first
    # Other validation rows do move them: the comparison above can detect a change.
    other_validation = _calibration_of(
        tiny_base, tmp_path / "c", _splits(test_seed=0, validation_seed=1)
    )
    assert other_validation["curve"] != first["curve"]


# --------------------------------------------------------------------------- reports


@pytest.fixture(scope="module")
def trained(tiny_base: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("trained") / "ckpt"
    _calibration_of(tiny_base, out, _splits(test_seed=0))
    return out


def test_evaluation_report_shows_calibration_and_the_operating_point(
    trained: Path, tmp_path: Path
) -> None:
    from training.evaluate import main as evaluate_main

    data = tmp_path / "rows.jsonl"
    rows = corpus.generate(30, seed=300, length_profile="short")
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "report"
    assert (
        evaluate_main(["--data", str(data), "--checkpoint", str(trained), "--out", str(out)]) == 0
    )
    metrics = json.loads((out / "metrics.json").read_text())
    calibration = metrics["calibration"]
    shipped = json.loads((trained / CALIBRATION_FILE).read_text())
    assert calibration["calibrated"] is True
    assert calibration["operating_point"]["threshold"] == shipped["escalation"]["threshold"]
    assert calibration["shipped"]["escalation_threshold"] == shipped["escalation"]["threshold"]
    assert calibration["uncalibrated"]["escalation_threshold"] == 0.5
    for head in ("main", "sub", "intervention", "priority"):
        assert 0.0 <= calibration["before"][head]["ece"] <= 1.0
        assert 0.0 <= calibration["after"][head]["ece"] <= 1.0
        assert (out / f"reliability_{head}.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "recall_false_alarms.png").read_bytes()[:4] == b"\x89PNG"
    report = (out / "report.md").read_text()
    assert "## Calibration and escalation" in report
    assert "chosen on validation for most-severe recall >= 0.95" in report
    # The served labels in the report are the calibrated, escalated ones.
    flagged = sum(
        r["priority"]["predicted"] == "high"
        for r in map(json.loads, (out / "predictions.jsonl").read_text().splitlines())
    )
    expected = (
        calibration["shipped"]["most_severe_recall"] * calibration["shipped"]["n_most_severe"]
    )
    expected += calibration["shipped"]["false_alarm_rate"] * (
        30 - calibration["shipped"]["n_most_severe"]
    )
    assert flagged == round(expected)


def test_hand_written_summary_of_a_build(trained: Path) -> None:
    from training.demo_model import HANDWRITTEN_EVAL, evaluate_handwritten, handwritten_line

    summary = evaluate_handwritten(trained)
    shipped = summary["shipped"]
    n_rows = sum(1 for line in HANDWRITTEN_EVAL.read_text().splitlines() if line.strip())
    assert shipped["n"] == summary["cleaning"]["kept"] and 0 < shipped["n"] <= n_rows
    threshold = json.loads((trained / CALIBRATION_FILE).read_text())["escalation"]["threshold"]
    assert shipped["escalation_threshold"] == threshold
    for key in ("main_accuracy", "sub_accuracy", "most_severe_recall", "false_alarm_rate"):
        assert 0.0 <= shipped[key] <= 1.0
    assert set(shipped["ece"]) == {"main", "sub", "intervention", "priority"}
    assert summary["uncalibrated"]["escalation_threshold"] == 0.5
    assert "most-severe recall" in handwritten_line(summary)
