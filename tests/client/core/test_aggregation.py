import json
from pathlib import Path

import numpy as np
import pytest

from client.core.aggregation import (
    AggregationConfig,
    CaseResult,
    Severity,
    aggregate,
    aggregate_logits,
    check_sub_to_main,
    load_severity,
    load_sub_to_main,
    softmax,
    weighted_vote,
)
from helpline_model.layout import HEADS, Labels

LABELS = Labels(
    main=["A", "B"],
    sub=["a1", "a2", "b1", "b2"],
    intervention=["X", "Y"],
    priority=["1", "2", "3"],
)
SUB_TO_MAIN = {"a1": "A", "a2": "A", "b1": "B", "b2": "B"}
ONE_TO_THREE = Severity(("1", "2", "3"))  # "3" most severe
THREE_TO_ONE = Severity(("3", "2", "1"))  # "1" most severe


def probs(**rows: list[list[float]]) -> dict[str, np.ndarray]:
    """Per-head chunk probabilities; heads not given are confident and uniform across chunks."""
    n = len(next(iter(rows.values())))
    defaults = {
        "main": [[0.95, 0.05]] * n,
        "sub": [[0.9, 0.05, 0.03, 0.02]] * n,
        "intervention": [[0.95, 0.05]] * n,
        "priority": [[0.9, 0.05, 0.05]] * n,
    }
    defaults.update(rows)
    return {head: np.array(defaults[head], dtype=np.float64) for head in HEADS}


def run(p: dict[str, np.ndarray], counts: list[int], **kwargs: object) -> CaseResult:
    return aggregate(p, counts, LABELS, **kwargs)


# --- softmax and voting ---------------------------------------------------------------


def test_softmax_is_stable_and_normalized() -> None:
    out = softmax(np.array([[1000.0, 1001.0, 1002.0], [-1000.0, 0.0, 1000.0]]))
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    expected = np.exp([0.0, 1.0, 2.0]) / np.exp([0.0, 1.0, 2.0]).sum()
    np.testing.assert_allclose(out[0], expected)
    assert out[1].argmax() == 2


def test_vote_hand_computed() -> None:
    # weights 100 * 0.9 = 90 and 50 * 0.8 = 40: A = (90*0.9 + 40*0.2) / 130 = 89/130
    p = probs(main=[[0.9, 0.1], [0.2, 0.8]])
    result = run(p, [100, 50])
    assert result.label("main") == "A"
    assert result.confidence("main") == pytest.approx(89 / 130)
    assert result.confidence("main") != pytest.approx((0.9 + 0.8) / 2)  # not a mean of tops
    np.testing.assert_allclose(result.heads["main"].distribution, [89 / 130, 41 / 130])


def test_token_count_changes_the_winner() -> None:
    p = probs(main=[[0.9, 0.1], [0.3, 0.7]])
    # Equal lengths: weights 0.9, 0.7 -> A = (0.81 + 0.21) / 1.6 = 0.6375
    equal = run(p, [10, 10])
    assert equal.label("main") == "A"
    assert equal.confidence("main") == pytest.approx(0.6375)
    # Long second chunk: weights 9, 70 -> A = (8.1 + 21) / 79
    weighted = run(p, [10, 100])
    assert weighted.label("main") == "B"
    assert weighted.confidence("main") == pytest.approx(1 - 29.1 / 79)


def test_confident_chunk_outweighs_unsure_majority() -> None:
    # Two unsure chunks vote B, one confident chunk votes A; weights 0.99, 0.51, 0.51.
    p = probs(main=[[0.99, 0.01], [0.49, 0.51], [0.49, 0.51]])
    result = run(p, [10, 10, 10])
    expected_a = (0.99 * 0.99 + 2 * 0.51 * 0.49) / (0.99 + 2 * 0.51)
    assert result.label("main") == "A"
    assert result.confidence("main") == pytest.approx(expected_a)


def test_single_chunk_is_exactly_its_own_distribution() -> None:
    p = probs(main=[[0.3, 0.7]], sub=[[0.1, 0.2, 0.3, 0.4]], priority=[[0.2, 0.3, 0.5]])
    result = run(p, [37])
    for head in HEADS:
        np.testing.assert_array_equal(result.heads[head].distribution, p[head][0])
    np.testing.assert_array_equal(weighted_vote(p["sub"], np.array([37])), p["sub"][0])


def test_top_k_and_chunk_predictions() -> None:
    p = probs(sub=[[0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4]])
    result = run(p, [5, 7], config=AggregationConfig(top_k=3))
    top = result.heads["sub"].top_k
    assert [s.label for s in top] == ["b2", "b1", "a2"]
    assert [s.probability for s in top] == pytest.approx([0.4, 0.3, 0.2])
    assert len(run(p, [5, 7], config=AggregationConfig(top_k=10)).heads["priority"].top_k) == 3
    assert result.n_chunks == 2
    first = result.chunk_predictions[0]
    assert (first.index, first.token_count) == (0, 5)
    assert first.labels == {"main": "A", "sub": "b2", "intervention": "X", "priority": "1"}
    assert first.confidences["sub"] == pytest.approx(0.4)


def test_aggregate_logits_applies_softmax() -> None:
    logits = {head: np.log(values) * 3 + 11 for head, values in probs(main=[[0.2, 0.8]]).items()}
    assert aggregate_logits(logits, [4], LABELS).label("main") == "B"


def test_input_validation() -> None:
    p = probs(main=[[0.9, 0.1]])
    with pytest.raises(ValueError, match="missing"):
        run({k: v for k, v in p.items() if k != "sub"}, [3])
    with pytest.raises(ValueError, match="shape"):
        run(p, [3, 4])
    with pytest.raises(ValueError, match="softmax"):
        run({**p, "main": np.array([[3.0, 1.0]])}, [3])
    with pytest.raises(ValueError):
        run(p, [0])
    with pytest.raises(ValueError):
        run(p, [])


# --- sub-category consistent with main ---------------------------------------------------


def test_sub_is_restricted_to_the_chosen_main() -> None:
    p = probs(main=[[0.8, 0.2]], sub=[[0.2, 0.3, 0.5, 0.0]])
    free = run(p, [10])
    assert free.label("sub") == "b1"  # the unrestricted argmax belongs to main B
    assert not free.sub_restricted_to_main and free.sub_mass_under_main is None

    result = run(p, [10], sub_to_main=SUB_TO_MAIN)
    assert result.label("main") == "A"
    assert result.label("sub") == "a2"
    assert result.confidence("sub") == pytest.approx(0.6)  # 0.3 / (0.2 + 0.3)
    assert result.sub_category_2 is not None
    assert result.sub_category_2.label == "a1"
    assert result.sub_category_2.probability == pytest.approx(0.4)
    assert [s.label for s in result.heads["sub"].top_k] == ["a2", "a1"]  # only subs of A
    assert result.sub_restricted_to_main and not result.sub_fallback
    assert result.sub_mass_under_main == pytest.approx(0.5)


def test_case_sensitive_duplicate_subs_follow_their_own_main() -> None:
    labels = Labels(
        main=["Advice and Counselling", "Information"],
        sub=["Legal Issues", "Legal issues", "Other"],
        intervention=["X", "Y"],
        priority=["1", "2", "3"],
    )
    mapping = {"Legal Issues": "Information", "Legal issues": "Advice and Counselling"}
    p = probs(main=[[0.7, 0.3]], sub=[[0.6, 0.3, 0.1]])
    result = aggregate(p, [10], labels, sub_to_main=mapping)
    assert result.label("sub") == "Legal issues"
    assert result.confidence("sub") == pytest.approx(1.0)
    assert result.sub_category_2 is None  # no other sub under this main


def test_fallback_when_no_sub_maps_to_the_main() -> None:
    p = probs(main=[[0.8, 0.2]], sub=[[0.2, 0.3, 0.5, 0.0]])
    result = run(p, [10], sub_to_main={"b1": "B", "b2": "B"})
    assert result.label("main") == "A"
    assert result.label("sub") == "b1"
    assert result.sub_fallback and not result.sub_restricted_to_main
    assert result.sub_category_2 is not None and result.sub_category_2.label == "a2"


def test_the_sub_head_weighs_in_the_main_decision() -> None:
    # Main head: A at 0.6; sub head: 0.9 of its mass on B's subs.
    p = probs(main=[[0.6, 0.4]], sub=[[0.05, 0.05, 0.5, 0.4]])
    assert run(p, [10], sub_to_main=SUB_TO_MAIN).label("main") == "A"  # weight 0: main alone

    result = run(p, [10], sub_to_main=SUB_TO_MAIN, main_from_sub=0.8)
    # p_main^0.2 * q^0.8 with q = (0.1, 0.9), normalized.
    score = np.array([0.6**0.2 * 0.1**0.8, 0.4**0.2 * 0.9**0.8])
    assert result.label("main") == "B"
    assert result.confidence("main") == pytest.approx(score[1] / score.sum())
    np.testing.assert_allclose(result.heads["main"].distribution, score / score.sum())
    # The sub is then restricted to B's subs, and chunk predictions stay the head's own.
    assert result.label("sub") == "b1"
    assert result.sub_mass_under_main == pytest.approx(0.9)
    assert result.chunk_predictions[0].labels["main"] == "A"

    # Weight 1: the sub head's mass alone.
    only_sub = run(p, [10], sub_to_main=SUB_TO_MAIN, main_from_sub=1.0)
    np.testing.assert_allclose(only_sub.heads["main"].distribution, [0.1, 0.9])
    # Without a sub -> main map there is nothing to weigh in.
    assert run(p, [10], main_from_sub=0.8).label("main") == "A"


def test_a_main_no_sub_maps_to_keeps_its_own_probability() -> None:
    p = probs(main=[[0.5, 0.5]], sub=[[0.1, 0.1, 0.4, 0.4]])
    result = run(p, [10], sub_to_main={"a1": "A", "a2": "A"}, main_from_sub=0.8)
    # q = (0.2, p_main(B) = 0.5): B is not ruled out for having no sub mapped to it.
    score = np.array([0.5**0.2 * 0.2**0.8, 0.5])
    np.testing.assert_allclose(result.heads["main"].distribution, score / score.sum())
    assert result.label("main") == "B"


def test_a_zero_probability_does_not_break_the_main_decision() -> None:
    p = probs(main=[[1.0, 0.0]], sub=[[0.0, 0.0, 1.0, 0.0]])
    result = run(p, [10], sub_to_main=SUB_TO_MAIN, main_from_sub=0.5)
    assert np.all(np.isfinite(result.heads["main"].distribution))
    assert result.heads["main"].distribution.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("weight", [-0.1, 1.5, float("nan"), True, "0.5"])
def test_an_invalid_main_from_sub_is_refused(weight: object) -> None:
    with pytest.raises(ValueError, match="main_from_sub"):
        run(probs(main=[[0.6, 0.4]]), [10], sub_to_main=SUB_TO_MAIN, main_from_sub=weight)


def test_the_calibration_carries_the_main_from_sub_weight() -> None:
    from helpline_model.calibration import Calibration

    logits = {
        "main": np.log([[0.6, 0.4]]),
        "sub": np.log([[0.05, 0.05, 0.5, 0.4]]),
        "intervention": np.zeros((1, 2)),
        "priority": np.zeros((1, 3)),
    }
    plain = aggregate_logits(logits, [10], LABELS, sub_to_main=SUB_TO_MAIN)
    weighted = aggregate_logits(
        logits,
        [10],
        LABELS,
        sub_to_main=SUB_TO_MAIN,
        calibration=Calibration({}, main_from_sub=0.8),
    )
    assert (plain.label("main"), weighted.label("main")) == ("A", "B")


def test_sub_to_main_files(tmp_path: Path) -> None:
    assert load_sub_to_main(tmp_path) is None
    (tmp_path / "sub_to_main.json").write_text(json.dumps(SUB_TO_MAIN))
    loaded = load_sub_to_main(tmp_path)
    assert loaded == SUB_TO_MAIN
    check_sub_to_main(loaded, LABELS)
    with pytest.raises(ValueError, match="C"):
        check_sub_to_main({**SUB_TO_MAIN, "a1": "C"}, LABELS)


# --- escalation --------------------------------------------------------------------------


def escalation_case(rows: list[list[float]]) -> dict[str, np.ndarray]:
    return probs(priority=rows)


def test_escalation_with_three_most_severe() -> None:
    # The long first chunk votes "2"; the short second chunk says "3" with 0.6.
    p = escalation_case([[0.2, 0.6, 0.2], [0.1, 0.3, 0.6]])
    result = run(p, [400, 20], severity=ONE_TO_THREE)
    esc = result.escalation
    assert esc.enabled and esc.escalated
    assert (esc.voted_level, esc.level, esc.chunk_index) == ("2", "3", 1)
    assert esc.chunk_confidence == pytest.approx(0.6)
    assert result.label("priority") == "3"
    # Reported confidence: case-level probability of "3", not the chunk's.
    expected = (400 * 0.6 * 0.2 + 20 * 0.6 * 0.6) / (400 * 0.6 + 20 * 0.6)
    assert result.confidence("priority") == pytest.approx(expected)
    assert result.heads["priority"].band == "low" and result.needs_review


def test_same_chunks_with_one_most_severe_do_not_escalate() -> None:
    p = escalation_case([[0.2, 0.6, 0.2], [0.1, 0.3, 0.6]])
    result = run(p, [400, 20], severity=THREE_TO_ONE)
    assert result.escalation.enabled and not result.escalation.escalated
    assert result.escalation.level == "1"
    assert result.label("priority") == "2"


def test_escalation_with_one_most_severe() -> None:
    p = escalation_case([[0.2, 0.6, 0.2], [0.7, 0.2, 0.1]])
    result = run(p, [400, 20], severity=THREE_TO_ONE)
    assert result.escalation.escalated and result.escalation.chunk_index == 1
    assert result.label("priority") == "1"
    assert not run(p, [400, 20], severity=ONE_TO_THREE).escalation.escalated


def test_escalation_with_named_levels() -> None:
    labels = Labels(
        main=["A", "B"],
        sub=["a1", "a2", "b1", "b2"],
        intervention=["X", "Y"],
        priority=["high", "low", "medium"],
    )
    p = escalation_case([[0.1, 0.8, 0.1], [0.05, 0.9, 0.05], [0.8, 0.1, 0.1]])
    severity = Severity(("low", "medium", "high"))
    result = aggregate(p, [200, 200, 30], labels, severity=severity)
    assert result.escalation.escalated and result.escalation.chunk_index == 2
    assert result.label("priority") == "high"
    # Without configuration nothing is guessed from the word "high".
    plain = aggregate(p, [200, 200, 30], labels)
    assert not plain.escalation.enabled and not plain.escalation.escalated
    assert plain.label("priority") == "low"
    assert "disabled" in plain.escalation.reason


def test_threshold_is_inclusive_and_configurable() -> None:
    below = escalation_case([[0.6, 0.3, 0.1], [0.3, 0.25, 0.45]])
    assert not run(below, [100, 10], severity=ONE_TO_THREE).escalation.escalated
    assert run(below, [100, 10], severity=Severity(("1", "2", "3"), 0.4)).escalation.escalated
    at = escalation_case([[0.6, 0.3, 0.1], [0.25, 0.25, 0.5]])
    assert run(at, [100, 10], severity=ONE_TO_THREE).escalation.escalated


def test_the_threshold_alone_decides_not_the_chunk_argmax() -> None:
    # "3" at 0.4 behind "2": a calibrated operating point below 0.4 escalates it (an urgent
    # case told in calm words); the shipped 0.5 does not.
    p = escalation_case([[0.9, 0.05, 0.05], [0.0, 0.6, 0.4]])
    esc = run(p, [10, 10], severity=Severity(("1", "2", "3"), 0.3)).escalation
    assert esc.escalated and esc.chunk_index == 1 and esc.chunk_confidence == pytest.approx(0.4)
    assert not run(p, [10, 10], severity=ONE_TO_THREE).escalation.escalated


def test_most_confident_trigger_is_reported() -> None:
    p = escalation_case([[0.1, 0.3, 0.6], [0.9, 0.05, 0.05], [0.05, 0.05, 0.9], [0.05, 0.05, 0.9]])
    esc = run(p, [10, 10, 10, 10], severity=ONE_TO_THREE).escalation
    assert esc.chunk_index == 2  # first of the two 0.9 chunks
    assert esc.chunk_confidence == pytest.approx(0.9)


# --- decision rule ------------------------------------------------------------------------

# Two chunks that both lean "3" at 0.55 / 0.5: the vote says "3"; "1" is the next most probable.
VOTED_HIGH = [[0.3, 0.15, 0.55], [0.35, 0.15, 0.5]]


def test_threshold_rule_demotes_a_voted_high_case_below_the_threshold() -> None:
    p = escalation_case(VOTED_HIGH)
    # Today's rule: the vote alone makes it "3", whatever the threshold.
    kept = run(p, [10, 10], severity=Severity(("1", "2", "3"), 0.6))
    assert kept.label("priority") == "3" and not kept.escalation.demoted
    assert kept.escalation.rule == "vote_or_threshold"
    # The threshold rule: no chunk reaches 0.6, so the case gets the most probable other level.
    result = run(p, [10, 10], severity=Severity(("1", "2", "3"), 0.6, "threshold"))
    esc = result.escalation
    assert esc.enabled and not esc.escalated and esc.demoted and esc.rule == "threshold"
    assert esc.voted_level == "3" and result.label("priority") == "1"
    assert "demoted" in esc.reason and "'threshold'" in esc.reason and "0.550" in esc.reason
    # The reported confidence is the case probability of the level reported.
    vote = weighted_vote(p["priority"], np.array([10, 10]))
    assert result.confidence("priority") == pytest.approx(vote[0])
    assert result.heads["priority"].band == "low" and result.needs_review


def test_threshold_rule_escalates_a_chunk_above_the_threshold() -> None:
    p = escalation_case(VOTED_HIGH)
    result = run(p, [10, 10], severity=Severity(("1", "2", "3"), 0.55, "threshold"))
    esc = result.escalation
    assert esc.escalated and not esc.demoted and esc.chunk_index == 0
    assert result.label("priority") == "3"
    # A case the vote calls "1" escalates under both rules when a chunk reaches the threshold.
    calm = escalation_case([[0.9, 0.05, 0.05], [0.0, 0.6, 0.4]])
    for rule in ("threshold", "vote_or_threshold"):
        result = run(calm, [10, 10], severity=Severity(("1", "2", "3"), 0.3, rule))
        assert result.escalation.escalated and result.label("priority") == "3"
    # Nothing voted "3", nothing reaches it: nothing is demoted.
    quiet = run(calm, [10, 10], severity=Severity(("1", "2", "3"), 0.5, "threshold"))
    assert not quiet.escalation.demoted and quiet.label("priority") == "1"


def test_unknown_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="rule"):
        Severity(("1", "2", "3"), 0.5, "majority")


def test_the_version_calibration_sets_the_rule() -> None:
    from client.core.model_bundle import with_operating_point
    from helpline_model.calibration import Calibration, OperatingPoint

    point = OperatingPoint(0.95, 0.6, 0.96, 0.1, 25, 75, "validation", "threshold")
    severity = with_operating_point(ONE_TO_THREE, Calibration({}, point, level="3"))
    assert severity == Severity(("1", "2", "3"), 0.6, "threshold")
    # A calibration.json written before rules existed: today's rule.
    old = Calibration.from_json(
        {
            "temperatures": {},
            "level": "3",
            "escalation": {
                "target_recall": 0.95,
                "threshold": 0.6,
                "recall": 0.96,
                "false_alarm_rate": 0.1,
                "n_positive": 25,
                "n_negative": 75,
                "split": "validation",
            },
        }
    )
    assert with_operating_point(ONE_TO_THREE, old).rule == "vote_or_threshold"
    p = escalation_case(VOTED_HIGH)
    served = run(p, [10, 10], severity=with_operating_point(ONE_TO_THREE, old))
    assert served.label("priority") == "3" and not served.escalation.demoted


def test_severity_file(tmp_path: Path) -> None:
    assert load_severity(tmp_path) is None
    path = tmp_path / "priority_severity.json"
    path.write_text(json.dumps({"least_to_most_severe": [3, 2, 1], "escalation_threshold": 0.7}))
    severity = load_severity(tmp_path)
    assert severity == Severity(("3", "2", "1"), 0.7)
    assert severity.most_severe == "1"
    path.write_text(json.dumps({"least_to_most_severe": ["1", "2", "3"]}))
    assert load_severity(tmp_path).escalation_threshold == 0.5


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"least_to_most_severe": []},
        {"least_to_most_severe": ["1", "1", "3"]},
        {"least_to_most_severe": ["1", "2", "3"], "escalation_threshold": 1.5},
        {"least_to_most_severe": ["1", "2", "3"], "escalation_threshold": "high"},
        ["1", "2", "3"],
    ],
)
def test_invalid_severity(data: object) -> None:
    with pytest.raises(ValueError):
        Severity.from_json(data)


def test_severity_must_match_priority_labels() -> None:
    p = escalation_case([[0.9, 0.05, 0.05]])
    with pytest.raises(ValueError, match="does not match"):
        run(p, [10], severity=Severity(("low", "medium", "high")))


# --- bands and review --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("confidence", "band"),
    [
        (1.0, "high"),
        (0.8501, "high"),
        (0.85, "medium"),
        (0.6, "medium"),
        (0.5999, "low"),
        (0.0, "low"),
    ],
)
def test_band_boundaries(confidence: float, band: str) -> None:
    assert AggregationConfig().band(confidence) == band


def test_configurable_bands() -> None:
    config = AggregationConfig(high_above=0.9, medium_from=0.5)
    assert config.band(0.88) == "medium" and config.band(0.55) == "medium"
    assert config.band(0.49) == "low"
    with pytest.raises(ValueError):
        AggregationConfig(high_above=0.5, medium_from=0.6)
    with pytest.raises(ValueError):
        AggregationConfig(review_bands=("unsure",))
    with pytest.raises(ValueError):
        AggregationConfig(top_k=0)


def test_needs_review_when_a_head_is_low() -> None:
    confident = probs(main=[[0.9, 0.1]])
    assert not run(confident, [10]).needs_review
    unsure = probs(main=[[0.55, 0.45]], intervention=[[0.7, 0.3]])
    result = run(unsure, [10])
    assert result.heads["main"].band == "low" and result.heads["intervention"].band == "medium"
    assert result.needs_review and result.review_triggers == ("main",)
    only_sub = AggregationConfig(review_heads=("sub",))
    assert not run(unsure, [10], config=only_sub).needs_review
    also_medium = AggregationConfig(review_bands=("low", "medium"))
    assert run(unsure, [10], config=also_medium).review_triggers == ("main", "intervention")
