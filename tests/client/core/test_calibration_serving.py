"""A version that ships calibration.json is served with its temperatures and its escalation
operating point; the same graph without the file is served as before; TRIAGE_ESCALATION_THRESHOLD
still overrides the shipped point; the export copies the file and re-chooses the point for
`--target-recall`; a version whose point was chosen for the `threshold` rule demotes a case the
vote calls most severe when no chunk reaches the threshold. Real export CLI, real tritonserver,
real gateway processes."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from conftest import GatewayProcess, make_checkpoint, start_triton

from export.cli import main as export_main
from export.launcher import LocalTriton
from export.repository import DEFAULT_MODEL_NAME as MODEL
from helpline_model.calibration import (
    CALIBRATION_FILE,
    Calibration,
    CurvePoint,
    OperatingPoint,
    choose_point,
    load_calibration,
)
from helpline_model.layout import METADATA_FILE

pytestmark = pytest.mark.integration

NARRATIVE = "A 12-year-old girl reported that her stepfather beats her when her mother is away."
PRIORITY_T, MAIN_T = 3.0, 2.0
# A validation curve: 0.9 reaches recall 0.96 (shipped halfway to the next score: 0.75); only
# 0.05 reaches 0.99 (shipped at 0.025).
CURVE = (CurvePoint(0.9, 0.96, 0.2), CurvePoint(0.6, 0.97, 0.4), CurvePoint(0.05, 1.0, 0.9))


def export_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = export_main(["export", "--precision", "fp32", "--max-texts", "12", *args])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(plain, calibrated): the same weights; seed 0 gives priority '3' about 0.87."""
    plain = make_checkpoint(tmp_path_factory.mktemp("plain") / "ckpt", seed=0)
    calibrated = shutil.copytree(plain, tmp_path_factory.mktemp("calibrated") / "ckpt")
    Calibration(
        {"main": MAIN_T, "priority": PRIORITY_T},
        choose_point(CURVE, 0.95, n_positive=25, n_negative=75),
        CURVE,
        level="3",
    ).save(calibrated)
    return plain, calibrated


# Chosen for the `threshold` rule on a fitting file; above the ~0.87 every chunk gives '3'.
THRESHOLD_RULE_POINT = OperatingPoint(0.95, 0.95, 0.96, 0.1, 40, 100, "fit.jsonl", "threshold")


@pytest.fixture(scope="module")
def threshold_rule(
    checkpoints: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The plain weights with temperature 1, a `threshold`-rule operating point, and main
    decided from the sub head's mass alone (main_from_sub 1)."""
    folder = shutil.copytree(checkpoints[0], tmp_path_factory.mktemp("rule") / "ckpt")
    fitted_on = {"file": "fit.jsonl", "sha256": "0" * 64, "n": 140, "n_most_severe": 40}
    Calibration({}, THRESHOLD_RULE_POINT, level="3", fitted_on=fitted_on, main_from_sub=1.0).save(
        folder
    )
    return folder


@pytest.fixture(scope="module")
def repository(checkpoints: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Version 1 from the plain checkpoint, version 2 from the calibrated one."""
    repo = tmp_path_factory.mktemp("repo")
    for checkpoint in checkpoints:
        code, _, err = export_cli("--checkpoint", str(checkpoint), "--repository", str(repo))
        assert code == 0, err
    return repo


@pytest.fixture(scope="module")
def rule_repository(threshold_rule: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The threshold-rule checkpoint exported as version 2 of a repository of its own. Triton
    serves the main repository's version 2, the same weights (all three checkpoints share
    them); the gateway reads this version's files, calibration.json included, from here."""
    repo = tmp_path_factory.mktemp("rule-repo")
    code, _, err = export_cli(
        "--checkpoint", str(threshold_rule), "--repository", str(repo), "--version", "2"
    )
    assert code == 0, err
    return repo


@pytest.fixture(scope="module")
def served(
    repository: Path, rule_repository: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, GatewayProcess]]:
    logs = tmp_path_factory.mktemp("logs")
    triton: LocalTriton = start_triton(repository, logs / "triton.log")
    envs = {
        "plain": {"TRIAGE_MODEL_VERSION": "1"},
        "calibrated": {"TRIAGE_MODEL_VERSION": "2"},
        "override": {"TRIAGE_MODEL_VERSION": "2", "TRIAGE_ESCALATION_THRESHOLD": "0.1"},
    }
    started = {
        name: GatewayProcess(triton.grpc_url, repository, logs / f"{name}.log", **env)
        for name, env in envs.items()
    }
    started["threshold_rule"] = GatewayProcess(
        triton.grpc_url, rule_repository, logs / "threshold_rule.log", TRIAGE_MODEL_VERSION="2"
    )
    try:
        for process in started.values():
            process.wait_ready()
        yield started
    finally:
        for process in started.values():
            process.stop()
        triton.stop()


def classify(gateway: GatewayProcess) -> dict:
    response = httpx.post(
        f"{gateway.url}/classifier/classify",
        json={"narrative": NARRATIVE, "include_chunks": True},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response.json()


def info(gateway: GatewayProcess) -> dict:
    return httpx.get(f"{gateway.url}/classifier/info", timeout=10).json()


def priority_distribution(body: dict) -> dict[str, float]:
    # Three priorities and top_k 3: the whole case distribution.
    return {s["label"]: s["probability"] for s in body["predictions"]["priority"]["top_k"]}


def test_the_export_copies_calibration_json(repository: Path) -> None:
    assert not (repository / MODEL / "1" / CALIBRATION_FILE).exists()
    shipped = load_calibration(repository / MODEL / "2")
    assert shipped is not None and shipped.escalation.threshold == 0.75
    assert shipped.temperatures == {"main": MAIN_T, "priority": PRIORITY_T}
    metadata = json.loads((repository / MODEL / "2" / METADATA_FILE).read_text())
    assert metadata["calibration"].startswith("calibrated (")
    plain = json.loads((repository / MODEL / "1" / METADATA_FILE).read_text())
    assert plain["calibration"].startswith("not calibrated")


def test_export_target_recall_re_chooses_the_point(
    checkpoints: tuple[Path, Path], tmp_path: Path
) -> None:
    plain, calibrated = checkpoints
    code, out, err = export_cli(
        "--checkpoint", str(calibrated), "--repository", str(tmp_path), "--target-recall", "0.99"
    )
    assert code == 0, err
    version = load_calibration(tmp_path / MODEL / "1")
    assert version.escalation.threshold == 0.025 and version.escalation.target_recall == 0.99
    assert version.escalation.recall == 1.0 and version.escalation.false_alarm_rate == 0.9
    assert "recall >= 0.99" in json.loads(out)["calibration"]
    # Without a calibration file there is no validation curve to choose from: refused.
    code, _, err = export_cli(
        "--checkpoint", str(plain), "--repository", str(tmp_path), "--target-recall", "0.9"
    )
    assert code == 2 and "needs a calibration.json" in err


def test_calibration_changes_served_probabilities_and_threshold(
    served: dict[str, GatewayProcess],
) -> None:
    plain, calibrated = classify(served["plain"]), classify(served["calibrated"])
    # Same graph, so the calibrated distribution is the plain one at temperature 3:
    # softmax(log p / T) = p ** (1 / T), renormalised.
    p = priority_distribution(plain)
    scaled = {label: value ** (1 / PRIORITY_T) for label, value in p.items()}
    total = sum(scaled.values())
    expected = {label: value / total for label, value in scaled.items()}
    got = priority_distribution(calibrated)
    assert got.keys() == expected.keys()
    for label in expected:
        assert got[label] == pytest.approx(expected[label], abs=1e-3)
    assert max(p.values()) - max(got.values()) > 0.1  # a real change, not rounding
    assert (
        calibrated["predictions"]["main"]["confidence"] < plain["predictions"]["main"]["confidence"]
    )
    # Untouched heads keep their probabilities.
    assert calibrated["predictions"]["sub"]["confidence"] == pytest.approx(
        plain["predictions"]["sub"]["confidence"], abs=1e-4
    )

    # The plain version escalates at the shipped 0.5; the calibrated one at its 0.75 does not.
    p3 = plain["chunk_predictions"][0]["confidences"]["priority"]
    assert plain["chunk_predictions"][0]["labels"]["priority"] == "3" and p3 > 0.5
    assert plain["escalation"]["escalated"] and plain["escalation"]["threshold"] == 0.5
    assert not calibrated["escalation"]["escalated"]
    assert calibrated["escalation"]["threshold"] == pytest.approx(0.75)


def test_escalation_threshold_setting_overrides_the_shipped_point(
    served: dict[str, GatewayProcess],
) -> None:
    body = classify(served["override"])
    assert body["escalation"]["escalated"] and body["escalation"]["threshold"] == pytest.approx(0.1)
    # The temperatures still apply: only the threshold is overridden.
    assert priority_distribution(body) == pytest.approx(
        priority_distribution(classify(served["calibrated"])), abs=1e-6
    )
    overridden = info(served["override"])
    assert overridden["escalation_threshold"] == pytest.approx(0.1)
    assert overridden["calibration"]["threshold_source"] == "TRIAGE_ESCALATION_THRESHOLD"
    assert "TRIAGE_ESCALATION_THRESHOLD overrides the calibrated 0.75" in overridden["escalation"]


def test_info_and_health_show_the_operating_point_or_not_calibrated(
    served: dict[str, GatewayProcess],
) -> None:
    calibrated = info(served["calibrated"])
    assert calibrated["escalation_threshold"] == pytest.approx(0.75)
    calibration = calibrated["calibration"]
    assert calibration["threshold_source"] == "calibration.json"
    assert calibration["temperatures"] == {"main": MAIN_T, "priority": PRIORITY_T}
    point = calibration["operating_point"]
    assert point == {
        "target_recall": 0.95,
        "threshold": 0.75,
        "recall": 0.96,
        "recall_interval_95": pytest.approx([0.8046, 0.9929], abs=1e-4),  # 24 of 25, Wilson
        "false_alarm_rate": 0.2,
        "n_positive": 25,
        "n_negative": 75,
        "split": "validation",
        "rule": "vote_or_threshold",
    }
    assert calibration["state"].startswith("calibrated (")
    assert "rule vote_or_threshold" in calibrated["escalation"]
    assert "recall 0.960" in calibration["state"] and "false alarms 0.200" in calibration["state"]
    health = httpx.get(f"{served['calibrated'].url}/health/models", timeout=10).json()
    assert (
        "chosen on validation for most-severe recall >= 0.95"
        in (health["models"][MODEL]["escalation"])
    )

    plain = info(served["plain"])["calibration"]
    assert plain["state"].startswith("not calibrated")
    assert plain["temperatures"] is None and plain["operating_point"] is None
    assert plain["threshold_source"] == "priority_severity.json"
    assert info(served["plain"])["escalation_threshold"] == 0.5


def test_the_threshold_rule_demotes_a_voted_case_below_the_threshold(
    served: dict[str, GatewayProcess],
) -> None:
    plain, body = classify(served["plain"]), classify(served["threshold_rule"])
    # Same graph and temperature 1: the vote says '3' (~0.87), and so did the old rule.
    assert plain["priority"] == "3" and priority_distribution(body) == pytest.approx(
        priority_distribution(plain), abs=1e-6
    )
    escalation = body["escalation"]
    assert escalation["voted_priority"] == "3" and not escalation["escalated"]
    assert escalation["threshold"] == pytest.approx(0.95)
    assert "demoted by rule 'threshold'" in escalation["reason"]
    others = {k: v for k, v in priority_distribution(plain).items() if k != "3"}
    assert body["priority"] == max(others, key=others.__getitem__)
    assert body["needs_review"] and "priority: low confidence" in body["review_reasons"]

    shown = info(served["threshold_rule"])
    assert (
        "rule threshold: '3' iff a chunk predicts it with probability >= 0.95"
        in (shown["escalation"])
    )
    calibration = shown["calibration"]
    assert calibration["operating_point"]["rule"] == "threshold"
    assert calibration["operating_point"]["split"] == "fit.jsonl"
    assert calibration["fitted_on"]["file"] == "fit.jsonl"
    assert "temperatures fitted on fit.jsonl (140 rows)" in calibration["state"]


def test_the_version_sets_the_sub_heads_weight_in_the_main_decision(
    served: dict[str, GatewayProcess], threshold_rule: Path
) -> None:
    from training.served import checkpoint_results

    plain, body = classify(served["plain"]), classify(served["threshold_rule"])
    assert info(served["threshold_rule"])["calibration"]["main_from_sub"] == 1.0
    assert info(served["calibrated"])["calibration"]["main_from_sub"] == 0.0
    # Same graph: only the main decision moved, to the in-process gateway aggregation's.
    main, plain_main = body["predictions"]["main"], plain["predictions"]["main"]
    assert abs(main["confidence"] - plain_main["confidence"]) > 1e-3
    expected = checkpoint_results(threshold_rule, [NARRATIVE])[0].heads["main"]
    assert main["label"] == expected.label
    assert main["confidence"] == pytest.approx(expected.confidence, abs=1e-4)
    # The chunk's own main prediction is the main head's, as before.
    assert (
        body["chunk_predictions"][0]["labels"]["main"]
        == (plain["chunk_predictions"][0]["labels"]["main"])
    )


def test_probabilities_follow_the_temperature_formula() -> None:
    """The expectation used above, checked against softmax itself."""
    logits = np.array([0.3, -1.2, 2.0])
    p = np.exp(logits) / np.exp(logits).sum()
    scaled = np.exp(logits / PRIORITY_T) / np.exp(logits / PRIORITY_T).sum()
    assert np.allclose(p ** (1 / PRIORITY_T) / (p ** (1 / PRIORITY_T)).sum(), scaled)
