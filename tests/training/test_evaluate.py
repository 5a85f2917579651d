"""Evaluation metrics on hand-computed numbers, the report files, the CLI, and the
checkpoint evaluation agreeing with what the real gateway answers."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from export.tiny import production_labels, production_sub_to_main
from helpline_model.layout import HEAD_FIELDS, HEADS, load_labels
from training.evaluate import (
    compute_metrics,
    evaluate_rows,
    main,
    predict_with_gateway,
)
from training.report import write_report
from training.served import predict_with_checkpoint

# 6 rows, 3 classes, and a 4th class "d" that nobody needed and nobody predicted.
TRUE = ["a", "a", "a", "b", "b", "c"]
PRED = ["a", "a", "b", "b", "c", "c"]
LABELS = ["a", "b", "c", "d"]

SHORT = "A 12-year-old girl reported that her stepfather beats her when her mother is away."
SENTENCE = (
    "The caller explained that the family moved to the village last year and the children "
    "walk a long way to school every morning. "
)
LONG = SENTENCE * 40 + "Yesterday the boy was beaten badly by his uncle and has a broken arm."
NARRATIVES = [
    SHORT,
    LONG,
    "Caller asked about school fees.",
    "A mother called because her son, 15, has not eaten properly for weeks.\nShe is worried.",
]


def test_metrics_match_hand_computed_values() -> None:
    m = compute_metrics(TRUE, PRED, LABELS)
    # 4 of 6 rows right.
    assert m["accuracy"] == pytest.approx(4 / 6)
    # Single-label: every error is one fp and one fn, so micro F1 is the accuracy.
    assert m["micro_f1"] == pytest.approx(4 / 6)
    # F1: a = 2*1*(2/3)/(1+2/3) = 0.8, b = 0.5, c = 2*0.5*1/1.5 = 2/3; "d" is absent.
    assert m["per_class"]["a"]["f1"] == pytest.approx(0.8)
    assert m["per_class"]["b"]["f1"] == pytest.approx(0.5)
    assert m["per_class"]["c"]["f1"] == pytest.approx(2 / 3)
    assert m["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert m["weighted_f1"] == pytest.approx((3 * 0.8 + 2 * 0.5 + 1 * 2 / 3) / 6)
    assert m["per_class"]["b"] == {
        "precision": 0.5,
        "recall": 0.5,
        "f1": 0.5,
        "support": 2,
        "tp": 1,
        "fp": 1,
        "fn": 1,
        "tn": 3,
    }
    a = m["per_class"]["a"]
    assert (a["tp"], a["fp"], a["fn"], a["tn"]) == (2, 0, 1, 3)
    assert a["precision"] == 1.0 and a["recall"] == pytest.approx(2 / 3)
    c = m["per_class"]["c"]
    assert (c["tp"], c["fp"], c["fn"], c["tn"]) == (1, 1, 0, 4)
    assert m["per_class"]["d"]["support"] == 0 and m["per_class"]["d"]["tn"] == 6
    assert m["labels"] == LABELS
    assert m["confusion_matrix"] == [[2, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 0], [0, 0, 0, 0]]
    assert [(p["true"], p["predicted"], p["count"]) for p in m["most_confused"]] == [
        ("a", "b", 1),
        ("b", "c", 1),
    ]
    assert m["most_confused"][0]["share_of_true"] == pytest.approx(1 / 3)


def test_labels_outside_the_vocabulary_are_kept() -> None:
    m = compute_metrics(["a", "x"], ["a", "a"], ["a", "b"])
    assert m["labels"] == ["a", "b", "x"] and m["unknown_labels"] == ["x"]
    assert m["accuracy"] == 0.5 and m["per_class"]["x"]["fn"] == 1


def _toy_rows() -> tuple[list[dict], list[dict], dict]:
    rows = [{HEAD_FIELDS[h]: t for h in HEADS} for t in TRUE]
    preds = [{HEAD_FIELDS[h]: p for h in HEADS} for p in PRED]
    preds[0] = {**preds[0], "priority": "c"}
    return rows, preds, {h: LABELS for h in HEADS}


def test_evaluate_rows_covers_the_four_heads() -> None:
    rows, preds, labels = _toy_rows()
    metrics = evaluate_rows(rows, preds, labels)
    assert set(metrics["heads"]) == set(HEADS) and metrics["n"] == 6
    assert metrics["heads"]["main"]["accuracy"] == pytest.approx(4 / 6)
    assert metrics["heads"]["priority"]["accuracy"] == pytest.approx(3 / 6)
    assert metrics["average_accuracy"] == pytest.approx((3 * 4 / 6 + 3 / 6) / 4)
    with pytest.raises(ValueError):
        evaluate_rows(rows, preds[:-1], labels)


def test_report_files_are_written(tmp_path: Path) -> None:
    rows, preds, labels = _toy_rows()
    # The sub head with the 65 production classes: the heatmap must cope.
    sub_labels = production_labels().sub
    rng = random.Random(0)
    true_subs = [rng.choice(sub_labels) for _ in range(6)]
    for row, pred, sub in zip(rows, preds, true_subs, strict=True):
        row["sub_category"] = sub
        pred["sub_category"] = sub if rng.random() < 0.5 else rng.choice(sub_labels)
    labels = {**labels, "sub": sub_labels}
    written = write_report(evaluate_rows(rows, preds, labels), tmp_path)
    names = {p.name for p in written}
    assert "report.md" in names
    assert {f"f1_{h}.png" for h in HEADS} <= names
    assert {f"confusion_{h}.png" for h in HEADS} <= names
    for path in written:
        assert path.stat().st_size > 0
    assert (tmp_path / "f1_sub.png").read_bytes()[:4] == b"\x89PNG"
    report = (tmp_path / "report.md").read_text()
    assert "| main | 0.6667 |" in report
    assert "### Most confused pairs" in report and "| a | b | 1 | 33.3% |" in report


def _write_jsonl(path: Path, n: int, seed: int = 0) -> list[dict]:
    sub_to_main = production_sub_to_main()
    labels = production_labels()
    rng = random.Random(seed)
    records = []
    for i in range(n):
        sub = rng.choice(sorted(sub_to_main))
        records.append(
            {
                "narrative": NARRATIVES[i % len(NARRATIVES)],
                "main_category": sub_to_main[sub],
                "category": sub,
                "intervention": rng.choice(labels.intervention),
                "priority": rng.choice(["1", "2.0", "3"]),
            }
        )
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return records


def test_cli_with_checkpoint(tmp_path: Path, tiny_checkpoint: Path) -> None:
    data = tmp_path / "test.jsonl"
    _write_jsonl(data, 8)
    out = tmp_path / "report"
    argv = ["--data", str(data), "--checkpoint", str(tiny_checkpoint), "--out", str(out)]
    assert main([*argv, "--embeddings"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n"] == 8 and set(metrics["heads"]) == set(HEADS)
    assert metrics["heads"]["sub"]["labels"] == load_labels(tiny_checkpoint).sub
    assert metrics["cleaning"]["kept"] == 8
    # The "2.0" priorities were cleaned to "2".
    assert "2.0" not in metrics["heads"]["priority"]["labels"]
    for name in ("report.md", "f1_sub.png", "confusion_sub.png", "predictions.jsonl"):
        assert (out / name).stat().st_size > 0
    # Embeddings were computed (the tiny checkpoint has none) and used in the report.
    assert (out / "category_embeddings.npy").is_file()
    pairs = [p for h in HEADS for p in metrics["heads"][h]["most_confused"]]
    assert pairs and all("label_text" in p["similarity"] for p in pairs)
    assert "embedding similarity" in (out / "report.md").read_text()
    # No narrative text leaves the data file.
    for name in ("report.md", "metrics.json", "predictions.jsonl"):
        text = (out / name).read_text()
        assert "stepfather" not in text and "school fees" not in text


def test_checkpoint_predictions_are_consistent(tiny_checkpoint: Path) -> None:
    predictions = predict_with_checkpoint(tiny_checkpoint, NARRATIVES, batch_size=2)
    sub_to_main = production_sub_to_main()
    assert len(predictions) == len(NARRATIVES)
    for p in predictions:
        assert sub_to_main[p["sub_category"]] == p["main_category"]
    assert predictions[1]["chunks_processed"] >= 2  # LONG is chunked like the gateway does
    # Batch composition must not change a narrative's result.
    alone = predict_with_checkpoint(tiny_checkpoint, [LONG], batch_size=1)[0]
    assert {k: alone[k] for k in HEAD_FIELDS.values()} == {
        k: predictions[1][k] for k in HEAD_FIELDS.values()
    }
    with pytest.raises(ValueError):
        predict_with_checkpoint(tiny_checkpoint, ["   "])


@pytest.mark.integration
def test_gateway_and_checkpoint_evaluations_agree(
    gateway, tiny_checkpoint_v2: Path, tmp_path: Path
) -> None:
    # The gateway serves version 2, exported from tiny_checkpoint_v2.
    served = predict_with_gateway(gateway.url, NARRATIVES, concurrency=2, batch_size=3)
    local = predict_with_checkpoint(tiny_checkpoint_v2, NARRATIVES)
    for got, expected in zip(served, local, strict=True):
        assert {k: got[k] for k in HEAD_FIELDS.values()} == {
            k: expected[k] for k in HEAD_FIELDS.values()
        }
        assert got["chunks_processed"] == expected["chunks_processed"]
        for key, value in expected["confidence_scores"].items():
            assert got["confidence_scores"][key] == pytest.approx(value, abs=1e-4)
    rows = [{**p, "narrative": n} for p, n in zip(local, NARRATIVES, strict=True)]
    metrics = evaluate_rows(rows, served, load_labels(tiny_checkpoint_v2))
    assert metrics["average_accuracy"] == 1.0

    # The CLI against the gateway, cleaning the data with the served version's label files.
    data = tmp_path / "test.jsonl"
    _write_jsonl(data, 5, seed=1)
    out = tmp_path / "gateway-report"
    argv = ["--data", str(data), "--gateway-url", gateway.url, "--out", str(out)]
    assert main([*argv, "--labels", str(tiny_checkpoint_v2), "--concurrency", "2"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["source"] == {"gateway_url": gateway.url} and metrics["n"] == 5
    assert (out / "report.md").stat().st_size > 0
