"""The demo taxonomy: production names kept, production defects cleaned, every change
documented and tested."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpline_model.layout import SEVERITY_FILE, SUB_TO_MAIN_FILE, load_labels
from helpline_model.taxonomy import (
    DEMO_TAXONOMY,
    DROPPED_SUB_LABELS,
    ESCALATION_THRESHOLD,
    INTERVENTIONS,
    LEGACY_SUB_ALIASES,
    MAIN_CATEGORIES,
    SEVERITY_ORDER,
    SUB_TO_MAIN,
    clean_sub_label,
    demo_labels,
    production_priority_to_demo,
    write_model_extras,
)

PRODUCTION = Path(__file__).resolve().parents[2] / "data" / "production_taxonomy"


def production(name: str) -> object:
    return json.loads((PRODUCTION / name).read_text())


def test_main_categories_and_interventions_keep_production_names() -> None:
    assert list(MAIN_CATEGORIES) == production("main_categories.json")
    assert list(INTERVENTIONS) == production("interventions.json")


def test_every_production_sub_is_kept_folded_or_dropped() -> None:
    production_subs = set(production("sub_categories.json"))
    kept = set(SUB_TO_MAIN)
    assert kept <= production_subs
    assert production_subs == kept | set(LEGACY_SUB_ALIASES) | DROPPED_SUB_LABELS
    assert not kept & set(LEGACY_SUB_ALIASES)
    assert set(LEGACY_SUB_ALIASES.values()) <= kept
    assert len(kept) == 60


def test_kept_subs_have_no_case_duplicates_and_one_main_each() -> None:
    folded = [sub.casefold() for sub in SUB_TO_MAIN]
    assert len(folded) == len(set(folded))
    assert set(SUB_TO_MAIN.values()) == set(MAIN_CATEGORIES)


def test_deviations_from_production_map_are_exactly_the_documented_ones() -> None:
    # Each of these is explained by a comment in helpline_model/taxonomy.py; a new deviation
    # must be documented there and added here.
    prod = production("sub_to_main.json")
    deviating = {
        raw
        for raw in prod
        if (clean := clean_sub_label(raw)) is not None and SUB_TO_MAIN[clean] != prod[raw]
    }
    assert deviating == {"School Related Issues", "Legal issues", "Traditional Practice"}


def test_demo_labels_are_sorted_like_production() -> None:
    labels = demo_labels()
    for head in ("main", "sub", "intervention", "priority"):
        values = labels.for_head(head)
        assert values == sorted(values)
    assert labels.sizes() == {"main": 7, "sub": 60, "intervention": 5, "priority": 3}
    assert labels.priority == ["high", "low", "medium"]
    assert tuple(labels.sub) == DEMO_TAXONOMY.sub_categories


def test_severity_is_explicit_configuration() -> None:
    assert SEVERITY_ORDER == ("low", "medium", "high")
    assert sorted(SEVERITY_ORDER) == sorted(DEMO_TAXONOMY.priorities)
    assert DEMO_TAXONOMY.subs_of("Nutrition") == [
        "Balanced Diet",
        "Feeding & Food preparation",
        "Malnutrition",
        "Obesity",
        "Stagnation",
        "Underweight",
    ]


def test_model_extras_and_labels_round_trip(tmp_path: Path) -> None:
    written = write_model_extras(tmp_path)
    assert {p.name for p in written} == {SUB_TO_MAIN_FILE, SEVERITY_FILE}
    assert json.loads((tmp_path / SUB_TO_MAIN_FILE).read_text()) == SUB_TO_MAIN
    assert json.loads((tmp_path / SEVERITY_FILE).read_text()) == {
        "least_to_most_severe": ["low", "medium", "high"],
        "escalation_threshold": ESCALATION_THRESHOLD,
    }
    demo_labels().save(tmp_path)
    assert load_labels(tmp_path) == demo_labels()


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Legal issues", "Legal Issues"),
        ("legal  ISSUES ", "Legal Issues"),
        ("School related issues", "School Related Issues"),
        ("Student/ Teacher Relationship", "Relationships (Student/Teacher)"),
        ("Traditional Practice", "Harmful Practice"),
        ("Sexual Abuse", "Sexual Abuse"),
        ("Other", None),
        ("Sexual Abuse, Physical Abuse", None),
    ],
)
def test_clean_sub_label(raw: str, clean: str | None) -> None:
    assert clean_sub_label(raw) == clean


@pytest.mark.parametrize(
    ("raw", "one_is_most_severe", "expected"),
    [
        ("1", True, "high"),
        ("1", False, "low"),
        (3, True, "low"),
        ("3", False, "high"),
        ("2.0", True, "medium"),
        ("N/A", True, None),
        ("4", False, None),
    ],
)
def test_production_priority_needs_an_explicit_reading(
    raw: object, one_is_most_severe: bool, expected: str | None
) -> None:
    assert production_priority_to_demo(raw, one_is_most_severe=one_is_most_severe) == expected
