"""Calibration: temperature fitting, the recall-chosen escalation threshold, ECE, and that both
are chosen on the validation split only (the test split and the hand-written set never
decide)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from client.core.aggregation import Severity, aggregate_logits, softmax
from corpus import generator as corpus
from export.tiny import make_tiny_checkpoint
from helpline_model.calibration import (
    CALIBRATION_FILE,
    RULES,
    Calibration,
    CalibrationError,
    CurvePoint,
    choose_point,
    choose_rule,
    load_calibration,
    operating_curve,
    wilson_interval,
)
from helpline_model.layout import Labels
from helpline_model.taxonomy import SEVERITY_ORDER, SUB_TO_MAIN, demo_labels
from training.calibration import (
    EVALUATION_SET,
    check_not_evaluation_set,
    expected_calibration_error,
    fit_calibration,
    fit_temperature,
    load_fitting_set,
    reliability,
)
from training.data import LabelVocabulary, clean_records
from training.finetune import TrainConfig, finetune
from training.served import CaseLogits

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
    ("target", "score", "threshold", "recall", "false_alarms"),
    [
        (0.95, 0.12, 0.11, 1.0, 0.7),  # all ten: down to the lowest positive, 0.12
        (0.9, 0.3, 0.275, 0.9, 0.4),  # nine of ten
        (0.8, 0.4, 0.375, 0.8, 0.2),
        (0.5, 0.6, 0.575, 0.5, 0.1),
        (0.1, 0.95, 0.925, 0.1, 0.0),
    ],
)
def test_threshold_is_the_highest_that_reaches_the_target_recall(
    target: float, score: float, threshold: float, recall: float, false_alarms: float
) -> None:
    curve = constructed_curve()
    point = choose_point(curve, target, 10, 10)
    assert point.recall == pytest.approx(recall) and point.recall >= target
    assert point.false_alarm_rate == pytest.approx(false_alarms)
    assert point.reached and point.split == "validation"
    # Any threshold above `score` misses the target: `score` is the highest that reaches it.
    scores = np.array(POSITIVE_SCORES)
    for t in [s for s in POSITIVE_SCORES + NEGATIVE_SCORES if s > score]:
        assert (scores >= t).mean() < target
    # The threshold sits halfway to the next lower score: the same cases are flagged, and the
    # last urgent case caught is not exactly at the threshold.
    assert point.threshold == pytest.approx(threshold)
    everything = np.array(POSITIVE_SCORES + NEGATIVE_SCORES)
    assert ((everything >= point.threshold) == (everything >= score)).all()
    assert point.threshold < score


def test_the_threshold_keeps_a_margin_below_the_last_urgent_case_caught() -> None:
    # Served scores move by batch size and precision (fp32 / int8 / bf16): a case that scored
    # exactly the threshold when it was fitted must still be caught a little below it.
    curve = operating_curve([0.9, 0.258707588, 0.2], [True, True, False])
    point = choose_point(curve, 0.95, 2, 1)
    assert point.recall == 1.0 and point.false_alarm_rate == 0.0
    assert 0.258707588 - 1e-3 > point.threshold > 0.2 + 1e-3
    lowest = choose_point(operating_curve([0.4, 0.3], [True, True]), 0.95, 2, 0)
    assert lowest.threshold == pytest.approx(0.15)


def test_one_hard_case_drags_the_threshold_down_and_the_figures_show_it() -> None:
    # A most-severe case the model barely flags: reaching it costs every false alarm.
    curve = operating_curve([0.9, 0.8, 0.01, 0.1], [True, True, True, False])
    point = choose_point(curve, 0.95, 3, 1)
    assert point.threshold == pytest.approx(0.005)  # halfway below 0.01, the lowest score
    assert point.recall == pytest.approx(1.0) and point.false_alarm_rate == pytest.approx(1.0)


def test_a_target_no_point_reaches_is_reported_not_hidden() -> None:
    curve = [CurvePoint(0.9, 0.5, 0.0), CurvePoint(0.4, 0.8, 0.3)]
    point = choose_point(curve, 0.95, 10, 10)
    assert point.threshold == 0.2 and not point.reached  # halfway below 0.4
    assert "target NOT reached" in point.describe()
    with pytest.raises(CalibrationError):
        choose_point(curve, 0.95, 0, 10)
    with pytest.raises(CalibrationError):
        choose_point(curve, 1.5, 10, 10)


def test_the_recall_interval_is_wilsons_and_narrows_with_cases() -> None:
    # Reference values: Wilson score intervals at z = 1.96 (statsmodels proportion_confint,
    # method="wilson"): 44/46 -> (0.8547, 0.9880); 49/49 -> (0.9273, 1.0); 5/10 -> (0.2366,
    # 0.7634).
    assert wilson_interval(44 / 46, 46) == pytest.approx((0.8547, 0.9880), abs=1e-4)
    assert wilson_interval(1.0, 49) == pytest.approx((0.9273, 1.0), abs=1e-4)
    assert wilson_interval(0.5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_interval(0.96, 1000)[1] - wilson_interval(0.96, 1000)[0] < 0.03
    assert wilson_interval(0.9, 0) == (0.0, 1.0)  # no cases: nothing is known
    point = choose_point(operating_curve([0.9, 0.8, 0.3], [True, True, False]), 0.95, 2, 1)
    assert point.recall_interval == pytest.approx(wilson_interval(1.0, 2))
    assert "(2 cases, 95% interval 0.342-1.000)" in point.describe()


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
    assert again.escalation.threshold == pytest.approx(0.375)  # 0.4, halfway to 0.35
    assert again.temperatures == loaded.temperatures
    assert load_calibration(tmp_path / "missing") is None
    (tmp_path / CALIBRATION_FILE).write_text(json.dumps({"temperatures": {"main": -1}}))
    with pytest.raises(CalibrationError):
        load_calibration(tmp_path)


def test_the_main_from_sub_weight_round_trips_and_defaults_to_the_main_head_alone(
    tmp_path: Path,
) -> None:
    Calibration({"main": 1.3}, main_from_sub=0.8).save(tmp_path)
    assert load_calibration(tmp_path).main_from_sub == 0.8
    data = json.loads((tmp_path / CALIBRATION_FILE).read_text())
    del data["main_from_sub"]  # a file written before the weight existed
    (tmp_path / CALIBRATION_FILE).write_text(json.dumps(data))
    assert load_calibration(tmp_path).main_from_sub == 0.0
    for bad in (1.2, -0.5, "0.8", None):
        (tmp_path / CALIBRATION_FILE).write_text(json.dumps({**data, "main_from_sub": bad}))
        with pytest.raises(CalibrationError, match="main_from_sub"):
            load_calibration(tmp_path)


# --------------------------------------------------------------------------- decision rule


def test_the_rule_with_fewer_false_alarms_at_the_target_is_kept() -> None:
    vote = (CurvePoint(1.0, 0.8, 0.4), CurvePoint(0.3, 1.0, 0.6))
    threshold = (CurvePoint(0.9, 0.5, 0.0), CurvePoint(0.4, 1.0, 0.2), CurvePoint(0.1, 1.0, 0.9))
    point = choose_rule({"vote_or_threshold": vote, "threshold": threshold}, 0.95, 10, 10)
    # Chosen at 0.4, set halfway to the next lower score 0.1.
    assert (point.rule, point.threshold, point.false_alarm_rate) == ("threshold", 0.25, 0.2)
    # Equal false alarms: the rule that can only add escalations.
    same = (CurvePoint(0.4, 1.0, 0.6),)
    tie = choose_rule({"vote_or_threshold": vote, "threshold": same}, 0.95, 10, 10)
    assert tie.rule == "vote_or_threshold" and tie.threshold == 0.15
    # A rule that misses the target loses to one that reaches it, whatever its false alarms.
    short = (CurvePoint(0.5, 0.9, 0.0),)
    reached = choose_rule({"vote_or_threshold": vote, "threshold": short}, 0.95, 10, 10)
    assert reached.rule == "vote_or_threshold" and reached.reached
    with pytest.raises(CalibrationError, match="rule"):
        choose_point(vote, 0.95, 10, 10, rule="majority")


def test_rules_curves_and_fitted_on_round_trip_and_re_choice(tmp_path: Path) -> None:
    vote = (CurvePoint(1.0, 0.8, 0.4), CurvePoint(0.3, 1.0, 0.6))
    threshold = (CurvePoint(0.9, 0.5, 0.0), CurvePoint(0.4, 0.9, 0.1), CurvePoint(0.1, 1.0, 0.7))
    curves = {"vote_or_threshold": vote, "threshold": threshold}
    fitted_on = {"file": "fit.jsonl", "sha256": "ab" * 32, "n": 20, "n_most_severe": 10}
    point = choose_rule(curves, 0.95, 10, 10, split="fit.jsonl")
    assert (point.rule, point.threshold) == ("vote_or_threshold", 0.15)
    calibration = Calibration({"priority": 1.5}, point, vote, "high", curves, fitted_on)
    calibration.save(tmp_path)
    loaded = load_calibration(tmp_path)
    assert loaded == calibration and loaded.rule == "vote_or_threshold"
    assert "rule vote_or_threshold" in point.describe() and "fit.jsonl" in point.describe()
    # At a lower target the threshold rule reaches it with fewer false alarms: rule re-chosen.
    again = loaded.with_target_recall(0.9)
    assert (again.rule, again.escalation.threshold) == ("threshold", 0.25)
    assert again.curve == threshold and again.escalation.split == "fit.jsonl"
    assert again.fitted_on == fitted_on and again.curves == curves


def test_a_file_without_rule_or_curves_keeps_todays_rule(tmp_path: Path) -> None:
    curve = constructed_curve()
    old = Calibration({"main": 1.3}, choose_point(curve, 0.95, 10, 10), tuple(curve), "high")
    data = old.to_json()
    del data["curves"], data["fitted_on"], data["escalation"]["rule"]
    (tmp_path / CALIBRATION_FILE).write_text(json.dumps(data))
    loaded = load_calibration(tmp_path)
    assert loaded.rule == "vote_or_threshold" and loaded.curves == {}
    assert loaded.with_target_recall(0.8).escalation.threshold == pytest.approx(0.375)
    assert loaded.with_target_recall(0.8).rule == "vote_or_threshold"


SMALL = Labels(main=["A", "B"], sub=["a", "b"], intervention=["X", "Y"], priority=["1", "2", "3"])
SMALL_SEVERITY = Severity(("1", "2", "3"))


def _case(priority: list[float]) -> tuple[CaseLogits, dict]:
    """One single-chunk case with these priority probabilities, and its row (label below)."""
    logits = {head: np.array([[2.0, 0.0]]) for head in ("main", "sub", "intervention")}
    logits["priority"] = np.log(np.array([priority]))
    return CaseLogits(logits, [20]), {
        "main_category": "A",
        "sub_category": "a",
        "intervention": "X",
    }


def _fitting_set(over_called: int) -> tuple[list[CaseLogits], list[dict]]:
    """Urgent cases with P(3) from 0.9 down to 0.6; calm ones at P(3) 0.1; and `over_called`
    non-urgent cases the vote calls "3" with a low P(3) of 0.4 (the hand-written failure)."""
    urgent = [[0.05, 0.05, 0.9], [0.1, 0.1, 0.8], [0.15, 0.15, 0.7], [0.2, 0.2, 0.6]] * 3
    calm = [[0.8, 0.1, 0.1]] * 10 + [[0.35, 0.25, 0.4]] * over_called
    cases, rows = [], []
    for probabilities, level in [(p, "3") for p in urgent] + [(p, "1") for p in calm]:
        case, row = _case(probabilities)
        cases.append(case)
        rows.append({**row, "priority": level, "narrative": "x"})
    return cases, rows


def test_the_rule_is_chosen_on_the_fitting_rows() -> None:
    # Over-called non-urgent cases: only the threshold rule can remove those false alarms.
    cases, rows = _fitting_set(over_called=6)
    fitted_on = {"file": "fit.jsonl"}
    calibration, report = fit_calibration(
        cases, rows, SMALL, SMALL_SEVERITY, target_recall=0.95, fitted_on=fitted_on
    )
    point = calibration.escalation
    assert point.rule == "threshold" and point.recall == 1.0 and point.false_alarm_rate == 0.0
    scale = calibration.temperature("priority")
    lowest_urgent = softmax(np.log([[0.2, 0.2, 0.6]]) / scale)[0, 2]
    highest_other = softmax(np.log([[0.35, 0.25, 0.4]]) / scale)[0, 2]
    assert point.threshold == pytest.approx((lowest_urgent + highest_other) / 2)
    assert point.split == "fit.jsonl" and set(calibration.curves) == set(RULES)
    assert calibration.fitted_on == {"file": "fit.jsonl", "n": 28, "n_most_severe": 12}
    assert set(report["rules"]) == set(RULES)
    assert calibration.main_from_sub == 0.0
    weighted, _ = fit_calibration(
        cases,
        rows,
        SMALL,
        SMALL_SEVERITY,
        target_recall=0.95,
        fitted_on=fitted_on,
        main_from_sub=0.8,
    )
    assert weighted.main_from_sub == 0.8 and weighted.escalation == point  # stored as given
    # Other fitting rows, without over-called cases: both rules tie, today's rule is kept.
    cases, rows = _fitting_set(over_called=0)
    calm_fit, _ = fit_calibration(cases, rows, SMALL, SMALL_SEVERITY, target_recall=0.95)
    assert calm_fit.escalation.rule == "vote_or_threshold"
    assert calm_fit.escalation.false_alarm_rate == 0.0 and calm_fit.escalation.split == "validation"


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


# --------------------------------------------------------------------------- fitting file


def _write_rows(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_the_evaluation_set_is_refused_as_fitting_data(tmp_path: Path) -> None:
    vocab = LabelVocabulary.demo()
    with pytest.raises(CalibrationError, match="is the evaluation set"):
        load_fitting_set(EVALUATION_SET, vocab)
    copy = tmp_path / "renamed.jsonl"
    copy.write_bytes(EVALUATION_SET.read_bytes())
    with pytest.raises(CalibrationError, match="same sha256"):
        load_fitting_set(copy, vocab)
    # One evaluation narrative slipped into otherwise new rows, re-spaced and upper-cased.
    rows = corpus.generate(10, seed=7, length_profile="short")
    leaked = json.loads(EVALUATION_SET.read_text().splitlines()[3])
    leaked["narrative"] = "  " + leaked["narrative"].upper().replace(" ", "   ")
    mixed = _write_rows(tmp_path / "mixed.jsonl", [*rows, leaked])
    with pytest.raises(CalibrationError, match="shares 1 narrative"):
        check_not_evaluation_set(mixed)
    clean = load_fitting_set(_write_rows(tmp_path / "clean.jsonl", rows), vocab)
    assert clean.fitted_on["file"] == "clean.jsonl" and clean.fitted_on["n"] == 10
    assert len(clean.fitted_on["sha256"]) == 64


def test_the_cli_refuses_the_evaluation_set_before_training(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from training.cli import main as cli_main

    data = _write_rows(tmp_path / "rows.jsonl", corpus.generate(30, seed=8, length_profile="short"))
    code = cli_main(
        [
            "train",
            "--registry",
            str(tmp_path / "registry"),
            "--data",
            str(data),
            "--calibration-data",
            str(EVALUATION_SET),
        ]
    )
    assert code == 2 and "refusing to fit calibration" in capsys.readouterr().err
    assert not (tmp_path / "registry").exists()


def test_the_demo_build_fits_on_the_hand_written_validation_set_when_present(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from training import demo_model

    monkeypatch.setattr(demo_model, "HANDWRITTEN_VALIDATION", tmp_path / "missing.jsonl")
    assert demo_model.default_calibration_data() is None
    present = _write_rows(tmp_path / "handwritten_validation.jsonl", [])
    monkeypatch.setattr(demo_model, "HANDWRITTEN_VALIDATION", present)
    assert demo_model.default_calibration_data() == present


def _fitted_on_file(tiny_base: Path, out: Path, splits: dict, fitting: Path) -> dict:
    config = TrainConfig(
        epochs=1, batch_size=16, max_length=64, learning_rate=1e-3, seed=0, main_from_sub=0.3
    )
    finetune(splits, config, out, base=tiny_base, calibration_data=fitting, progress=lambda _: 0)
    return json.loads((out / CALIBRATION_FILE).read_text())


def test_calibration_is_fitted_on_the_named_file_only(tiny_base: Path, tmp_path: Path) -> None:
    a = _write_rows(tmp_path / "fit_a.jsonl", corpus.generate(40, seed=500, length_profile="short"))
    b = _write_rows(tmp_path / "fit_b.jsonl", corpus.generate(40, seed=501, length_profile="short"))
    first = _fitted_on_file(tiny_base, tmp_path / "a", _splits(test_seed=0), a)
    n_high = sum(json.loads(line)["priority"] == "high" for line in a.read_text().splitlines())
    assert first["fitted_on"] == {
        "file": "fit_a.jsonl",
        "sha256": hashlib.sha256(a.read_bytes()).hexdigest(),
        "n": 40,
        "rejected": 0,
        "n_most_severe": n_high,
    }
    escalation = first["escalation"]
    assert escalation["split"] == "fit_a.jsonl" and escalation["rule"] in RULES
    assert escalation["n_positive"] == n_high and escalation["n_negative"] == 40 - n_high
    assert set(first["curves"]) == set(RULES)
    assert first["curve"] == first["curves"][escalation["rule"]]
    assert first["main_from_sub"] == 0.3  # the training config's, stored with the version
    # Other validation and test rows (held out from fitting): the same calibration, to the bit.
    held_out = _splits(test_seed=1, validation_seed=1)
    assert _fitted_on_file(tiny_base, tmp_path / "b", held_out, a) == first
    # Other fitting rows do move it: the comparison above can detect a change.
    other = _fitted_on_file(tiny_base, tmp_path / "c", _splits(test_seed=0), b)
    assert other["curves"] != first["curves"] and other["temperatures"] != first["temperatures"]


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
    low, high = wilson_interval(
        calibration["shipped"]["most_severe_recall"], calibration["shipped"]["n_most_severe"]
    )
    assert f"95% interval {low:.3f}-{high:.3f}" in report
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
    assert shipped["escalation_rule"] in RULES
    for key in ("main_accuracy", "sub_accuracy", "most_severe_recall", "false_alarm_rate"):
        assert 0.0 <= shipped[key] <= 1.0
    assert set(shipped["ece"]) == {"main", "sub", "intervention", "priority"}
    assert 0.0 < shipped["ece_served_main"] <= 1.0
    assert summary["uncalibrated"]["escalation_threshold"] == 0.5
    assert "most-severe recall" in handwritten_line(summary)


def test_calibrate_refits_a_checkpoint_without_training(trained: Path, tmp_path: Path) -> None:
    from training.cli import main as cli_main
    from training.finetune import TRAINING_INFO_FILE

    folder = shutil.copytree(trained, tmp_path / "ckpt")
    before = (folder / CALIBRATION_FILE).read_text()
    weights = (folder / "model.safetensors").read_bytes()
    calibrate = ["calibrate", "--checkpoint", str(folder), "--calibration-data"]
    assert cli_main([*calibrate, str(EVALUATION_SET)]) == 2
    assert (folder / CALIBRATION_FILE).read_text() == before
    rows = corpus.generate(40, seed=600, length_profile="short")
    data = _write_rows(tmp_path / "fit.jsonl", rows)
    assert cli_main([*calibrate, str(data)]) == 0
    after = json.loads((folder / CALIBRATION_FILE).read_text())
    assert after["fitted_on"]["file"] == "fit.jsonl" and after["escalation"]["split"] == "fit.jsonl"
    assert after["fitted_on"]["n_most_severe"] == sum(r["priority"] == "high" for r in rows)
    assert after["temperatures"] != json.loads(before)["temperatures"]
    assert json.loads((folder / TRAINING_INFO_FILE).read_text())["calibration"]["split"] == (
        "fit.jsonl"
    )
    assert (folder / "model.safetensors").read_bytes() == weights
    # The sub head's weight in the main decision: kept unless given.
    assert after["main_from_sub"] == json.loads(before).get("main_from_sub", 0.0)
    assert cli_main([*calibrate, str(data), "--main-from-sub", "0.8"]) == 0
    assert json.loads((folder / CALIBRATION_FILE).read_text())["main_from_sub"] == 0.8
    assert cli_main([*calibrate, str(data)]) == 0
    assert json.loads((folder / CALIBRATION_FILE).read_text())["main_from_sub"] == 0.8


def test_the_hand_written_validation_set_is_not_the_evaluation_set() -> None:
    """The demo build fits on it by default: a leak would stop `make serve`, so catch it here."""
    from training.demo_model import HANDWRITTEN_VALIDATION

    if not HANDWRITTEN_VALIDATION.is_file():
        pytest.skip(f"{HANDWRITTEN_VALIDATION.name} not committed yet")
    fitting = load_fitting_set(HANDWRITTEN_VALIDATION, LabelVocabulary.demo())
    assert fitting.fitted_on["rejected"] == 0 and fitting.fitted_on["n"] >= 100
    priorities = [e.label("priority") for e in fitting.examples]
    assert priorities.count("high") >= 20
