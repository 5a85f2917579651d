"""checkpoint -> ONNX -> parity check -> new model version: the export command's core."""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from export.onnx_export import OPSET, export_onnx
from export.openvino_runner import OPENVINO_PRECISION
from export.parity import (
    DEFAULT_MIN_AGREEMENT,
    ParityReport,
    check_parity,
    require_precision_available,
)
from export.repository import write_version
from export.sample_texts import SAMPLE_NARRATIVES
from helpline_model.calibration import Calibration, CalibrationError, load_calibration
from helpline_model.checkpoint import folder_hash, load_checkpoint, served_max_length
from helpline_model.layout import OUTPUT_NAMES, TRAINING_INFO_FILE
from helpline_model.severity import ORDER_KEY, describe, version_severity

log = logging.getLogger(__name__)

NOT_CALIBRATED = "not calibrated (no calibration.json: temperature 1, the severity threshold)"


@dataclass
class ExportResult:
    version_dir: Path
    version: int
    parity: ParityReport
    seconds: float
    # The shipped priority_severity.json content; None: escalation is off for this version.
    severity: dict | None = None
    # One line on the shipped calibration.json (or that the version is not calibrated).
    calibration: str = NOT_CALIBRATED


# Default parity texts besides the built-in samples: held-out synthetic narratives with the
# production length mix, from a seed the demo model's training corpus does not use. A dozen
# samples alone would let a graph that flips 1 answer in 20 through by luck.
DEFAULT_GENERATED_TEXTS = 300
DEFAULT_TEXTS_SEED = 1001
DEFAULT_TEXTS_NAME = (
    f"built-in samples + {DEFAULT_GENERATED_TEXTS} synthetic narratives "
    f"(corpus.generator, seed {DEFAULT_TEXTS_SEED})"
)


def default_texts() -> list[str]:
    from corpus import generator as corpus

    rows = corpus.generate(DEFAULT_GENERATED_TEXTS, DEFAULT_TEXTS_SEED, "production")
    return [*SAMPLE_NARRATIVES, *(row["narrative"] for row in rows)]


def load_texts(path: Path | None) -> list[str]:
    """Texts for the parity check: a JSONL/JSON file with a `narrative` field, or the default
    set (`default_texts`)."""
    if path is None:
        return default_texts()
    raw = path.read_text()
    if path.suffix == ".jsonl":
        rows = [json.loads(line) for line in raw.splitlines() if line.strip()]
    else:
        rows = json.loads(raw)
    texts = [row["narrative"] if isinstance(row, dict) else str(row) for row in rows]
    return [t for t in texts if t.strip()]


def _versions_of_tools(precision: str) -> dict[str, str]:
    import onnxruntime
    import torch
    import transformers

    found = {"torch": torch.__version__, "onnxruntime": onnxruntime.__version__}
    found["transformers"] = transformers.__version__
    if precision == OPENVINO_PRECISION:
        import openvino

        found["openvino"] = openvino.__version__
    try:
        from importlib.metadata import version

        found["optimum-onnx"] = version("optimum-onnx")
    except Exception:  # noqa: BLE001 - informational only
        pass
    return found


def _severity_source(severity: dict | None, order: Sequence[str] | None) -> str | None:
    if severity is None:
        return None
    return "--severity-order" if order is not None else "checkpoint"


def version_calibration(
    checkpoint_folder: Path, severity: dict | None, target_recall: float | None
) -> Calibration | None:
    """The checkpoint's calibration.json, its operating point re-chosen on the stored
    validation curve for `target_recall` when given; refused (CalibrationError) when the
    target cannot be honoured or the point was chosen for another most-severe level."""
    calibration = load_calibration(checkpoint_folder)
    if target_recall is not None:
        if calibration is None:
            raise CalibrationError(
                f"--target-recall needs a calibration.json in {checkpoint_folder} (fitted on "
                "validation by training.cli / the demo build); this checkpoint has none"
            )
        calibration = calibration.with_target_recall(target_recall)
    if calibration is not None and calibration.escalation is not None and severity is not None:
        most_severe = str(severity[ORDER_KEY][-1])
        if calibration.level is not None and calibration.level != most_severe:
            raise CalibrationError(
                f"calibration.json chose its threshold for priority {calibration.level!r}, "
                f"but the version's most severe level is {most_severe!r}"
            )
    return calibration


def describe_calibration(calibration: Calibration | None) -> str:
    if calibration is None:
        return NOT_CALIBRATED
    point = calibration.escalation
    source = calibration.fitted_on or {}
    fitted_on = source.get("file") or source.get("split") or "validation"
    return f"calibrated (temperatures fitted on {fitted_on}" + (
        f"; {point.describe()})" if point else "; no operating point)"
    )


def export_checkpoint(
    source: str,
    repository: Path,
    model_name: str,
    precision: str,
    *,
    version: int | None = None,
    texts_file: Path | None = None,
    max_texts: int = 500,
    min_main_agreement: float = DEFAULT_MIN_AGREEMENT,
    severity_order: Sequence[str] | None = None,
    target_recall: float | None = None,
) -> ExportResult:
    """`severity_order`: priority labels least to most severe (replaces the checkpoint's
    priority_severity.json); checked against the labels before anything is exported.
    `target_recall`: re-choose the escalation operating point on the checkpoint's validation
    curve (calibration.json) for this recall of the most severe level."""
    started = time.monotonic()
    # Before loading anything: a precision this CPU cannot run as named is refused at once.
    require_precision_available(precision)
    checkpoint = load_checkpoint(source)
    severity = version_severity(checkpoint.folder, checkpoint.labels.priority, severity_order)
    calibration = version_calibration(checkpoint.folder, severity, target_recall)
    if severity is None:
        log.warning(
            "no priority severity order (checkpoint has no priority_severity.json, no "
            "--severity-order given): this version will be served with escalation OFF"
        )
    texts = load_texts(texts_file)[:max_texts]
    with tempfile.TemporaryDirectory(prefix="helpline-export-") as work:
        onnx_path, _ = export_onnx(checkpoint, precision, Path(work))
        log.info("exported %s graph; checking parity on %d texts", precision, len(texts))
        parity = check_parity(
            checkpoint,
            onnx_path,
            precision,
            texts,
            min_main_agreement=min_main_agreement,
            text_max_length=served_max_length(checkpoint),
        )
        metadata = {
            "model_name": model_name,
            "source": source,
            "source_sha256": folder_hash(checkpoint.folder),
            "precision": precision,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "export": {"opset": OPSET, "tools": _versions_of_tools(precision)},
            "max_length": checkpoint.max_length,
            "inputs": ["input_ids", "attention_mask"],
            "outputs": dict(OUTPUT_NAMES),
            "label_counts": checkpoint.labels.sizes(),
            # Training keeps punctuation and case folding to the tokenizer; serving must do
            # the same (no train/serve skew), so no extra preprocessing is declared.
            "preprocessing": "none",
            "parity": parity.to_dict(),
            "parity_texts": str(texts_file) if texts_file else DEFAULT_TEXTS_NAME,
            "escalation": describe(severity),
            "severity_source": _severity_source(severity, severity_order),
            "calibration": describe_calibration(calibration),
        }
        training_info = checkpoint.folder / TRAINING_INFO_FILE
        if training_info.is_file():
            metadata["training"] = json.loads(training_info.read_text())
        metadata["max_length"] = served_max_length(checkpoint)
        version_dir = write_version(
            repository,
            model_name,
            onnx_path,
            checkpoint.folder,
            metadata,
            version,
            severity=severity,
            calibration=calibration.to_json() if calibration else None,
        )
    return ExportResult(
        version_dir,
        int(version_dir.name),
        parity,
        time.monotonic() - started,
        severity,
        describe_calibration(calibration),
    )
