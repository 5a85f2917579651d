"""MLflow tracking: off by default (no-op), and a file-store round trip when on."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.tracking import MlflowTracker, Tracker, flatten, numeric_metrics


def test_off_without_a_uri(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    tracker = Tracker.from_env()
    assert type(tracker) is Tracker and not tracker.enabled
    # Training code calls all of it unconditionally.
    with tracker:
        tracker.start_run("run", {"lr": 1e-4})
        tracker.log_metrics({"loss": 1.0}, step=1)
        tracker.log_artifact(tmp_path)
        tracker.set_tags({"registered_version": "1"})
    assert tracker.run_id is None


def test_metrics_are_flattened_and_numeric() -> None:
    values = {"validation": {"main_accuracy": 0.5, "n": 10, "note": "x"}, "ok": True}
    assert flatten(values) == {
        "validation.main_accuracy": 0.5,
        "validation.n": 10,
        "validation.note": "x",
        "ok": True,
    }
    assert numeric_metrics({**values, "nan": float("nan"), "bad key!": 1}) == {
        "validation.main_accuracy": 0.5,
        "validation.n": 10.0,
        "bad key_": 1.0,
    }


def test_file_store_round_trip(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    # Restored after the test, whatever the tracker sets for the file store.
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = f"file://{tmp_path / 'mlruns'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    tracker = Tracker.from_env(experiment="helpline-test")
    assert isinstance(tracker, MlflowTracker) and tracker.enabled

    report = tmp_path / "report.md"
    report.write_text("# report\n")
    tracker.start_run(
        "finetune", {"learning_rate": 5e-5, "hyperparameters": {"epochs": 2}, "base": "minilm"}
    )
    run_id = tracker.run_id
    for epoch, accuracy in ((1, 0.61), (2, 0.68)):
        tracker.log_metrics({"validation": {"main_accuracy": accuracy}, "loss": 3.0 / epoch}, epoch)
    tracker.log_artifact(report)
    tracker.set_tags({"registered_version": "7"})
    tracker.end_run()
    assert tracker.run_id is None

    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "finetune"
    assert run.data.params == {
        "learning_rate": "5e-05",
        "hyperparameters.epochs": "2",
        "base": "minilm",
    }
    assert run.data.tags["registered_version"] == "7"
    history = client.get_metric_history(run_id, "validation.main_accuracy")
    assert [(m.step, m.value) for m in sorted(history, key=lambda m: m.step)] == [
        (1, 0.61),
        (2, 0.68),
    ]
    assert [a.path for a in client.list_artifacts(run_id)] == ["report.md"]
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.name == "helpline-test"


def test_failed_block_marks_the_run_failed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = f"file://{tmp_path / 'mlruns'}"
    tracker = Tracker.from_env(uri)
    with pytest.raises(RuntimeError), tracker:
        tracker.start_run("broken")
        run_id = tracker.run_id
        raise RuntimeError("training failed")
    assert MlflowClient(tracking_uri=uri).get_run(run_id).info.status == "FAILED"
