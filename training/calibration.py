"""Fit a model version's calibration on one labelled fitting set: a named file
(`training.cli train --calibration-data`, the demo build's hand-written validation set) or
else the validation split. Never the test split, never the hand-written evaluation set (a
fitting file with its path, its bytes or any of its narratives is refused).

1. Temperature scaling per head: T minimises the negative log-likelihood of the fitting
   chunks' labels under softmax(logits / T) (one scalar per head, so the argmax, and with it
   every accuracy figure, is unchanged; only the confidences move).
2. The escalation operating point: with the calibrated probabilities and the gateway's own
   aggregation, per decision rule (`vote_or_threshold`, `threshold`) the highest threshold on
   P(most severe level) whose recall of that level on the fitting rows reaches the target;
   kept, the rule with fewer false alarms there (helpline_model/calibration.py defines rules,
   scores and curves).

Also here: expected calibration error and reliability bins for the report, and the summary
of a labelled set at the shipped operating point (the per-build hand-written report).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from client.core.aggregation import Severity, aggregate_logits, softmax
from helpline_model.calibration import (
    DEFAULT_TARGET_RECALL,
    RULES,
    SPLIT,
    VOTE_OR_THRESHOLD,
    Calibration,
    CalibrationError,
    choose_point,
    choose_rule,
    load_calibration,
    operating_curve,
)
from helpline_model.layout import HEAD_FIELDS, HEADS, Labels
from training.served import CaseLogits, chunk_logits

# Only ever evaluated: never a fitting set (see `check_not_evaluation_set`).
EVALUATION_SET = Path(__file__).resolve().parents[1] / "data" / "handwritten_eval.jsonl"
ECE_BINS = 15
# log T is searched in [-3, 3]: temperatures from 0.05 to 20 cover any sane network.
LOG_T_BOUNDS = (-3.0, 3.0)


def _nll(logits: np.ndarray, targets: np.ndarray, temperature: float) -> float:
    scaled = logits / temperature
    shifted = scaled - scaled.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1))
    return float(np.mean(log_norm - shifted[np.arange(len(targets)), targets]))


def fit_temperature(logits: np.ndarray, targets: Sequence[int]) -> float:
    """The temperature minimising the mean NLL of `targets` under softmax(logits / T)."""
    from scipy.optimize import minimize_scalar

    values = np.asarray(logits, dtype=np.float64)
    truth = np.asarray(targets, dtype=np.int64)
    if values.ndim != 2 or len(values) != len(truth) or not len(truth):
        raise CalibrationError("temperature fitting needs (n, k) logits and n targets, n > 0")
    # The NLL is convex in 1/T; bounded search on log T is robust and needs no gradient.
    result = minimize_scalar(
        lambda log_t: _nll(values, truth, math.exp(log_t)),
        bounds=LOG_T_BOUNDS,
        method="bounded",
        options={"xatol": 1e-5},
    )
    return float(math.exp(result.x))


def reliability(
    probabilities: np.ndarray, targets: Sequence[int], n_bins: int = ECE_BINS
) -> list[dict]:
    """Equal-width bins of top-label confidence: count, mean confidence, accuracy."""
    probs = np.asarray(probabilities, dtype=np.float64)
    truth = np.asarray(targets, dtype=np.int64)
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == truth
    # Bin i holds (i/n, (i+1)/n]; a confidence of exactly 0 (impossible for a softmax) joins bin 0.
    index = np.clip(np.ceil(confidence * n_bins).astype(int) - 1, 0, n_bins - 1)
    bins = []
    for i in range(n_bins):
        members = index == i
        count = int(members.sum())
        bins.append(
            {
                "low": i / n_bins,
                "high": (i + 1) / n_bins,
                "count": count,
                "confidence": float(confidence[members].mean()) if count else None,
                "accuracy": float(correct[members].mean()) if count else None,
            }
        )
    return bins


def expected_calibration_error(
    probabilities: np.ndarray, targets: Sequence[int], n_bins: int = ECE_BINS
) -> float:
    """sum over bins of (bin share) * |accuracy - mean confidence| (top-label ECE)."""
    bins = reliability(probabilities, targets, n_bins)
    n = sum(b["count"] for b in bins)
    if not n:
        raise CalibrationError("no rows to measure calibration on")
    return float(
        sum(b["count"] / n * abs(b["accuracy"] - b["confidence"]) for b in bins if b["count"])
    )


def _targets(rows: Sequence[Mapping], labels: Labels, head: str) -> np.ndarray:
    index = {name: i for i, name in enumerate(labels.for_head(head))}
    return np.array([index[str(row[HEAD_FIELDS[head]])] for row in rows], dtype=np.int64)


def stacked_chunks(
    cases: Sequence[CaseLogits], targets: np.ndarray, head: str
) -> tuple[np.ndarray, np.ndarray]:
    """Every chunk's logits of `head` with its narrative's label (each chunk is scored)."""
    logits = np.concatenate([case.logits[head] for case in cases])
    repeated = np.repeat(targets, [len(case.token_counts) for case in cases])
    return logits, repeated


def escalation_scores(
    cases: Sequence[CaseLogits],
    labels: Labels,
    severity: Severity,
    calibration: Calibration | None,
    sub_to_main: Mapping[str, str] | None = None,
    rule: str = VOTE_OR_THRESHOLD,
) -> np.ndarray:
    """Per case, what the escalation threshold is compared to under `rule`: the largest
    calibrated chunk probability of the most severe level, or (`vote_or_threshold`) 1.0 when
    the gateway's vote already reports that level."""
    top = labels.priority.index(severity.most_severe)
    scale = calibration.temperature("priority") if calibration else 1.0
    # Only the vote is read from this aggregation (voted_level comes before escalation).
    never = Severity(severity.least_to_most_severe, 1.0)
    scores = []
    for case in cases:
        if rule == VOTE_OR_THRESHOLD:
            result = aggregate_logits(
                case.logits,
                case.token_counts,
                labels,
                sub_to_main=sub_to_main,
                severity=never,
                calibration=calibration,
            )
            if result.escalation.voted_level == severity.most_severe:
                scores.append(1.0)
                continue
        scores.append(float(softmax(case.logits["priority"] / scale)[:, top].max()))
    return np.asarray(scores)


def calibration_metrics(
    cases: Sequence[CaseLogits],
    rows: Sequence[Mapping],
    labels: Labels,
    calibration: Calibration | None,
) -> dict:
    """Per head, over the chunks: ECE and reliability bins with the given calibration."""
    out = {}
    for head in HEADS:
        logits, targets = stacked_chunks(cases, _targets(rows, labels, head), head)
        scale = calibration.temperature(head) if calibration else 1.0
        probs = softmax(logits / scale)
        out[head] = {
            "ece": expected_calibration_error(probs, targets),
            "reliability": reliability(probs, targets),
            "n_chunks": int(len(targets)),
        }
    return out


def fit_calibration(
    cases: Sequence[CaseLogits],
    rows: Sequence[Mapping],
    labels: Labels,
    severity: Severity | None,
    *,
    target_recall: float = DEFAULT_TARGET_RECALL,
    sub_to_main: Mapping[str, str] | None = None,
    fitted_on: Mapping | None = None,
    main_from_sub: float = 0.0,
) -> tuple[Calibration, dict]:
    """(calibration, report) from the FITTING rows' chunk logits and labels (the validation
    split unless `fitted_on` names a file, see `FittingSet`). Without a severity order, or
    without a most-severe case, only the temperatures are fitted. `main_from_sub` is stored
    as given (a recipe setting, helpline_model.calibration)."""
    if len(cases) != len(rows) or not rows:
        raise CalibrationError("calibration needs the chunk logits of every fitting row")
    source = dict(fitted_on or {"split": SPLIT})
    source["n"] = len(rows)
    split = str(source.get("file", source.get("split", SPLIT)))
    positive = None
    if severity is not None:
        positive = np.array([str(r[HEAD_FIELDS["priority"]]) == severity.most_severe for r in rows])
        source["n_most_severe"] = int(positive.sum())
    temperatures = {}
    for head in HEADS:
        logits, targets = stacked_chunks(cases, _targets(rows, labels, head), head)
        temperatures[head] = fit_temperature(logits, targets)
    calibration = Calibration(temperatures, fitted_on=source, main_from_sub=main_from_sub)
    report: dict = {
        "split": split,
        "fitted_on": source,
        "n": len(rows),
        "temperatures": temperatures,
        "before": calibration_metrics(cases, rows, labels, None),
        "after": calibration_metrics(cases, rows, labels, calibration),
        "escalation": None,
    }
    if severity is None or positive is None:
        report["escalation_skipped"] = "no severity order"
        return calibration, report
    if not positive.any():
        report["escalation_skipped"] = f"no {severity.most_severe!r} case in {split}"
        return calibration, report
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    curves = {
        rule: tuple(
            operating_curve(
                escalation_scores(cases, labels, severity, calibration, sub_to_main, rule),
                positive,
            )
        )
        for rule in RULES
    }
    point = choose_rule(curves, target_recall, n_pos, n_neg, split=split)
    calibration = Calibration(
        temperatures, point, curves[point.rule], severity.most_severe, curves, source, main_from_sub
    )
    report["escalation"] = point.describe()
    report["rules"] = {
        rule: choose_point(
            curves[rule], target_recall, n_pos, n_neg, split=split, rule=rule
        ).describe()
        for rule in RULES
    }
    return calibration, report


def normalized_narrative(narrative: str) -> str:
    """Whitespace and case aside: what makes two narratives "the same text"."""
    return " ".join(narrative.split()).casefold()


def normalized_narratives(path: Path) -> set[str]:
    from training.data import read_records

    return {
        normalized_narrative(str(r["narrative"]))
        for r in read_records(path)
        if isinstance(r.get("narrative"), str)
    }


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def check_not_evaluation_set(path: Path, evaluation: Path = EVALUATION_SET) -> None:
    """Refuse (CalibrationError) a fitting file that is the evaluation set: the same path, the
    same bytes, or any narrative in common (whitespace and case aside). Fitting on it would
    make every figure reported on it meaningless."""
    path, evaluation = Path(path), Path(evaluation)
    if not evaluation.is_file():
        return
    why = None
    if path.resolve() == evaluation.resolve():
        why = "is the evaluation set"
    elif sha256_of(path) == sha256_of(evaluation):
        why = f"has the same sha256 as the evaluation set {evaluation.name}"
    else:
        shared = normalized_narratives(path) & normalized_narratives(evaluation)
        if shared:
            why = f"shares {len(shared)} narrative(s) with the evaluation set {evaluation.name}"
    if why:
        raise CalibrationError(
            f"refusing to fit calibration on {path}: it {why}, which is only ever evaluated, "
            "never used to fit or choose anything"
        )


@dataclass(frozen=True)
class FittingSet:
    """A named labelled file to fit temperatures and the operating point on, its labels
    cleaned onto the model's vocabulary as for training."""

    examples: list
    fitted_on: dict


def load_fitting_set(path: Path, vocab, evaluation: Path = EVALUATION_SET) -> FittingSet:
    """`path` read and cleaned with `vocab` (a `training.data.LabelVocabulary`), after
    `check_not_evaluation_set`; refused when no row survives cleaning."""
    from training.data import load_dataset

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"calibration data {path} not found")
    check_not_evaluation_set(path, evaluation)
    dataset = load_dataset(path, vocab)
    if not dataset.examples:
        raise CalibrationError(f"no usable row in calibration data {path}")
    return FittingSet(
        examples=list(dataset.examples),
        fitted_on={
            "file": path.name,
            "sha256": sha256_of(path),
            "n": len(dataset.examples),
            "rejected": dataset.report.n_rejected,
        },
    )


def refit_checkpoint(
    folder: Path,
    data: Path,
    *,
    target_recall: float = DEFAULT_TARGET_RECALL,
    batch_size: int = 32,
    main_from_sub: float | None = None,
) -> tuple[Calibration, dict]:
    """Refit an existing checkpoint's calibration.json on the labelled file `data` (refused when
    it is the evaluation set), without training: the served chunking, the checkpoint's severity
    order and sub -> main map. Also replaces the calibration report in training_info.json, which
    the export copies into the version's metadata. `main_from_sub` None keeps the
    checkpoint's current weight (0 without a calibration.json)."""
    import json

    from client.core.tokenization import NarrativeTokenizer
    from helpline_model.checkpoint import load_checkpoint
    from helpline_model.layout import TRAINING_INFO_FILE, trained_max_length
    from training.data import LabelVocabulary
    from training.rows import example_rows
    from training.served import served_settings

    checkpoint = load_checkpoint(folder)
    fitting = load_fitting_set(data, LabelVocabulary.from_checkpoint(checkpoint.folder))
    max_length = trained_max_length(checkpoint.folder) or checkpoint.max_length
    cases = chunk_logits(
        checkpoint.model,
        NarrativeTokenizer(checkpoint.folder),
        [e.narrative for e in fitting.examples],
        min(int(max_length), checkpoint.max_length),
        batch_size=batch_size,
    )
    # The severity order only: the threshold and rule are what is being chosen.
    sub_to_main, severity, _ = served_settings(checkpoint.folder, False)
    if main_from_sub is None:
        current = load_calibration(checkpoint.folder)
        main_from_sub = current.main_from_sub if current else 0.0
    calibration, report = fit_calibration(
        cases,
        example_rows(fitting.examples),
        checkpoint.labels,
        severity,
        target_recall=target_recall,
        sub_to_main=sub_to_main,
        fitted_on=fitting.fitted_on,
        main_from_sub=main_from_sub,
    )
    calibration.save(checkpoint.folder)
    info_path = checkpoint.folder / TRAINING_INFO_FILE
    if info_path.is_file():
        info = json.loads(info_path.read_text())
        info["calibration"] = report
        info_path.write_text(json.dumps(info, indent=1))
    return calibration, report


def _share(flagged: np.ndarray, among: np.ndarray) -> float | None:
    """Share of the `among` cases that are flagged; None when there are none."""
    return float((flagged & among).sum() / among.sum()) if among.any() else None


def set_summary(
    results: Sequence,
    rows: Sequence[Mapping],
    cases: Sequence[CaseLogits],
    labels: Labels,
    calibration: Calibration | None,
    most_severe: str | None,
) -> dict:
    """A labelled set at the shipped operating point: main / sub accuracy, most-severe recall
    and false-alarm rate (reported priority, i.e. after escalation), ECE per head (chunks) and
    of the reported main probability per case (`ece_served_main`: what bands and review
    flags read, after the vote and the sub head's weight)."""

    def accuracy(head: str) -> float:
        key = HEAD_FIELDS[head]
        pairs = zip(results, rows, strict=True)
        return float(np.mean([r.label(head) == str(row[key]) for r, row in pairs]))

    metrics = calibration_metrics(cases, rows, labels, calibration)
    summary: dict = {
        "n": len(rows),
        "main_accuracy": accuracy("main"),
        "sub_accuracy": accuracy("sub"),
        "priority_accuracy": accuracy("priority"),
        "ece": {head: m["ece"] for head, m in metrics.items()},
        "ece_served_main": expected_calibration_error(
            np.array([r.heads["main"].distribution for r in results]),
            _targets(rows, labels, "main"),
        ),
    }
    if most_severe is not None:
        truth = np.array([str(row[HEAD_FIELDS["priority"]]) == most_severe for row in rows])
        flagged = np.array([r.label("priority") == most_severe for r in results])
        summary.update(
            most_severe=most_severe,
            n_most_severe=int(truth.sum()),
            most_severe_recall=_share(flagged, truth),
            false_alarm_rate=_share(flagged, ~truth),
            escalation_threshold=results[0].escalation.threshold if results else None,
            escalation_rule=results[0].escalation.rule if results else None,
        )
    return summary


def checkpoint_set_report(
    folder,
    rows: Sequence[Mapping],
    *,
    max_length: int | None = None,
    batch_size: int = 32,
    progress=None,
) -> tuple[dict, list]:
    """A checkpoint on labelled rows, as served: the summary at the shipped operating point,
    the same uncalibrated (temperature 1, the severity file's threshold), per-head ECE and
    reliability before / after calibration, and the most-severe recall / false-alarm curve on
    these rows with the validation curve and chosen point from calibration.json. Returns
    (report, the served `CaseResult` per row)."""
    from client.core.tokenization import NarrativeTokenizer
    from helpline_model.checkpoint import load_checkpoint
    from helpline_model.layout import trained_max_length
    from training.served import served_settings

    checkpoint = load_checkpoint(folder)
    labels = checkpoint.labels
    max_length = max_length or trained_max_length(checkpoint.folder) or checkpoint.max_length
    max_length = min(int(max_length), checkpoint.max_length)
    narratives = [str(r["narrative"]) for r in rows]
    tokenizer = NarrativeTokenizer(checkpoint.folder)
    cases = chunk_logits(
        checkpoint.model,
        tokenizer,
        narratives,
        max_length,
        batch_size=batch_size,
        **({"progress": progress} if progress else {}),
    )
    sub_to_main, severity, calibration = served_settings(checkpoint.folder, True)
    _, plain_severity, _ = served_settings(checkpoint.folder, False)
    most_severe = severity.most_severe if severity else None

    def results(sev: Severity | None, cal: Calibration | None) -> list:
        return [
            aggregate_logits(
                case.logits,
                case.token_counts,
                labels,
                sub_to_main=sub_to_main,
                severity=sev,
                calibration=cal,
            )
            for case in cases
        ]

    shipped = results(severity, calibration)
    report: dict = {
        "n": len(rows),
        "calibrated": calibration is not None,
        "shipped": set_summary(shipped, rows, cases, labels, calibration, most_severe),
        "uncalibrated": set_summary(
            results(plain_severity, None), rows, cases, labels, None, most_severe
        ),
        "before": calibration_metrics(cases, rows, labels, None),
        "after": calibration_metrics(cases, rows, labels, calibration) if calibration else None,
        "operating_point": None,
        "validation_curve": None,
        "curve": None,
    }
    if calibration is not None and calibration.escalation is not None:
        point = calibration.escalation
        report["operating_point"] = {**point.__dict__, "description": point.describe()}
        report["validation_curve"] = [list(p.__dict__.values()) for p in calibration.curve]
    if severity is not None:
        truth = np.array([str(r[HEAD_FIELDS["priority"]]) == severity.most_severe for r in rows])
        if truth.any():
            # The curve of the rule the version serves.
            scores = escalation_scores(
                cases, labels, severity, calibration, sub_to_main, severity.rule
            )
            report["curve"] = [
                [p.threshold, p.recall, p.false_alarm_rate] for p in operating_curve(scores, truth)
            ]
    return report, shipped
