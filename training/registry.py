"""A file-based model registry with continuous learning, rollback and promotion to Triton.

Layout under the registry folder (default `artifacts/registry/`):
  registry.json      {"current": "v2", "versions": [...], "rejected": [...], "events": [...]}
  v1/, v2/, ...      kept checkpoints in the production layout (+ training_info.json)

Rules:
* version ids are "v<N>" with N one above the highest id ever recorded or present as a
  folder, never derived from counting entries (deleted folders must not cause reuse);
* a new version is kept ONLY if its metric on the VALIDATION split (the selection split)
  beats the current version's by `min_improvement`, both measured now on the same rows;
  otherwise the attempt is recorded (metrics, reason) and its weights are deleted. The test
  split is never read by the decision: deciding on it would, over repeated retraining,
  select on the test set and leave no unbiased estimate. Test metrics of both versions are
  recorded for reporting only, and every entry names the split that decided (`selected_on`);
* early stopping inside training reads the validation split only (training.finetune);
* `current` is what the next training run warm-starts from; `rollback` moves it back;
  `promote` exports a version as a new Triton model version and records which one.

Entry paths are relative to the registry folder so the folder can be moved as a whole.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from helpline_model.layout import HEADS
from training.data import Dataset, LabelVocabulary, clean_records, data_hash
from training.finetune import (
    METRICS,
    TRAINING_INFO_FILE,
    FinetuneResult,
    Progress,
    TextEncoder,
    TrainConfig,
    evaluate,
    finetune,
)

DEFAULT_ROOT = Path("artifacts/registry")
REGISTRY_FILE = "registry.json"
VERSION_ID = re.compile(r"^v(\d+)$")
SPLIT_NAMES = ("train", "validation", "test")
# The split that decides keep-or-reject. Early stopping reads it too, which favours the
# candidate slightly; `min_improvement` is the margin that absorbs this.
SELECTION_SPLIT = "validation"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class RegistryError(Exception):
    pass


class Registry:
    def __init__(self, root: Path | str = DEFAULT_ROOT) -> None:
        self.root = Path(root)

    # ----------------------------------------------------------------- storage

    @property
    def file(self) -> Path:
        return self.root / REGISTRY_FILE

    def load(self) -> dict:
        if not self.file.is_file():
            return {"current": None, "versions": [], "rejected": [], "events": []}
        data = json.loads(self.file.read_text())
        for key in ("versions", "rejected", "events"):
            data.setdefault(key, [])
        data.setdefault("current", None)
        return data

    def _save(self, data: dict) -> None:
        # Write-then-rename: a crash never leaves a half-written registry.json.
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.file.with_suffix(f".tmp-{os.getpid()}")
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, self.file)

    # ----------------------------------------------------------------- queries

    def list_versions(self) -> list[dict]:
        data = self.load()
        return [{**v, "current": v["id"] == data["current"]} for v in data["versions"]]

    def list_rejected(self) -> list[dict]:
        return self.load()["rejected"]

    def get(self, version_id: str) -> dict:
        for entry in self.load()["versions"]:
            if entry["id"] == version_id:
                return entry
        raise RegistryError(f"no version {version_id!r} in {self.file}")

    def current(self) -> dict | None:
        current = self.load()["current"]
        return self.get(current) if current else None

    def path_of(self, entry: dict) -> Path:
        return self.root / entry["path"]

    def next_version_id(self) -> str:
        data = self.load()
        numbers = [0]
        numbers += [int(m.group(1)) for v in data["versions"] if (m := VERSION_ID.match(v["id"]))]
        if self.root.is_dir():
            numbers += [
                int(m.group(1)) for p in self.root.iterdir() if (m := VERSION_ID.match(p.name))
            ]
        return f"v{max(numbers) + 1}"

    # ----------------------------------------------------------------- changes

    def add_version(self, staged: Path, entry: dict, *, make_current: bool = True) -> dict:
        """Move a staged checkpoint folder in as the next version and record it."""
        version_id = self.next_version_id()
        target = self.root / version_id
        shutil.move(str(staged), str(target))
        info_path = target / TRAINING_INFO_FILE
        if info_path.is_file():
            # The export copies training_info.json into the Triton version's metadata, so the
            # served model names its registry version.
            info = json.loads(info_path.read_text())
            info["registry_version"] = version_id
            info["selected_on"] = entry.get("selected_on")
            info_path.write_text(json.dumps(info, indent=1))
        data = self.load()
        record = {
            "id": version_id,
            "status": "accepted",
            "created_at": _now(),
            "path": version_id,
            **entry,
        }
        data["versions"].append(record)
        if make_current:
            data["events"].append(
                {"at": _now(), "action": "accept", "from": data["current"], "to": version_id}
            )
            data["current"] = version_id
        self._save(data)
        return record

    def record_rejected(self, entry: dict) -> dict:
        data = self.load()
        record = {"attempt": len(data["rejected"]) + 1, "status": "rejected", "created_at": _now()}
        record.update(entry)
        data["rejected"].append(record)
        self._save(data)
        return record

    def rollback(self, version_id: str) -> dict:
        """Make an older (or any kept) version current again."""
        entry = self.get(version_id)
        if not self.path_of(entry).is_dir():
            raise RegistryError(f"{version_id}'s folder {self.path_of(entry)} is missing")
        data = self.load()
        data["events"].append(
            {"at": _now(), "action": "rollback", "from": data["current"], "to": version_id}
        )
        data["current"] = version_id
        self._save(data)
        return entry

    def promote(
        self,
        version_id: str,
        repository: Path | str = Path("model_repository"),
        precision: str = "fp32",
        *,
        model_name: str | None = None,
        **export_options: object,
    ) -> dict:
        """Export a version as a new Triton model version; record which version it became."""
        from export.pipeline import export_checkpoint
        from export.repository import DEFAULT_MODEL_NAME

        entry = self.get(version_id)
        model_name = model_name or DEFAULT_MODEL_NAME
        result = export_checkpoint(
            str(self.path_of(entry).resolve()),
            Path(repository),
            model_name,
            precision,
            **export_options,
        )
        promotion = {
            "at": _now(),
            "repository": str(Path(repository).resolve()),
            "model_name": model_name,
            "triton_version": result.version,
            "precision": precision,
            "version_dir": str(result.version_dir),
            "parity_passed": result.parity.passed,
            "seconds": round(result.seconds, 1),
        }
        data = self.load()
        for stored in data["versions"]:
            if stored["id"] == version_id:
                stored.setdefault("promotions", []).append(promotion)
                stored["triton_version"] = result.version
        data["events"].append({"at": _now(), "action": "promote", "version": version_id})
        self._save(data)
        return promotion


# --------------------------------------------------------------------------- training


@dataclass
class TrainOutcome:
    accepted: bool
    entry: dict
    result: FinetuneResult
    datasets: dict[str, Dataset]


def clean_splits(
    records: dict[str, Sequence[dict]], vocab: LabelVocabulary, progress: Progress = print
) -> dict[str, Dataset]:
    missing = [name for name in SPLIT_NAMES if not records.get(name)]
    if missing:
        raise ValueError(f"empty or missing splits: {', '.join(missing)}")
    datasets = {name: clean_records(records[name], vocab, name) for name in SPLIT_NAMES}
    for dataset in datasets.values():
        progress(dataset.report.summary())
        if not dataset.examples:
            raise ValueError(f"no usable rows in {dataset.report.source}")
    return datasets


def _summary(metrics: dict | None) -> dict | None:
    if metrics is None:
        return None
    keys = [f"{h}_accuracy" for h in HEADS] + list(METRICS) + ["loss", "n"]
    return {k: metrics[k] for k in keys if k in metrics}


def evaluate_folder(
    folder: Path, dataset: Dataset, vocab: LabelVocabulary, batch_size: int
) -> dict:
    """A saved checkpoint's metrics on the given rows, at the max_length it was trained with."""
    from helpline_model.checkpoint import load_checkpoint

    checkpoint = load_checkpoint(folder)
    info_path = folder / TRAINING_INFO_FILE
    info = json.loads(info_path.read_text()) if info_path.is_file() else {}
    max_length = int(info.get("max_length", checkpoint.max_length))
    restrict = info.get("hyperparameters", {}).get("restrict_sub_to_main", True)
    return evaluate(
        checkpoint.model,
        dataset.examples,
        checkpoint.labels,
        TextEncoder(folder),
        max_length,
        sub_to_main=vocab.sub_to_main if restrict else None,
        batch_size=batch_size,
    )


def evaluate_version(
    registry: Registry, entry: dict, dataset: Dataset, vocab: LabelVocabulary, batch_size: int
) -> dict:
    """A kept version's metrics on the given rows, at the max_length it was trained with."""
    return evaluate_folder(registry.path_of(entry), dataset, vocab, batch_size)


@dataclass(frozen=True)
class Selection:
    """Keep-or-reject of a candidate, from selection-split numbers only (no test metrics
    are passed in, so none can influence it)."""

    accepted: bool
    reason: str


def select(
    metric: str,
    candidate: float,
    current: float | None,
    current_id: str | None,
    min_improvement: float,
) -> Selection:
    """Kept when candidate > current + min_improvement; the first version (no current)
    when candidate >= min_improvement."""
    split = SELECTION_SPLIT
    if current is None:
        accepted = candidate >= min_improvement
        reference = f"the minimum {min_improvement}"
    else:
        accepted = candidate > current + min_improvement
        reference = f"{current_id}'s {current:.4f}" + (
            f" + {min_improvement}" if min_improvement else ""
        )
    verb = "beats" if accepted else "does not beat"
    return Selection(accepted, f"{split} {metric} {candidate:.4f} {verb} {reference}")


def train_next(
    registry: Registry,
    records: dict[str, Sequence[dict]],
    config: TrainConfig,
    *,
    metric: str = "avg_accuracy",
    min_improvement: float = 0.0,
    initial_base: str | Path | None = None,
    calibration_data: Path | None = None,
    progress: Progress = print,
) -> TrainOutcome:
    """Warm-start from the current version, train, keep only if better on validation.

    Without a current version, training starts from `initial_base` (a checkpoint folder in
    the production layout), else from the converted MiniLM. Kept only when the candidate's
    validation[metric] > current's validation[metric] (both measured now, on the same rows)
    + min_improvement; the first version is kept when it reaches min_improvement. Test
    metrics of both are measured and recorded for reporting only.
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}")
    current = registry.current()
    base = registry.path_of(current) if current else initial_base
    vocab = LabelVocabulary.from_checkpoint(base) if base else LabelVocabulary.demo()
    datasets = clean_splits(records, vocab, progress)
    splits = {name: ds.examples for name, ds in datasets.items()}
    digest = data_hash(splits)

    staging = registry.root / "_staging" / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    progress(f"training from {current['id'] if current else base or 'converted MiniLM'}")
    result = finetune(
        splits,
        config,
        staging,
        base=base,
        parent_version=current["id"] if current else None,
        data_hash=digest,
        calibration_data=calibration_data,
        progress=progress,
    )
    # Both sides measured the same way, from disk: what is kept is what was compared.
    selection_rows = datasets[SELECTION_SPLIT]
    batch = config.eval_batch_size
    candidate_selection = evaluate_folder(staging, selection_rows, vocab, batch)
    current_selection = current_test = None
    if current is not None:
        current_selection = evaluate_version(registry, current, selection_rows, vocab, batch)
        current_test = evaluate_version(registry, current, datasets["test"], vocab, batch)
    decision = select(
        metric,
        float(candidate_selection[metric]),
        float(current_selection[metric]) if current_selection is not None else None,
        current["id"] if current else None,
        min_improvement,
    )
    accepted = decision.accepted
    test_note = f"test {metric} {float(result.info['test'][metric]):.4f}" + (
        f" vs {current_test[metric]:.4f}" if current_test is not None else ""
    )
    reason = f"{decision.reason} ({test_note}, reported only)"
    progress(reason)

    entry = {
        "metric": metric,
        "selected_on": SELECTION_SPLIT,
        "value": float(candidate_selection[metric]),
        "validation_metrics": _summary(candidate_selection),
        "test_metrics": _summary(result.info["test"]),
        "compared_with": (
            {
                "version": current["id"],
                "validation_metrics": _summary(current_selection),
                "test_metrics": _summary(current_test),
            }
            if current
            else None
        ),
        "min_improvement": min_improvement,
        "reason": reason,
        "data_hash": digest,
        "data": {name: ds.report.to_dict() for name, ds in datasets.items()},
        "parent_version": current["id"] if current else None,
        "base": result.info["base"],
        "max_length": config.max_length,
        "hyperparameters": result.info["hyperparameters"],
        "best_epoch": result.info["best_epoch"],
        "train_seconds": result.info["train_seconds"],
    }
    if accepted:
        record = registry.add_version(staging, entry)
        progress(f"kept as {record['id']} (now current)")
    else:
        shutil.rmtree(staging, ignore_errors=True)
        record = registry.record_rejected(entry)
        progress(f"rejected (attempt {record['attempt']}); weights not kept")
    _remove_empty(registry.root / "_staging")
    _track(entry, record, accepted, result.info)
    return TrainOutcome(accepted, record, result, datasets)


def _track(entry: dict, record: dict, accepted: bool, info: dict) -> None:
    """MLflow, when MLFLOW_TRACKING_URI is set (off otherwise): parameters, validation
    metrics per evaluation, selection and test metrics and which version the run became."""
    from training.tracking import Tracker

    tracker = Tracker.from_env()
    if not tracker.enabled:
        return
    with tracker:
        tracker.start_run(
            str(record.get("id") or f"rejected-{record.get('attempt')}"),
            params={
                **entry["hyperparameters"],
                "metric": entry["metric"],
                "data_hash": entry["data_hash"],
                "parent_version": entry["parent_version"],
            },
        )
        for point in info.get("epochs", []):
            metrics = {f"validation.{k}": v for k, v in (point.get("validation") or {}).items()}
            if point.get("train_loss") is not None:
                metrics["train_loss"] = point["train_loss"]
            tracker.log_metrics(metrics, step=int(point.get("step", 0)))
        tracker.log_metrics({f"test.{k}": v for k, v in entry["test_metrics"].items()})
        tracker.log_metrics({f"selection.{k}": v for k, v in entry["validation_metrics"].items()})
        tracker.set_tags(
            {
                "registered_version": record["id"] if accepted else "rejected",
                "accepted": accepted,
                "selected_on": entry["selected_on"],
                "reason": entry["reason"],
            }
        )


def _remove_empty(folder: Path) -> None:
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
