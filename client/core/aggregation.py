"""Turn per-chunk head probabilities into one case result.

Rules, for a narrative of chunks c = 1..n with per-head softmax distributions p_c:

1. Vote. Per head, chunk c weighs w_c = token_count_c * max(p_c): long chunks and
   confident chunks count more. The case distribution is sum_c w_c p_c / sum_c w_c;
   the chosen label is its argmax and the reported confidence is its probability
   there (not a mean of per-chunk top probabilities, which overstates agreement).
   One chunk gives exactly its own distribution.
2. Main from both heads. With a sub -> main map and a version whose calibration.json sets
   `main_from_sub` = w > 0, the case's main distribution is proportional to
   p_main(m)^(1 - w) * q(m)^w, where q(m) is the voted sub distribution's mass on the subs
   mapped to m (a main with no sub mapped to it keeps q(m) = p_main(m)): the sub head's 60
   finer labels are a second reading of the main category. Label, confidence and top-k
   of main come from it. w = 0 (the default, and every file without the field) is the main
   head alone.
3. Sub-category consistent with main. With a sub -> main map, the sub distribution is
   restricted to the subs mapped to the chosen main and renormalized; the sub label,
   its confidence (so P(sub | main)), top-k and `sub_category_2` come from it, and
   `sub_mass_under_main` keeps the unrestricted mass of those subs. When no sub maps
   to the chosen main, the unrestricted distribution is used and `sub_fallback` is
   set. Without a map the distribution is unrestricted.
4. Top-k per head: the k most probable labels with probabilities (default k = 3).
5. Bands: high when confidence > 0.85, medium when >= 0.60, low below (configurable).
   `needs_review` is set when any head of `review_heads` (default all four) falls in
   one of `review_bands` (default only "low"); `review_triggers` names those heads.
6. Priority escalation. Severity comes from the model's `priority_severity.json`
   (`least_to_most_severe`, optional `escalation_threshold`, default 0.5), never from
   label names; a version's `calibration.json` replaces the threshold with the operating
   point chosen on validation for a target recall. A chunk whose probability of the most
   severe level is >= threshold escalates the case, whether or not that level is the chunk's
   argmax (a threshold below 0.5 is how a calibrated operating point catches urgent cases
   told in calm words; at 0.5 and above it implies the argmax): the case priority becomes
   that level, and the result names the triggering chunk (the most confident one, the first on a
   tie) and its probability. The priority confidence stays the case-level probability
   of the reported level, so an escalation the vote does not support lands in the
   low band and therefore in review. Without a severity file escalation is disabled
   and the result says so.
   The rule above is `vote_or_threshold` (the default, and the rule of every version whose
   calibration.json names none). A version whose calibration.json chose the `threshold`
   rule reports the most severe level iff some chunk reaches the threshold: when the vote
   says most severe and no chunk reaches it, the case is demoted to the most probable other
   level of the vote (`Escalation.demoted`; the reason says so), and that level's case
   probability is the reported confidence.
7. Per-chunk predictions: each chunk's own argmax label and probability per head
   (sub unrestricted), for the optional `chunk_predictions` field.

With a calibration (`helpline_model.calibration`), `aggregate_logits` divides each head's
chunk logits by the head's temperature before the softmax, so every rule above (vote, bands,
review, escalation) works on calibrated probabilities, and the calibration's `main_from_sub`
sets rule 2's weight.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from helpline_model.calibration import (
    THRESHOLD,
    VOTE_OR_THRESHOLD,
    Calibration,
    CalibrationError,
    check_main_from_sub,
    check_rule,
    scaled,
)
from helpline_model.layout import HEADS, SEVERITY_FILE, SUB_TO_MAIN_FILE, Labels

BANDS: tuple[str, ...] = ("high", "medium", "low")
DEFAULT_ESCALATION_THRESHOLD = 0.5


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax (float64)."""
    values = np.asarray(logits, dtype=np.float64)
    exp = np.exp(values - values.max(axis=axis, keepdims=True))
    return exp / exp.sum(axis=axis, keepdims=True)


def weighted_vote(probabilities: np.ndarray, token_counts: np.ndarray) -> np.ndarray:
    """Rule 1: sum_c w_c p_c / sum_c w_c with w_c = token_count_c * max(p_c)."""
    weights = np.asarray(token_counts, dtype=np.float64) * probabilities.max(axis=1)
    # Normalizing the weights first makes one chunk's weight exactly 1.0, so a
    # single chunk returns its own distribution bit for bit.
    weights = weights / weights.sum()
    return weights @ probabilities


@dataclass(frozen=True)
class LabelScore:
    label: str
    probability: float


@dataclass(frozen=True)
class AggregationConfig:
    top_k: int = 3
    high_above: float = 0.85
    medium_from: float = 0.60
    review_bands: tuple[str, ...] = ("low",)
    review_heads: tuple[str, ...] = HEADS

    def __post_init__(self) -> None:
        if self.top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {self.top_k}")
        if not 0.0 <= self.medium_from <= self.high_above <= 1.0:
            raise ValueError("band thresholds need 0 <= medium_from <= high_above <= 1")
        if unknown := set(self.review_bands) - set(BANDS):
            raise ValueError(f"unknown bands {sorted(unknown)}; bands are {BANDS}")
        if unknown := set(self.review_heads) - set(HEADS):
            raise ValueError(f"unknown heads {sorted(unknown)}; heads are {HEADS}")

    def band(self, confidence: float) -> str:
        if confidence > self.high_above:
            return "high"
        if confidence >= self.medium_from:
            return "medium"
        return "low"


@dataclass(frozen=True)
class Severity:
    """Priority levels ordered least to most severe, shipped with the model."""

    least_to_most_severe: tuple[str, ...]
    escalation_threshold: float = DEFAULT_ESCALATION_THRESHOLD
    # How the vote and the threshold combine (helpline_model.calibration.RULES); set from
    # the version's calibration.json, never from the severity file.
    rule: str = VOTE_OR_THRESHOLD

    def __post_init__(self) -> None:
        # JSON files hold priorities as integers (1, 2, 3); labels are strings.
        order = tuple(str(level) for level in self.least_to_most_severe)
        object.__setattr__(self, "least_to_most_severe", order)
        if not order:
            raise ValueError("least_to_most_severe must not be empty")
        if len(set(order)) != len(order):
            raise ValueError(f"least_to_most_severe has duplicates: {list(order)}")
        threshold = self.escalation_threshold
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            raise ValueError(f"escalation_threshold must be a number, got {threshold!r}")
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"escalation_threshold must be within [0, 1], got {threshold}")
        try:
            check_rule(self.rule)
        except CalibrationError as exc:
            raise ValueError(str(exc)) from None

    @property
    def most_severe(self) -> str:
        return self.least_to_most_severe[-1]

    @classmethod
    def from_json(cls, data: object) -> Severity:
        if not isinstance(data, dict) or not isinstance(data.get("least_to_most_severe"), list):
            raise ValueError(f"{SEVERITY_FILE} needs a list under 'least_to_most_severe'")
        threshold = data.get("escalation_threshold", DEFAULT_ESCALATION_THRESHOLD)
        return cls(tuple(data["least_to_most_severe"]), threshold)

    def check_labels(self, priority_labels: Sequence[str]) -> None:
        """The order must name exactly the model's priority labels."""
        if set(self.least_to_most_severe) != set(priority_labels):
            raise ValueError(
                f"severity order {list(self.least_to_most_severe)} does not match "
                f"the priority labels {list(priority_labels)}"
            )


def load_severity(folder: Path) -> Severity | None:
    """The model's severity configuration; None (escalation disabled) when not shipped."""
    path = Path(folder) / SEVERITY_FILE
    if not path.is_file():
        return None
    return Severity.from_json(json.loads(path.read_text()))


def load_sub_to_main(folder: Path) -> dict[str, str] | None:
    path = Path(folder) / SUB_TO_MAIN_FILE
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ValueError(f"{SUB_TO_MAIN_FILE} must map sub-category strings to main strings")
    return {str(k): v for k, v in data.items()}


def check_sub_to_main(sub_to_main: Mapping[str, str], labels: Labels) -> None:
    """Every key must be a sub label and every value a main label (exact, case-sensitive)."""
    unknown_subs = sorted(set(sub_to_main) - set(labels.sub))
    unknown_mains = sorted(set(sub_to_main.values()) - set(labels.main))
    if unknown_subs or unknown_mains:
        raise ValueError(
            f"{SUB_TO_MAIN_FILE} does not match the labels: unknown subs {unknown_subs}, "
            f"unknown mains {unknown_mains}"
        )


@dataclass(frozen=True, eq=False)
class HeadResult:
    head: str
    label: str
    confidence: float
    band: str
    top_k: tuple[LabelScore, ...]
    # Case-level distribution the label was read from (restricted for a restricted sub).
    distribution: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class Escalation:
    enabled: bool
    escalated: bool
    voted_level: str  # priority chosen by the vote, before escalation
    level: str | None  # most severe level; None when disabled
    threshold: float | None
    chunk_index: int | None  # triggering chunk
    chunk_confidence: float | None
    reason: str
    rule: str | None = None  # None when disabled
    # `threshold` rule: the vote said most severe, no chunk reached the threshold.
    demoted: bool = False


@dataclass(frozen=True)
class ChunkPrediction:
    index: int
    token_count: int
    labels: dict[str, str]
    confidences: dict[str, float]


@dataclass(frozen=True, eq=False)
class CaseResult:
    heads: dict[str, HeadResult]
    sub_category_2: LabelScore | None
    sub_restricted_to_main: bool
    sub_fallback: bool  # a map was given but no sub maps to the chosen main
    sub_mass_under_main: float | None
    escalation: Escalation
    needs_review: bool
    review_triggers: tuple[str, ...]
    chunk_predictions: tuple[ChunkPrediction, ...]

    def label(self, head: str) -> str:
        return self.heads[head].label

    def confidence(self, head: str) -> float:
        return self.heads[head].confidence

    @property
    def n_chunks(self) -> int:
        return len(self.chunk_predictions)


def _check_inputs(
    probabilities: Mapping[str, np.ndarray], token_counts: Sequence[int], labels: Labels
) -> int:
    missing = [head for head in HEADS if head not in probabilities]
    if missing:
        raise ValueError(f"probabilities missing for heads {missing}")
    n_chunks = len(token_counts)
    if n_chunks == 0:
        raise ValueError("at least one chunk is required")
    if any(int(count) < 1 for count in token_counts):
        raise ValueError("every chunk needs a positive token count")
    for head in HEADS:
        probs = probabilities[head]
        expected = (n_chunks, len(labels.for_head(head)))
        if probs.shape != expected:
            raise ValueError(f"{head}: probabilities of shape {probs.shape}, expected {expected}")
        if not np.all(np.isfinite(probs)) or np.any(probs < 0):
            raise ValueError(f"{head}: probabilities must be finite and non-negative")
        if not np.allclose(probs.sum(axis=1), 1.0, atol=1e-3):
            raise ValueError(f"{head}: rows must sum to 1 (apply softmax to logits first)")
    return n_chunks


def _ranking(
    distribution: np.ndarray, names: Sequence[str], k: int, allowed: np.ndarray | None = None
) -> tuple[LabelScore, ...]:
    order = np.argsort(-distribution, kind="stable")
    if allowed is not None:
        order = order[allowed[order]]
    return tuple(LabelScore(names[i], float(distribution[i])) for i in order[:k])


def main_with_sub_mass(
    main_distribution: np.ndarray,
    sub_distribution: np.ndarray,
    labels: Labels,
    sub_to_main: Mapping[str, str],
    weight: float,
) -> np.ndarray:
    """Rule 2: the main distribution proportional to p_main^(1 - weight) * q^weight, q being
    the sub distribution's mass per main (p_main itself for a main no sub maps to)."""
    if weight == 0.0:
        return main_distribution
    index = {name: i for i, name in enumerate(labels.main)}
    mass = np.zeros(len(labels.main))
    has_sub = np.zeros(len(labels.main), dtype=bool)
    for sub, p in zip(labels.sub, sub_distribution, strict=True):
        main = sub_to_main.get(sub)
        if main in index:
            mass[index[main]] += p
            has_sub[index[main]] = True
    mass = np.where(has_sub, mass, main_distribution)
    # Logs, so that two small probabilities do not underflow to a 0/0 before normalizing.
    tiny = np.finfo(np.float64).tiny
    score = (1.0 - weight) * np.log(np.maximum(main_distribution, tiny)) + weight * np.log(
        np.maximum(mass, tiny)
    )
    return softmax(score)


def _restrict_sub(
    sub_distribution: np.ndarray,
    sub_labels: Sequence[str],
    sub_to_main: Mapping[str, str],
    main_label: str,
) -> tuple[np.ndarray, np.ndarray | None, float | None]:
    """(distribution, allowed mask, mass under main); mask None means fallback."""
    allowed = np.array([sub_to_main.get(sub) == main_label for sub in sub_labels])
    if not allowed.any():
        return sub_distribution, None, None
    mass = float(sub_distribution[allowed].sum())
    if mass > 0.0:
        restricted = np.where(allowed, sub_distribution, 0.0) / mass
    else:
        # All mass underflowed to zero: no preference among the allowed subs.
        restricted = allowed / allowed.sum()
    return restricted, allowed, mass


def _escalation(
    chunk_probs: np.ndarray,
    priority_labels: Sequence[str],
    severity: Severity | None,
    voted_level: str,
) -> Escalation:
    if severity is None:
        return Escalation(
            enabled=False,
            escalated=False,
            voted_level=voted_level,
            level=None,
            threshold=None,
            chunk_index=None,
            chunk_confidence=None,
            reason=f"no {SEVERITY_FILE} shipped with the model: escalation disabled "
            "(severity is never guessed from label names)",
        )
    severity.check_labels(priority_labels)
    top = list(priority_labels).index(severity.most_severe)
    confidence = chunk_probs[:, top]
    fired = confidence >= severity.escalation_threshold
    level, threshold = severity.most_severe, severity.escalation_threshold
    common = {
        "enabled": True,
        "voted_level": voted_level,
        "level": level,
        "threshold": float(threshold),
        "rule": severity.rule,
    }
    if not fired.any():
        below = f"no chunk predicts {level!r} with probability >= {threshold}"
        if severity.rule == THRESHOLD and voted_level == level:
            return Escalation(
                escalated=False,
                chunk_index=None,
                chunk_confidence=None,
                reason=f"demoted by rule {THRESHOLD!r}: the vote said {level!r} but {below} "
                f"(highest {float(confidence.max()):.3f}); reported the most probable other level",
                demoted=True,
                **common,
            )
        return Escalation(
            escalated=False,
            chunk_index=None,
            chunk_confidence=None,
            reason=below,
            **common,
        )
    # argmax returns the first index among equals: the earliest most confident chunk.
    chunk = int(np.argmax(np.where(fired, confidence, -1.0)))
    return Escalation(
        escalated=True,
        chunk_index=chunk,
        chunk_confidence=float(confidence[chunk]),
        reason=f"chunk {chunk} predicts {level!r} with probability "
        f"{float(confidence[chunk]):.3f} >= {threshold}",
        **common,
    )


def _most_probable_other(distribution: np.ndarray, excluded: int) -> int:
    """argmax of the distribution without `excluded` (the first on a tie)."""
    return int(np.argmax(np.where(np.arange(len(distribution)) == excluded, -1.0, distribution)))


def _chunk_predictions(
    probabilities: Mapping[str, np.ndarray], token_counts: Sequence[int], labels: Labels
) -> tuple[ChunkPrediction, ...]:
    best = {head: probabilities[head].argmax(axis=1) for head in HEADS}
    return tuple(
        ChunkPrediction(
            index=c,
            token_count=int(count),
            labels={head: labels.for_head(head)[int(best[head][c])] for head in HEADS},
            confidences={head: float(probabilities[head][c, best[head][c]]) for head in HEADS},
        )
        for c, count in enumerate(token_counts)
    )


def aggregate(
    probabilities: Mapping[str, np.ndarray],
    token_counts: Sequence[int],
    labels: Labels,
    *,
    sub_to_main: Mapping[str, str] | None = None,
    severity: Severity | None = None,
    config: AggregationConfig | None = None,
    main_from_sub: float = 0.0,
) -> CaseResult:
    """Case result from per-chunk probabilities `{head: (n_chunks, n_labels)}`;
    `main_from_sub`: rule 2's weight (used only with a sub -> main map)."""
    config = config or AggregationConfig()
    check_main_from_sub(main_from_sub)
    _check_inputs(probabilities, token_counts, labels)
    counts = np.asarray(token_counts, dtype=np.float64)
    voted = {head: weighted_vote(probabilities[head], counts) for head in HEADS}
    if sub_to_main is not None:
        voted["main"] = main_with_sub_mass(
            voted["main"], voted["sub"], labels, sub_to_main, main_from_sub
        )

    chosen: dict[str, int] = {head: int(np.argmax(voted[head])) for head in HEADS}
    distributions = dict(voted)
    allowed: np.ndarray | None = None
    mass: float | None = None
    fallback = False
    if sub_to_main is not None:
        main_label = labels.main[chosen["main"]]
        distribution, allowed, mass = _restrict_sub(
            voted["sub"], labels.sub, sub_to_main, main_label
        )
        fallback = allowed is None
        distributions["sub"] = distribution
        chosen["sub"] = int(np.argmax(distribution))

    voted_level = labels.priority[chosen["priority"]]
    escalation = _escalation(probabilities["priority"], labels.priority, severity, voted_level)
    if escalation.escalated:
        chosen["priority"] = labels.priority.index(escalation.level)
    elif escalation.demoted:
        top = labels.priority.index(escalation.level)
        chosen["priority"] = _most_probable_other(voted["priority"], top)

    heads: dict[str, HeadResult] = {}
    for head in HEADS:
        names = labels.for_head(head)
        distribution = distributions[head]
        confidence = float(distribution[chosen[head]])
        heads[head] = HeadResult(
            head=head,
            label=names[chosen[head]],
            confidence=confidence,
            band=config.band(confidence),
            top_k=_ranking(distribution, names, config.top_k, allowed if head == "sub" else None),
            distribution=distribution,
        )

    sub_ranking = _ranking(distributions["sub"], labels.sub, 2, allowed)
    triggers = tuple(
        head
        for head in HEADS
        if head in config.review_heads and heads[head].band in config.review_bands
    )
    return CaseResult(
        heads=heads,
        sub_category_2=sub_ranking[1] if len(sub_ranking) > 1 else None,
        sub_restricted_to_main=allowed is not None,
        sub_fallback=fallback,
        sub_mass_under_main=mass,
        escalation=escalation,
        needs_review=bool(triggers),
        review_triggers=triggers,
        chunk_predictions=_chunk_predictions(probabilities, token_counts, labels),
    )


def aggregate_logits(
    logits: Mapping[str, np.ndarray],
    token_counts: Sequence[int],
    labels: Labels,
    *,
    sub_to_main: Mapping[str, str] | None = None,
    severity: Severity | None = None,
    config: AggregationConfig | None = None,
    calibration: Calibration | None = None,
) -> CaseResult:
    """`aggregate` on raw model outputs `{head: (n_chunks, n_labels) logits}`, each head's
    logits divided by its temperature first, and main decided with the calibration's
    `main_from_sub` weight (rule 2), when a calibration is given."""
    probabilities = {head: softmax(values) for head, values in scaled(logits, calibration).items()}
    return aggregate(
        probabilities,
        token_counts,
        labels,
        sub_to_main=sub_to_main,
        severity=severity,
        config=config,
        main_from_sub=calibration.main_from_sub if calibration else 0.0,
    )
