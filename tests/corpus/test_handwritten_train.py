"""The hand-written training parts (data/handwritten_train/*.jsonl): narratives in the voices
calls come in, mixed into the demo model's training rows. Each part is checked on its own
(valid, balanced, every sub-category, every voice) and against everything it must not copy:
the evaluation set (never trained on), the validation set (the operating point is fitted on
it, so it must stay unseen by training) and the corpus templates."""

from __future__ import annotations

import re
from collections import Counter
from functools import cache

import pytest
from handwritten_checks import (
    EVALUATION,
    LABEL_FIELDS,
    STYLES,
    TRAIN_DIR,
    VALIDATION,
    copied_runs,
    label_values,
    rows_of,
    runs_of,
    set_runs,
    template_runs,
    word_ngrams,
)

from corpus.generator import generate
from helpline_model.taxonomy import MAIN_CATEGORIES, SUB_TO_MAIN

PARTS = sorted(TRAIN_DIR.glob("*.jsonl"))


def test_there_are_training_parts() -> None:
    assert PARTS, f"no hand-written training part in {TRAIN_DIR}"


@pytest.fixture(params=PARTS, ids=lambda path: path.stem)
def part(request: pytest.FixtureRequest) -> tuple[dict, ...]:
    return rows_of(request.param)


def test_part_is_valid_against_the_taxonomy(part: tuple[dict, ...]) -> None:
    values = label_values()
    for row in part:
        assert set(row) == {"id", "narrative", "style", *LABEL_FIELDS}, row["id"]
        assert re.fullmatch(r"htrn-[a-z]-\d{3}", row["id"]), row["id"]
        for name in LABEL_FIELDS:
            assert row[name] in values[name], (row["id"], name)
        assert SUB_TO_MAIN[row["sub_category"]] == row["main_category"], row["id"]
        assert row["style"] in STYLES, row["id"]
        assert 40 <= len(row["narrative"].split()) <= 160, row["id"]


def test_part_is_balanced_about_a_third_urgent_and_covers_every_label(
    part: tuple[dict, ...],
) -> None:
    assert len(part) >= 100
    per_main = Counter(row["main_category"] for row in part)
    assert set(per_main) == set(MAIN_CATEGORIES)
    assert max(per_main.values()) - min(per_main.values()) <= 3, per_main
    assert set(SUB_TO_MAIN) == {row["sub_category"] for row in part}
    high_share = sum(row["priority"] == "high" for row in part) / len(part)
    assert 0.28 <= high_share <= 0.38, high_share
    levels = Counter((row["main_category"], row["priority"]) for row in part)
    for main in MAIN_CATEGORIES:
        assert levels[main, "low"] >= 3 and levels[main, "medium"] >= 3, main
    styles = Counter(row["style"] for row in part)
    assert set(styles) == set(STYLES) and min(styles.values()) >= 18, styles


def test_ids_and_texts_are_unique_across_all_sets() -> None:
    rows = [row for path in PARTS for row in rows_of(path)]
    rows += list(rows_of(EVALUATION)) + list(rows_of(VALIDATION))
    ids = [row["id"] for row in rows]
    assert len(set(ids)) == len(ids), Counter(ids).most_common(3)
    texts = [row["narrative"] for row in rows]
    assert len(set(texts)) == len(texts)


def test_parts_copy_no_text_from_the_evaluation_or_validation_sets(
    part: tuple[dict, ...],
) -> None:
    for held_out in (EVALUATION, VALIDATION):
        runs = set_runs(held_out)
        assert len(runs) > 5000  # the set was read
        assert not copied_runs(part, runs), held_out.name


def test_parts_copy_no_text_between_each_other() -> None:
    for path in PARTS:
        others = tuple(row for other in PARTS if other != path for row in rows_of(other))
        assert not copied_runs(rows_of(path), runs_of(others)), path.name


def test_parts_copy_no_corpus_template(part: tuple[dict, ...]) -> None:
    assert len(template_runs()) > 1000  # the templates were found
    assert not copied_runs(part, template_runs())


@cache
def generated_six_grams() -> frozenset[tuple[str, ...]]:
    return frozenset(runs_of(tuple(generate(2000, seed=7, length_profile="short")), 6))


def test_parts_are_not_generator_output(part: tuple[dict, ...]) -> None:
    for row in part:
        grams = word_ngrams(row["narrative"], 6)
        shared = len(grams & generated_six_grams()) / max(len(grams), 1)
        assert shared < 0.1, (row["id"], shared)
