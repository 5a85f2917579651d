"""Everything the gateway needs from one model version's folder, loaded once."""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from client.core.aggregation import Severity, check_sub_to_main, load_severity, load_sub_to_main
from client.core.tokenization import NarrativeTokenizer
from helpline_model.calibration import Calibration, load_calibration
from helpline_model.layout import METADATA_FILE, Labels, load_labels

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelBundle:
    name: str
    version: str
    folder: Path
    tokenizer: NarrativeTokenizer
    labels: Labels
    sub_to_main: dict[str, str] | None
    severity: Severity | None
    metadata: dict
    max_length: int
    # calibration.json: per-head temperatures and the escalation operating point; None =
    # served uncalibrated (temperature 1, the severity file's threshold).
    calibration: Calibration | None = None

    @classmethod
    def load(cls, repository: Path, name: str, version: str) -> ModelBundle:
        return cls.from_folder(repository / name / version, name, version)

    @classmethod
    def from_folder(
        cls, folder: Path, name: str, version: str, max_length: int | None = None
    ) -> ModelBundle:
        """A model version's folder, or a checkpoint's (same label, tokenizer, sub_to_main
        and severity files; no metadata.json: give `max_length`)."""
        if not folder.is_dir():
            raise FileNotFoundError(f"model version folder {folder} not found")
        labels = load_labels(folder)
        metadata_file = folder / METADATA_FILE
        metadata = json.loads(metadata_file.read_text()) if metadata_file.is_file() else {}
        if metadata.get("preprocessing", "none") != "none":
            # Only "none" is implemented; serving anything else would be train/serve skew.
            raise ValueError(f"unsupported preprocessing {metadata['preprocessing']!r}")
        sub_to_main = load_sub_to_main(folder)
        if sub_to_main is not None:
            check_sub_to_main(sub_to_main, labels)
        severity = load_severity(folder)
        calibration = load_calibration(folder)
        if severity is not None:
            severity.check_labels(labels.priority)
            severity = with_operating_point(severity, calibration)
        else:
            # Served, but no case will ever escalate: operators must hear of it.
            log.warning(
                "model %s version %s ships no priority severity order: escalation is disabled "
                "(re-export with `helpline-export export --severity-order`)",
                name,
                version,
            )
        return cls(
            name=name,
            version=version,
            folder=folder,
            tokenizer=NarrativeTokenizer(folder),
            labels=labels,
            sub_to_main=sub_to_main,
            severity=severity,
            metadata=metadata,
            max_length=max_length or int(metadata.get("max_length", 512)),
            calibration=calibration,
        )


def with_operating_point(severity: Severity, calibration: Calibration | None) -> Severity:
    """The calibrated operating point replaces the severity file's threshold and sets the
    decision rule it was chosen for (a gateway's TRIAGE_ESCALATION_THRESHOLD still overrides
    the threshold; the rule stays the version's)."""
    point = calibration.escalation if calibration else None
    if point is None:
        return severity
    if calibration.level is not None and calibration.level != severity.most_severe:
        raise ValueError(
            f"calibration.json chose its threshold for level {calibration.level!r}, but the "
            f"most severe level is {severity.most_severe!r}"
        )
    return dataclasses.replace(severity, escalation_threshold=point.threshold, rule=point.rule)
