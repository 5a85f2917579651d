"""The calibration a model version ships (`calibration.json`) and its escalation operating point.

Written by training (training/calibration.py), copied into each model version by the export,
read by the gateway (client/core/model_bundle.py). Both parts are fitted on the VALIDATION
split only; the test split and the hand-written set never choose anything.

* `temperatures`: one temperature per head; the gateway divides each chunk's logits by it
  before the softmax, so aggregation, bands and review flags see calibrated probabilities.
* `escalation`: the operating point on the probability of the most severe priority level:
  the highest threshold whose recall of that level on validation reaches `target_recall`,
  with the recall and false-alarm rate it reached there.
* `curve`: the whole validation trade-off, one point per distinct score: (threshold, recall,
  false-alarm rate). The export re-chooses the point for another target recall from it
  (`helpline-export export --target-recall`) without needing the data again.

A case counts as flagged most-severe at threshold t when its reported priority would be that
level: the aggregated vote says so, or one chunk's probability of it is >= t (the gateway's
rule). Its "score" is therefore 1.0 when the vote already says so, else the largest chunk
probability of the level.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from helpline_model.layout import HEADS

CALIBRATION_FILE = "calibration.json"
DEFAULT_TARGET_RECALL = 0.95
SPLIT = "validation"


class CalibrationError(ValueError):
    """A calibration file or value that cannot be served."""


@dataclass(frozen=True)
class CurvePoint:
    threshold: float
    recall: float
    false_alarm_rate: float


@dataclass(frozen=True)
class OperatingPoint:
    target_recall: float
    threshold: float
    recall: float
    false_alarm_rate: float
    # Positives / negatives behind the two rates: a recall over 12 cases says little.
    n_positive: int
    n_negative: int
    split: str = SPLIT

    @property
    def reached(self) -> bool:
        return self.recall >= self.target_recall

    def describe(self) -> str:
        return (
            f"threshold {self.threshold:.4g} chosen on {self.split} for most-severe recall >= "
            f"{self.target_recall:g}: recall {self.recall:.3f} "
            f"({self.n_positive} cases), false alarms {self.false_alarm_rate:.3f} "
            f"({self.n_negative} cases)" + ("" if self.reached else " (target NOT reached)")
        )


def check_target_recall(value: float) -> float:
    if not (isinstance(value, int | float) and 0.0 < float(value) <= 1.0):
        raise CalibrationError(f"target recall must be in (0, 1], got {value!r}")
    return float(value)


def operating_curve(scores: Sequence[float], positive: Sequence[bool]) -> list[CurvePoint]:
    """One point per distinct score, highest threshold first: recall and false-alarm rate of
    flagging the cases whose score is >= that threshold."""
    values = np.asarray(scores, dtype=np.float64)
    truth = np.asarray(positive, dtype=bool)
    if values.shape != truth.shape or values.ndim != 1:
        raise CalibrationError("scores and labels must be two sequences of the same length")
    n_pos, n_neg = int(truth.sum()), int((~truth).sum())
    points = []
    for threshold in np.unique(values)[::-1]:
        flagged = values >= threshold
        points.append(
            CurvePoint(
                threshold=float(threshold),
                recall=float((flagged & truth).sum() / n_pos) if n_pos else 0.0,
                false_alarm_rate=float((flagged & ~truth).sum() / n_neg) if n_neg else 0.0,
            )
        )
    return points


def choose_point(
    curve: Sequence[CurvePoint], target_recall: float, n_positive: int, n_negative: int
) -> OperatingPoint:
    """The highest threshold whose recall reaches the target; when none does, the point of the
    highest recall (its `reached` is False and the description says so)."""
    target = check_target_recall(target_recall)
    if not curve or n_positive == 0:
        raise CalibrationError("no most-severe case in the validation split: nothing to choose")
    reaching = [p for p in curve if p.recall >= target]
    point = (
        max(reaching, key=lambda p: p.threshold)
        if reaching
        else max(curve, key=lambda p: (p.recall, p.threshold))
    )
    return OperatingPoint(
        target_recall=target,
        threshold=point.threshold,
        recall=point.recall,
        false_alarm_rate=point.false_alarm_rate,
        n_positive=n_positive,
        n_negative=n_negative,
    )


@dataclass(frozen=True)
class Calibration:
    temperatures: dict[str, float]
    escalation: OperatingPoint | None = None
    curve: tuple[CurvePoint, ...] = ()
    # The priority level the operating point is about (the most severe one).
    level: str | None = None

    def __post_init__(self) -> None:
        unknown = set(self.temperatures) - set(HEADS)
        if unknown:
            raise CalibrationError(f"temperatures for unknown heads {sorted(unknown)}")
        for head, value in self.temperatures.items():
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise CalibrationError(f"temperature of {head} must be > 0, got {value!r}")
        if self.escalation is not None and not 0.0 <= self.escalation.threshold <= 1.0:
            raise CalibrationError("escalation threshold must be within [0, 1]")

    def temperature(self, head: str) -> float:
        return float(self.temperatures.get(head, 1.0))

    def with_target_recall(self, target_recall: float) -> Calibration:
        """The same calibration with the operating point re-chosen on the stored curve."""
        if self.escalation is None or not self.curve:
            raise CalibrationError("this calibration has no validation curve to choose from")
        point = choose_point(
            self.curve, target_recall, self.escalation.n_positive, self.escalation.n_negative
        )
        return Calibration(self.temperatures, point, self.curve, self.level)

    def to_json(self) -> dict:
        return {
            "temperatures": {h: round(t, 6) for h, t in self.temperatures.items()},
            "escalation": asdict(self.escalation) if self.escalation else None,
            "level": self.level,
            "curve": [[p.threshold, p.recall, p.false_alarm_rate] for p in self.curve],
        }

    @classmethod
    def from_json(cls, data: object) -> Calibration:
        if not isinstance(data, dict) or not isinstance(data.get("temperatures"), dict):
            raise CalibrationError(f"{CALIBRATION_FILE} needs an object under 'temperatures'")
        try:
            escalation = data.get("escalation")
            point = OperatingPoint(**escalation) if escalation else None
            curve = tuple(CurvePoint(*map(float, row)) for row in data.get("curve") or [])
        except (TypeError, ValueError) as exc:
            raise CalibrationError(f"{CALIBRATION_FILE}: {exc}") from exc
        level = data.get("level")
        return cls(dict(data["temperatures"]), point, curve, None if level is None else str(level))

    def save(self, folder: Path) -> Path:
        path = Path(folder) / CALIBRATION_FILE
        path.write_text(json.dumps(self.to_json(), indent=1))
        return path


def load_calibration(folder: Path) -> Calibration | None:
    """The version's calibration; None when it ships none (served uncalibrated, as before)."""
    path = Path(folder) / CALIBRATION_FILE
    if not path.is_file():
        return None
    return Calibration.from_json(json.loads(path.read_text()))


def scaled(logits: Mapping[str, np.ndarray], calibration: Calibration | None) -> dict:
    """Logits divided by each head's temperature (unchanged without a calibration)."""
    if calibration is None:
        return dict(logits)
    return {
        head: np.asarray(values, dtype=np.float64) / calibration.temperature(head)
        for head, values in logits.items()
    }
