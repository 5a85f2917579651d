"""Model registry: keep only improvements, number versions safely, roll back, promote."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from corpus import generator as corpus
from export.tiny import make_tiny_checkpoint
from helpline_model.layout import HEADS, METADATA_FILE, OUTPUT_NAMES
from helpline_model.taxonomy import SEVERITY_ORDER, SUB_TO_MAIN, demo_labels
from training.cli import main as cli_main
from training.data import LabelVocabulary, clean_records
from training.finetune import (
    TRAINING_INFO_FILE,
    TextEncoder,
    TrainConfig,
    label_targets,
    predict,
    sub_mask,
)
from training.registry import Registry, RegistryError, select, train_next

MODEL = "helpline_classifier"


def _quiet(_: str) -> None:
    pass


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_checkpoint(
        tmp_path_factory.mktemp("tiny-demo-base"),
        demo_labels(),
        sub_to_main=dict(SUB_TO_MAIN),
        severity_order=list(SEVERITY_ORDER),
    )


@pytest.fixture(scope="module")
def records() -> dict[str, list[dict]]:
    rows = corpus.generate(96, seed=1, length_profile="short")
    # A few dirty rows: they must be reported per split, not break training.
    rows[3] = {**rows[3], "priority": "N/A"}
    rows[70] = {**rows[70], "sub_category": rows[70]["sub_category"].upper() + " "}
    return {"train": rows[:64], "validation": rows[64:80], "test": rows[80:]}


def _config(**overrides: object) -> TrainConfig:
    settings = {"epochs": 1, "batch_size": 16, "max_length": 48, "learning_rate": 1e-3}
    settings.update(overrides)
    return TrainConfig(**settings)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory, tiny_base: Path, records: dict) -> Registry:
    """v1 trained from the tiny base; then an attempt that cannot beat it (threshold)."""
    reg = Registry(tmp_path_factory.mktemp("registry"))
    first = train_next(reg, records, _config(), initial_base=tiny_base, progress=_quiet)
    assert first.accepted and first.entry["id"] == "v1"
    return reg


def test_first_version_is_kept_and_current(registry: Registry, records: dict) -> None:
    v1 = registry.get("v1")
    assert registry.current()["id"] == "v1"
    assert v1["status"] == "accepted" and v1["parent_version"] is None
    assert v1["metric"] == "avg_accuracy"
    assert v1["selected_on"] == "validation"
    assert v1["value"] == pytest.approx(v1["validation_metrics"]["avg_accuracy"])
    assert set(v1["test_metrics"]) >= {f"{h}_accuracy" for h in HEADS}
    assert len(v1["data_hash"]) == 64
    assert v1["data"]["train"]["rejected_by_reason"] == {
        "missing priority": {"count": 1, "first_rows": [4]}
    }
    assert v1["data"]["validation"]["fixed"] == {"sub_category: case/whitespace": 1}
    folder = registry.path_of(v1)
    info = json.loads((folder / TRAINING_INFO_FILE).read_text())
    assert info["registry_version"] == "v1" and info["max_length"] == 48
    assert info["selected_on"] == "validation"
    on_disk = json.loads(registry.file.read_text())
    assert on_disk["current"] == "v1"


def test_not_better_is_recorded_but_not_kept(registry: Registry, records: dict) -> None:
    outcome = train_next(registry, records, _config(), min_improvement=1.0, progress=_quiet)
    assert not outcome.accepted
    assert outcome.entry["status"] == "rejected"
    assert outcome.entry["parent_version"] == "v1"
    assert "does not beat v1" in outcome.entry["reason"]
    assert outcome.entry["compared_with"]["version"] == "v1"
    assert registry.current()["id"] == "v1"
    assert [v["id"] for v in registry.list_versions()] == ["v1"]
    assert registry.list_rejected()[-1]["value"] == outcome.entry["value"]
    # The weights were not kept.
    assert not (registry.root / "v2").exists()
    assert not (registry.root / "_staging").exists()


def test_better_version_warm_starts_from_current(registry: Registry, records: dict) -> None:
    # A negative threshold accepts anything not much worse: the second version is kept.
    outcome = train_next(registry, records, _config(seed=1), min_improvement=-1.0, progress=_quiet)
    assert outcome.accepted and outcome.entry["id"] == "v2"
    assert outcome.entry["parent_version"] == "v1"
    assert outcome.entry["base"].endswith("v1")
    assert registry.current()["id"] == "v2"


def test_version_ids_come_from_the_highest_not_a_count(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    assert reg.next_version_id() == "v1"
    (tmp_path / "v7").mkdir()  # e.g. a folder left by an interrupted run
    (tmp_path / "notes").mkdir()
    assert reg.next_version_id() == "v8"
    reg._save({"current": None, "versions": [{"id": "v12"}], "rejected": [], "events": []})
    assert reg.next_version_id() == "v13"


def test_rollback_changes_current(registry: Registry) -> None:
    current = registry.current()["id"]
    older = "v1" if current != "v1" else None
    if older is None:
        pytest.skip("needs a second version")
    registry.rollback(older)
    assert registry.current()["id"] == older
    assert registry.load()["events"][-1] == {
        **registry.load()["events"][-1],
        "action": "rollback",
        "from": current,
        "to": older,
    }
    assert [v["id"] for v in registry.list_versions() if v["current"]] == [older]
    with pytest.raises(RegistryError):
        registry.rollback("v99")
    registry.rollback(current)


def test_cli_versions_and_rollback(registry: Registry, capsys: pytest.CaptureFixture) -> None:
    assert cli_main(["versions", "--registry", str(registry.root)]) == 0
    listing = capsys.readouterr().out
    assert "v1" in listing and "rejected attempt" in listing
    assert cli_main(["rollback", "v1", "--registry", str(registry.root)]) == 0
    assert registry.current()["id"] == "v1"
    assert cli_main(["rollback", "v42", "--registry", str(registry.root)]) == 2


@pytest.mark.integration
def test_promote_writes_a_triton_version_that_serves(registry: Registry, tmp_path: Path) -> None:
    from conftest import start_triton
    from tritonclient import http as httpclient

    repository = tmp_path / "model_repository"
    promotion = registry.promote("v1", repository, "fp32")
    assert promotion["triton_version"] == 1
    version_dir = repository / MODEL / "1"
    assert Path(promotion["version_dir"]) == version_dir
    for name in ("model.onnx", "model.py", "sub_categories.json", "sub_to_main.json"):
        assert (version_dir / name).is_file(), name
    metadata = json.loads((version_dir / METADATA_FILE).read_text())
    assert metadata["training"]["registry_version"] == "v1"
    assert metadata["training"]["max_length"] == 48
    assert metadata["parity"]["passed"] is True
    assert registry.get("v1")["triton_version"] == 1

    triton = start_triton(repository, tmp_path / "triton.log")
    try:
        client = httpclient.InferenceServerClient(url=triton.http_url)
        ids = np.array([[101, 2023, 2003, 1037, 3231, 102]], dtype=np.int64)
        inputs = []
        for name, value in (("input_ids", ids), ("attention_mask", np.ones_like(ids))):
            tensor = httpclient.InferInput(name, list(value.shape), "INT64")
            tensor.set_data_from_numpy(value)
            inputs.append(tensor)
        result = client.infer(MODEL, inputs, model_version="1")
        sizes = demo_labels().sizes()
        for head in HEADS:
            assert result.as_numpy(OUTPUT_NAMES[head]).shape == (1, sizes[head])
        # An open keep-alive connection would hold Triton's graceful shutdown for its timeout.
        client.close()
    finally:
        triton.stop()


def test_mlflow_records_params_metrics_and_version(
    tmp_path: Path, tiny_base: Path, records: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.tracking import MlflowClient

    uri = f"file://{tmp_path / 'mlruns'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    reg = Registry(tmp_path / "registry")
    outcome = train_next(reg, records, _config(), initial_base=tiny_base, progress=_quiet)
    assert outcome.accepted
    client = MlflowClient(tracking_uri=uri)
    runs = [
        run
        for exp in client.search_experiments()
        for run in client.search_runs([exp.experiment_id])
    ]
    assert len(runs) == 1
    run = runs[0]
    assert run.data.tags["registered_version"] == outcome.entry["id"]
    assert "learning_rate" in run.data.params
    assert any(key.startswith("test.") for key in run.data.metrics)
    history = client.get_metric_history(run.info.run_id, "validation.avg_accuracy")
    assert len(history) >= 1


# --------------------------------------------------------------------------- selection split
# Keep-or-reject reads the validation split only. The candidate below is trained the same
# way (same base, seed and training rows; one epoch, so one validation pass and no early-
# stopping choice that could depend on the validation rows) in each test, on a copy of one
# registry holding v1, so its margin over v1 is known before the thresholds are chosen.


def _candidate_config() -> TrainConfig:
    # A seed and rate that move the weights enough to change answers both ways.
    return _config(seed=2, learning_rate=3e-3)


@pytest.fixture(scope="module")
def selection_base(
    tmp_path_factory: pytest.TempPathFactory, tiny_base: Path, records: dict
) -> Path:
    root = tmp_path_factory.mktemp("selection") / "registry"
    first = train_next(Registry(root), records, _config(), initial_base=tiny_base, progress=_quiet)
    assert first.accepted
    return root


def _copy(root: Path, tmp_path: Path) -> Registry:
    shutil.copytree(root, tmp_path / "registry")
    return Registry(tmp_path / "registry")


@pytest.fixture(scope="module")
def probe(
    selection_base: Path, tmp_path_factory: pytest.TempPathFactory, records: dict
) -> tuple[Registry, dict]:
    """The candidate kept unconditionally: its entry holds both versions' metrics."""
    registry = _copy(selection_base, tmp_path_factory.mktemp("probe"))
    outcome = train_next(
        registry, records, _candidate_config(), min_improvement=-1.0, progress=_quiet
    )
    assert outcome.accepted and outcome.entry["id"] == "v2"
    return registry, outcome.entry


def _validation_margin(entry: dict) -> float:
    return entry["value"] - entry["compared_with"]["validation_metrics"]["avg_accuracy"]


@pytest.mark.parametrize(("offset", "kept"), [(-0.005, True), (0.005, False)])
def test_kept_only_when_the_validation_gain_exceeds_the_threshold(
    selection_base: Path, probe: tuple, records: dict, tmp_path: Path, offset: float, kept: bool
) -> None:
    margin = _validation_margin(probe[1])
    assert margin > 0.01, "the candidate must be really better on validation"
    threshold = margin + offset  # just below / just above the candidate's real gain
    registry = _copy(selection_base, tmp_path)
    outcome = train_next(
        registry, records, _candidate_config(), min_improvement=threshold, progress=_quiet
    )
    entry = outcome.entry
    assert entry["value"] == pytest.approx(probe[1]["value"]), "training is not repeatable"
    assert outcome.accepted is kept
    assert entry["selected_on"] == "validation" and entry["min_improvement"] == threshold
    assert entry["reason"].startswith(f"validation avg_accuracy {entry['value']:.4f} ")
    assert registry.current()["id"] == ("v2" if kept else "v1")


def _correct_heads(folder: Path, examples: list, vocab: LabelVocabulary) -> np.ndarray:
    """Per row, how many of the four heads the checkpoint gets right (as registry.evaluate
    measures: the trained max_length, sub restricted to the predicted main)."""
    from helpline_model.checkpoint import load_checkpoint

    checkpoint = load_checkpoint(folder)
    rows = TextEncoder(folder).encode([e.narrative for e in examples], 48)
    preds, _ = predict(
        checkpoint.model,
        rows,
        TextEncoder(folder).pad_id,
        restrict=sub_mask(checkpoint.labels, vocab.sub_to_main),
    )
    return (preds == label_targets(examples, checkpoint.labels)).sum(axis=1)


def test_a_better_test_split_does_not_keep_a_worse_candidate(
    selection_base: Path, probe: tuple, records: dict, tmp_path: Path
) -> None:
    """Validation rows where v1 beats the candidate, test rows where the candidate beats v1:
    a decision that read the test split would keep it."""
    probe_registry = probe[0]
    vocab = LabelVocabulary.from_checkpoint(probe_registry.path_of(probe_registry.get("v1")))
    pool = corpus.generate(240, seed=5, length_profile="short")
    examples = clean_records(pool, vocab, "pool").examples
    assert len(examples) == len(pool)
    old = _correct_heads(probe_registry.path_of(probe_registry.get("v1")), examples, vocab)
    new = _correct_heads(probe_registry.path_of(probe_registry.get("v2")), examples, vocab)
    validation = [row for row, a, b in zip(pool, old, new, strict=True) if a > b]
    test = [row for row, a, b in zip(pool, old, new, strict=True) if b > a]
    assert len(validation) >= 4 and len(test) >= 4

    registry = _copy(selection_base, tmp_path)
    split = {"train": records["train"], "validation": validation, "test": test}
    outcome = train_next(registry, split, _candidate_config(), min_improvement=0.0, progress=_quiet)
    entry = outcome.entry
    current = entry["compared_with"]
    assert entry["test_metrics"]["avg_accuracy"] > current["test_metrics"]["avg_accuracy"]
    assert entry["value"] < current["validation_metrics"]["avg_accuracy"]
    assert not outcome.accepted and entry["selected_on"] == "validation"
    assert registry.current()["id"] == "v1"
    assert "reported only" in entry["reason"]


def test_select_compares_with_a_margin() -> None:
    assert select("avg_accuracy", 0.62, 0.60, "v1", 0.01).accepted
    assert not select("avg_accuracy", 0.605, 0.60, "v1", 0.01).accepted
    assert not select("avg_accuracy", 0.75, 0.5, "v1", 0.25).accepted  # equal is not better
    assert select("avg_accuracy", 0.30, None, None, 0.25).accepted  # first version: a minimum
    assert not select("avg_accuracy", 0.20, None, None, 0.25).accepted
    reason = select("macro_f1", 0.5, 0.6, "v3", 0.0).reason
    assert reason == "validation macro_f1 0.5000 does not beat v3's 0.6000"
