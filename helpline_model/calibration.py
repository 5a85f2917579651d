"""The calibration a model version ships (`calibration.json`) and its escalation operating point.

Written by training (training/calibration.py), copied into each model version by the export,
read by the gateway (client/core/model_bundle.py). Both parts are fitted on one labelled set:
a named fitting file (`training.cli train --calibration-data`; the demo build's hand-written
validation set) or else the validation split; `fitted_on` records which. The test split and
the hand-written EVALUATION set never choose anything.

* `temperatures`: one temperature per head; the gateway divides each chunk's logits by it
  before the softmax, so aggregation, bands and review flags see calibrated probabilities.
* `escalation`: the operating point on the probability of the most severe priority level:
  a decision rule and the highest threshold whose recall of that level on the fitting rows
  reaches `target_recall` under that rule, with the recall and false-alarm rate it reached.
* `curve`: the chosen rule's whole trade-off on the fitting rows, one point per distinct
  score: (threshold, recall, false-alarm rate); `curves`: one such curve per rule. The export
  re-chooses rule and point for another target recall from them
  (`helpline-export export --target-recall`) without needing the data again.

The decision rules (the gateway's, client/core/aggregation.py), for a threshold t:

* `vote_or_threshold`: most severe when the aggregated vote says so OR some chunk's probability
  of that level is >= t; a threshold can only add escalations. A case's score is 1.0 when the
  vote already says so, else the largest chunk probability of the level.
* `threshold`: most severe iff some chunk's probability of that level is >= t; a case the vote
  called most severe with no chunk reaching t gets the most probable other level. A case's
  score is the largest chunk probability of the level. This is the rule that can also REMOVE
  the false alarms of a vote that over-calls the most severe level.

A file without a rule (written before rules existed) means `vote_or_threshold`.

* `main_from_sub`: the weight w of the sub-category head in the main-category decision
  (client/core/aggregation.py, rule 2: main proportional to p_main^(1-w) * q^w, q the sub
  distribution's mass per main). 0 (the default, and every file without the field) is the
  main head alone. It is a recipe setting chosen on selection data (the demo build's:
  bench.main_from_sub), not fitted per file.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from helpline_model.layout import HEADS

CALIBRATION_FILE = "calibration.json"
DEFAULT_TARGET_RECALL = 0.95
SPLIT = "validation"
VOTE_OR_THRESHOLD = "vote_or_threshold"
THRESHOLD = "threshold"
# In order of preference on a tie: the rule that can only add escalations comes first.
RULES: tuple[str, ...] = (VOTE_OR_THRESHOLD, THRESHOLD)


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
    # The set the point was chosen on: "validation" or the fitting file's name.
    split: str = SPLIT
    rule: str = VOTE_OR_THRESHOLD

    def __post_init__(self) -> None:
        check_rule(self.rule)

    @property
    def reached(self) -> bool:
        return self.recall >= self.target_recall

    @property
    def recall_interval(self) -> tuple[float, float]:
        return wilson_interval(self.recall, self.n_positive)

    def describe(self) -> str:
        low, high = self.recall_interval
        return (
            f"rule {self.rule}, threshold {self.threshold:.4g} chosen on {self.split} for "
            f"most-severe recall >= {self.target_recall:g}: recall {self.recall:.3f} "
            f"({self.n_positive} cases, 95% interval {low:.3f}-{high:.3f}), "
            f"false alarms {self.false_alarm_rate:.3f} "
            f"({self.n_negative} cases)" + ("" if self.reached else " (target NOT reached)")
        )


def wilson_interval(share: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a share observed on n cases: what recall the fitting rows
    are consistent with. On the 46 urgent validation cases a recall of 0.957 is consistent
    with 0.85-0.99, so one set of that size cannot promise 0.95 on the next."""
    if n <= 0:
        return 0.0, 1.0
    centre = share + z * z / (2 * n)
    spread = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n))
    denominator = 1 + z * z / n
    return max(0.0, (centre - spread) / denominator), min(1.0, (centre + spread) / denominator)


def check_main_from_sub(weight: object) -> float:
    if isinstance(weight, bool) or not isinstance(weight, int | float):
        raise CalibrationError(f"main_from_sub must be a number, got {weight!r}")
    if not 0.0 <= weight <= 1.0:
        raise CalibrationError(f"main_from_sub must be within [0, 1], got {weight}")
    return float(weight)


def check_rule(rule: str) -> str:
    if rule not in RULES:
        raise CalibrationError(f"unknown escalation rule {rule!r}; rules are {list(RULES)}")
    return rule


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
    curve: Sequence[CurvePoint],
    target_recall: float,
    n_positive: int,
    n_negative: int,
    *,
    split: str = SPLIT,
    rule: str = VOTE_OR_THRESHOLD,
) -> OperatingPoint:
    """The highest threshold whose recall reaches the target; when none does, the point of the
    highest recall (its `reached` is False and the description says so).

    The threshold is set halfway between the chosen point's score and the next lower score on
    the curve (0 below the lowest): the same cases are flagged on these rows, but the last
    urgent case caught is no longer exactly at the threshold, where the numeric noise of
    another batch size or of the served int8 / bf16 graph would drop it below."""
    target = check_target_recall(target_recall)
    if not curve or n_positive == 0:
        raise CalibrationError(f"no most-severe case in {split}: nothing to choose")
    reaching = [p for p in curve if p.recall >= target]
    point = (
        max(reaching, key=lambda p: p.threshold)
        if reaching
        else max(curve, key=lambda p: (p.recall, p.threshold))
    )
    lower = [p.threshold for p in curve if p.threshold < point.threshold]
    return OperatingPoint(
        target_recall=target,
        threshold=(point.threshold + max(lower, default=0.0)) / 2,
        recall=point.recall,
        false_alarm_rate=point.false_alarm_rate,
        n_positive=n_positive,
        n_negative=n_negative,
        split=split,
        rule=check_rule(rule),
    )


def _preference(point: OperatingPoint) -> tuple:
    """Sort key, best first: reaching the target; then fewer false alarms (or, when the target
    is missed, more recall first); then the rule order of RULES (ties: vote_or_threshold)."""
    if point.reached:
        return (0, point.false_alarm_rate, RULES.index(point.rule))
    return (1, -point.recall, point.false_alarm_rate, RULES.index(point.rule))


def choose_rule(
    curves: Mapping[str, Sequence[CurvePoint]],
    target_recall: float,
    n_positive: int,
    n_negative: int,
    *,
    split: str = SPLIT,
) -> OperatingPoint:
    """Per rule, the highest threshold reaching the target (`choose_point`); kept: the rule
    whose point has the lower false-alarm rate on the fitting rows (ties: vote_or_threshold)."""
    if not curves:
        raise CalibrationError("no curve to choose a rule from")
    points = [
        choose_point(curves[rule], target_recall, n_positive, n_negative, split=split, rule=rule)
        for rule in RULES
        if rule in curves
    ]
    return min(points, key=_preference)


@dataclass(frozen=True)
class Calibration:
    temperatures: dict[str, float]
    escalation: OperatingPoint | None = None
    curve: tuple[CurvePoint, ...] = ()
    # The priority level the operating point is about (the most severe one).
    level: str | None = None
    # One curve per rule (empty in files written before rules existed: `curve` only).
    curves: dict[str, tuple[CurvePoint, ...]] = field(default_factory=dict)
    # What temperatures and point were fitted on: {"file", "sha256", "n", "n_most_severe"}
    # for a named file, {"split": "validation", ...} for the validation split.
    fitted_on: dict | None = None
    # Weight of the sub-category head in the main decision (module docstring).
    main_from_sub: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "main_from_sub", check_main_from_sub(self.main_from_sub))
        unknown = set(self.temperatures) - set(HEADS)
        if unknown:
            raise CalibrationError(f"temperatures for unknown heads {sorted(unknown)}")
        for head, value in self.temperatures.items():
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise CalibrationError(f"temperature of {head} must be > 0, got {value!r}")
        if self.escalation is not None and not 0.0 <= self.escalation.threshold <= 1.0:
            raise CalibrationError("escalation threshold must be within [0, 1]")
        for rule in self.curves:
            check_rule(rule)

    @property
    def rule(self) -> str:
        """The decision rule the gateway applies (vote_or_threshold without a point)."""
        return self.escalation.rule if self.escalation else VOTE_OR_THRESHOLD

    def temperature(self, head: str) -> float:
        return float(self.temperatures.get(head, 1.0))

    def with_target_recall(self, target_recall: float) -> Calibration:
        """The same calibration with rule and operating point re-chosen on the stored curves
        (a file with one curve only keeps its rule)."""
        old = self.escalation
        if old is None or not (self.curve or self.curves):
            raise CalibrationError("this calibration has no stored curve to choose from")
        curves = self.curves or {old.rule: self.curve}
        point = choose_rule(curves, target_recall, old.n_positive, old.n_negative, split=old.split)
        return dataclasses.replace(self, escalation=point, curve=tuple(curves[point.rule]))

    def to_json(self) -> dict:
        return {
            "temperatures": {h: round(t, 6) for h, t in self.temperatures.items()},
            "escalation": asdict(self.escalation) if self.escalation else None,
            "level": self.level,
            "fitted_on": self.fitted_on,
            "curve": _curve_json(self.curve),
            "curves": {rule: _curve_json(curve) for rule, curve in self.curves.items()},
            "main_from_sub": self.main_from_sub,
        }

    @classmethod
    def from_json(cls, data: object) -> Calibration:
        if not isinstance(data, dict) or not isinstance(data.get("temperatures"), dict):
            raise CalibrationError(f"{CALIBRATION_FILE} needs an object under 'temperatures'")
        try:
            escalation = data.get("escalation")
            point = OperatingPoint(**escalation) if escalation else None
            curve = _curve_of(data.get("curve"))
            stored = data.get("curves") or {}
            curves = {str(rule): _curve_of(rows) for rule, rows in stored.items()}
        except (TypeError, ValueError, AttributeError) as exc:
            raise CalibrationError(f"{CALIBRATION_FILE}: {exc}") from exc
        level = data.get("level")
        fitted_on = data.get("fitted_on")
        if fitted_on is not None and not isinstance(fitted_on, dict):
            raise CalibrationError(f"{CALIBRATION_FILE}: 'fitted_on' must be an object")
        return cls(
            dict(data["temperatures"]),
            point,
            curve,
            None if level is None else str(level),
            curves,
            fitted_on,
            data.get("main_from_sub", 0.0),
        )

    def save(self, folder: Path) -> Path:
        path = Path(folder) / CALIBRATION_FILE
        path.write_text(json.dumps(self.to_json(), indent=1))
        return path


def _curve_json(curve: Sequence[CurvePoint]) -> list[list[float]]:
    return [[p.threshold, p.recall, p.false_alarm_rate] for p in curve]


def _curve_of(rows: object) -> tuple[CurvePoint, ...]:
    return tuple(CurvePoint(*map(float, row)) for row in rows or [])


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
