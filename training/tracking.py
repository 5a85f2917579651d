"""Optional MLflow experiment tracking.

Training code calls a `Tracker` unconditionally; `Tracker.from_env()` returns the no-op
base class unless a tracking URI is passed or `MLFLOW_TRACKING_URI` is set, so nothing
needs MLflow installed or reachable by default.

    tracker = Tracker.from_env()
    tracker.start_run("finetune", params={"learning_rate": 5e-5, ...})
    tracker.log_metrics({"validation": {"main_accuracy": 0.71}}, step=1)
    tracker.log_artifact(folder / "report.md")
    tracker.set_tags({"registered_version": "3"})
    tracker.end_run()

Nested dicts are flattened with dots ("validation.main_accuracy"); metrics keep only
finite numbers. Once a run has started, a failing tracking server is logged and skipped:
hours of training are not lost to a monitoring outage. Never pass narrative text.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from urllib.parse import urlparse

log = logging.getLogger("triage.tracking")

DEFAULT_EXPERIMENT = "helpline-triage"
# MLflow refuses longer parameter values.
MAX_PARAM_CHARS = 6000
_UNSAFE_KEY = re.compile(r"[^A-Za-z0-9_\-. /]")


def flatten(values: Mapping[str, object], prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def _key(name: str) -> str:
    return _UNSAFE_KEY.sub("_", name)


def numeric_metrics(metrics: Mapping[str, object]) -> dict[str, float]:
    """Finite numbers only: counts, strings and None in a summary dict are not metrics."""
    out = {}
    for name, value in flatten(metrics).items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isfinite(value):
            out[_key(name)] = float(value)
    return out


class Tracker:
    """Tracking switched off: every call does nothing."""

    enabled = False
    run_id: str | None = None

    @classmethod
    def from_env(cls, uri: str | None = None, experiment: str | None = None) -> Tracker:
        uri = uri or os.environ.get("MLFLOW_TRACKING_URI")
        if not uri:
            return cls()
        experiment = experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT
        return MlflowTracker(uri, experiment)

    def start_run(self, name: str, params: Mapping[str, object] | None = None) -> None:
        pass

    def log_params(self, params: Mapping[str, object]) -> None:
        pass

    def log_metrics(self, metrics: Mapping[str, object], step: int | None = None) -> None:
        pass

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        pass

    def set_tags(self, tags: Mapping[str, object]) -> None:
        pass

    def end_run(self, status: str = "FINISHED") -> None:
        pass

    def __enter__(self) -> Tracker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.end_run("FAILED" if exc_type is not None else "FINISHED")


def _is_file_store(uri: str) -> bool:
    scheme = urlparse(uri).scheme
    # A Windows drive letter parses as a one-letter scheme.
    return scheme in ("", "file") or len(scheme) == 1


class MlflowTracker(Tracker):
    """One MLflow run at a time, through `MlflowClient` (no global fluent-API state)."""

    enabled = True

    def __init__(self, uri: str, experiment: str = DEFAULT_EXPERIMENT) -> None:
        from mlflow.tracking import MlflowClient

        if _is_file_store(uri):
            # MLflow 3 refuses the file store unless asked; a file URI is that request.
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        self.uri = uri
        self.experiment = experiment
        self.client = MlflowClient(tracking_uri=uri)
        self.run_id = None

    def _experiment_id(self) -> str:
        found = self.client.get_experiment_by_name(self.experiment)
        if found is not None:
            return found.experiment_id
        return self.client.create_experiment(self.experiment)

    def start_run(self, name: str, params: Mapping[str, object] | None = None) -> None:
        if self.run_id is not None:
            self.end_run()
        # Misconfiguration (bad URI, no permission) fails here, before any training.
        run = self.client.create_run(self._experiment_id(), run_name=name)
        self.run_id = run.info.run_id
        log.info(
            "MLflow run %s (%s) in experiment %r at %s",
            name,
            self.run_id,
            self.experiment,
            self.uri,
        )
        if params:
            self.log_params(params)

    def _call(self, what: str, fn, *args, **kwargs) -> None:
        if self.run_id is None:
            log.warning("MLflow %s ignored: no run started", what)
            return
        try:
            fn(self.run_id, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - tracking must not stop training
            log.warning("MLflow %s failed: %s", what, exc)

    def log_params(self, params: Mapping[str, object]) -> None:
        from mlflow.entities import Param

        items = [Param(_key(k), str(v)[:MAX_PARAM_CHARS]) for k, v in flatten(params).items()]
        if items:
            self._call("log_params", self.client.log_batch, params=items)

    def log_metrics(self, metrics: Mapping[str, object], step: int | None = None) -> None:
        import time

        from mlflow.entities import Metric

        timestamp = int(time.time() * 1000)
        items = [Metric(k, v, timestamp, step or 0) for k, v in numeric_metrics(metrics).items()]
        if items:
            self._call("log_metrics", self.client.log_batch, metrics=items)

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        path = Path(path)
        if path.is_dir():
            self._call("log_artifacts", self.client.log_artifacts, str(path), artifact_path)
        else:
            self._call("log_artifact", self.client.log_artifact, str(path), artifact_path)

    def set_tags(self, tags: Mapping[str, object]) -> None:
        from mlflow.entities import RunTag

        items = [RunTag(_key(k), str(v)) for k, v in flatten(tags).items()]
        if items:
            self._call("set_tags", self.client.log_batch, tags=items)

    def end_run(self, status: str = "FINISHED") -> None:
        if self.run_id is None:
            return
        self._call("end_run", self.client.set_terminated, status)
        self.run_id = None
