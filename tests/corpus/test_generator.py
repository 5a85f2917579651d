"""The synthetic corpus generator and the handwritten evaluation set."""

from __future__ import annotations

import ast
import json
import random
import re
import statistics
import time
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from handwritten_checks import label_values

from corpus import generator as corpus
from corpus import templates
from corpus.generator import generate, read_jsonl, split, write_jsonl
from corpus.rubric import RULES
from corpus.templates import calls, slots, voices
from helpline_model.taxonomy import MAIN_CATEGORIES, SUB_TO_MAIN

HANDWRITTEN = Path(__file__).resolve().parents[2] / "data" / "handwritten_eval.jsonl"
ROW_KEYS = {
    "id",
    "narrative",
    "main_category",
    "sub_category",
    "intervention",
    "priority",
    "style",
    "trap",
    "n_words",
    "decisive_position",
}
LABEL_FIELDS = ("main_category", "sub_category", "intervention", "priority")
# The voices of the handwritten set: ASR-like transcript, Swahili-English code-switching,
# counsellor/caller dialogue, counsellor note, plain narrative.
HANDWRITTEN_STYLES = ("asr", "code_switch", "dialogue", "note", "narrative")


@cache
def production_rows() -> tuple[dict, ...]:
    return tuple(generate(2000, seed=7, length_profile="production"))


@cache
def short_rows() -> tuple[dict, ...]:
    return tuple(generate(2000, seed=7, length_profile="short"))


@cache
def timed_6000_rows() -> tuple[tuple[dict, ...], float]:
    started = time.perf_counter()
    rows = tuple(generate(6000, seed=13, length_profile="production"))
    return rows, time.perf_counter() - started


# --- generator content ------------------------------------------------------------------


def test_specs_cover_the_taxonomy() -> None:
    assert set(templates.SPEC_BY_SUB) == set(SUB_TO_MAIN)
    for module in templates.MAIN_MODULES:
        assert {SUB_TO_MAIN[spec.sub] for spec in module.SPECS} == {module.MAIN}
    for spec in templates.SUB_SPECS:
        assert len(spec.templates) >= 3, spec.sub
        assert set(spec.iv) <= set(corpus.INTERVENTION_CODES), spec.sub
        assert set(spec.pr) <= set(corpus.PRIORITY_CODES), spec.sub
        assert spec.confusable is None or spec.confusable in SUB_TO_MAIN, spec.sub


def test_every_template_renders_for_every_caller() -> None:
    # A slot typo in a rarely drawn template would otherwise only fail at generation time.
    rng = random.Random(0)
    shared = [
        *(text for _, text in calls.NARRATIVE_FILLER),
        *(q + a for _, q, a in calls.DIALOGUE_FILLER),
        *calls.CLOSING_NARRATIVE,
        *calls.COUNSELLOR_OPENINGS,
        *calls.COUNSELLOR_PROMPTS,
        *calls.NOTE_PREFIXES,
        *(q + a for q, a in calls.CUES_DIALOGUE.values()),
        *(
            t
            for table in (calls.ACTIONS_NARRATIVE, calls.ACTIONS_DIALOGUE)
            for ts in table.values()
            for t in ts
        ),
        *(t for ts in calls.ACTIONS_NOTE.values() for t in ts),
        *voices.PRESENTING,
        *voices.LATE_PROBES,
        *voices.LATE_BRIDGES,
    ]
    for spec in templates.SUB_SPECS:
        main = SUB_TO_MAIN[spec.sub]
        cases = tuple(case.text for case in (*spec.understated, *spec.alarming))
        for caller_type in slots.CALLER_TYPES:
            filled, _ = corpus._case_slots(rng, spec, caller_type, main)
            intros = (*calls.INTRO_NARRATIVE[caller_type], *calls.INTRO_DIALOGUE[caller_type])
            for template in (*spec.templates, *cases, *intros, *shared):
                text = filled.fill(template)
                assert "{" not in text and "}" not in text, template


# --- generated rows -----------------------------------------------------------------------


def test_same_seed_same_rows_and_different_seed_different_rows() -> None:
    first = generate(300, seed=3, length_profile="production")
    assert first == generate(300, seed=3, length_profile="production")
    other = generate(300, seed=4, length_profile="production")
    assert first != other
    same_text = sum(a["narrative"] == b["narrative"] for a, b in zip(first, other, strict=True))
    assert same_text < 5


def test_rows_are_well_formed_and_labels_consistent() -> None:
    values = label_values()
    for rows in (production_rows(), short_rows()):
        assert len(rows) == 2000
        assert len({row["id"] for row in rows}) == len(rows)
        assert len({row["narrative"] for row in rows}) == len(rows)
        for row in rows:
            assert set(row) == ROW_KEYS
            for name in LABEL_FIELDS:
                assert row[name] in values[name], (name, row[name])
            assert SUB_TO_MAIN[row["sub_category"]] == row["main_category"]
            assert row["style"] in corpus.STYLES
            assert row["trap"] in corpus.TRAPS
            assert row["decisive_position"] in corpus.POSITIONS
            assert row["n_words"] == len(row["narrative"].split())


@pytest.mark.parametrize("profile", ["production", "short"])
def test_all_labels_covered_at_2000(profile: str) -> None:
    rows = production_rows() if profile == "production" else short_rows()
    for name, expected in label_values().items():
        assert {row[name] for row in rows} == expected, name


def test_style_mix() -> None:
    for rows in (production_rows(), short_rows()):
        styles = Counter(row["style"] for row in rows)
        assert set(styles) == set(corpus.STYLES)
        assert min(styles.values()) >= 0.06 * len(rows)
    for row in production_rows():
        if row["style"] == "dialogue":
            lines = row["narrative"].split("\n")
            assert all(line.startswith(("Counsellor: ", "Caller: ")) for line in lines)
            assert lines[0].startswith("Counsellor: ")
            assert any(line.startswith("Caller: ") for line in lines)
        elif row["style"] == "note":
            assert row["n_words"] < 90


def test_production_lengths_and_decisive_positions() -> None:
    rows = production_rows()
    words = [row["n_words"] for row in rows]
    assert 290 <= statistics.mean(words) <= 400
    assert max(words) <= 1400
    long_rows = [row for row in rows if row["n_words"] > 450]
    assert len(long_rows) >= 0.15 * len(rows)
    assert any(row["n_words"] > 1000 for row in rows)
    # Long texts need chunking; the deciding sentences must be found wherever they are.
    assert {row["decisive_position"] for row in long_rows} == set(corpus.POSITIONS)
    assert {row["decisive_position"] for row in rows} == set(corpus.POSITIONS)


def test_short_profile_is_short() -> None:
    words = [row["n_words"] for row in short_rows()]
    assert statistics.median(words) < 100
    # Transcripts (dialogue, ASR, late disclosure) run longer than notes.
    assert sum(w < 120 for w in words) >= 0.8 * len(words)
    assert max(words) < 300


def test_joint_label_distribution_is_plausible() -> None:
    rows, _ = timed_6000_rows()

    def share(sub: str, name: str, allowed: set[str]) -> float:
        subset = [row for row in rows if row["sub_category"] == sub]
        return sum(row[name] in allowed for row in subset) / len(subset)

    for sub in ("Sexual Abuse", "Child Trafficking", "Child Abduction"):
        assert share(sub, "priority", {"high"}) >= 0.75, sub
        assert share(sub, "intervention", {"Referral"}) >= 0.75, sub
    assert share("Balanced Diet", "priority", {"low"}) >= 0.7
    assert (
        share("Balanced Diet", "intervention", {"Awareness/Information Provided", "Counselling"})
        >= 0.7
    )
    # Some label noise, but not much.
    main_counts = Counter(row["main_category"] for row in rows)
    assert len(main_counts) == 7


def test_generates_6000_rows_quickly() -> None:
    rows, seconds = timed_6000_rows()
    assert len(rows) == 6000
    assert seconds < 30


def test_rejects_unknown_profile() -> None:
    with pytest.raises(ValueError):
        generate(10, seed=1, length_profile="huge")


# --- voices, traps and the priority rubric ----------------------------------------------------

RUBRIC = Path(__file__).resolve().parents[2] / "docs" / "priority-rubric.md"
NEW_STYLES = ("asr", "code_switch", "late_disclosure")
TRAP_KINDS = ("understated", "alarming_words")
# The test's own lists (not the generator's), so that a voice is recognised independently.
ALARM_WORDS = {
    "abuse", "abused", "assault", "assaulted", "attack", "attacked", "beat", "beaten",
    "danger", "dangerous", "death", "deaths", "defiled", "defilement", "die", "died", "dying",
    "emergency", "harm", "hurt", "kidnapped", "kill", "killed", "kills", "killings", "murder",
    "rape", "raped", "suicide", "suicidal", "threat", "threatened", "trafficked", "trafficking",
    "urgent", "violence", "violent", "mutilation", "starvation", "abduction",
}  # fmt: skip
# Swahili words the original templates never used ("sawa", "asante" and "mama" they did).
SWAHILI = {
    "sasa", "yaani", "unajua", "basi", "kweli", "yangu", "yake", "mtoto", "watoto",
    "msichana", "kijana", "bibi", "nyanya", "mjomba", "mwalimu", "jirani", "shule", "nyumba",
    "nyumbani", "chakula", "pesa", "jana", "leo", "kesho", "lakini", "tafadhali", "hospitali",
    "polisi", "chifu", "rafiki", "jioni", "asubuhi", "usiku", "sokoni", "maji", "hali",
    "ngumu", "sijui", "nifanye", "mungu", "atusaidie", "tunaomba", "msaada", "rahisi",
    "ndiyo", "hivyo", "kwamba", "eeh", "hata", "pole", "kusema",
}  # fmt: skip
FILLERS = {"uh", "um", "eh", "ah", "mm", "aah", "like", "you", "i", "okay", "sort"}


def words_of(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


@pytest.mark.parametrize("profile", ["production", "short"])
def test_every_voice_appears_in_every_main_category(profile: str) -> None:
    rows = production_rows() if profile == "production" else short_rows()
    for style in NEW_STYLES:
        mains = {row["main_category"] for row in rows if row["style"] == style}
        assert mains == set(MAIN_CATEGORIES), style
    for trap in TRAP_KINDS:
        mains = {row["main_category"] for row in rows if row.get("trap") == trap}
        assert mains == set(MAIN_CATEGORIES), trap


def test_asr_rows_are_lowercase_unpunctuated_speech() -> None:
    for rows in (production_rows(), short_rows()):
        asr = [row for row in rows if row["style"] == "asr"]
        assert len(asr) >= 0.06 * len(rows)
        for row in asr:
            assert re.fullmatch(r"[a-z0-9 ]+", row["narrative"]), row["narrative"][:80]
            assert words_of(row["narrative"]) & FILLERS, row["id"]
        # Repetitions and misheard words are there, across the transcripts.
        repeated = sum(bool(re.search(r"\b(\w+) \1\b", row["narrative"])) for row in asr)
        assert repeated >= 0.5 * len(asr)
        misheard = {"two", "too", "chide", "councillor", "ankle", "skull", "help line"}
        assert sum(any(w in row["narrative"] for w in misheard) for row in asr) >= 0.3 * len(asr)


def test_code_switch_rows_mix_swahili_into_english() -> None:
    for rows in (production_rows(), short_rows()):
        switched = [row for row in rows if row["style"] == "code_switch"]
        assert len(switched) >= 0.06 * len(rows)
        for row in switched:
            assert words_of(row["narrative"]) & SWAHILI, row["narrative"][:120]
            # Short phrases in English narration: English still carries most of the text.
            english = words_of(row["narrative"]) & {"the", "and", "to", "is", "of"}
            assert english, row["id"]


def test_late_disclosure_rows_reveal_the_matter_after_talking_around_it() -> None:
    for rows in (production_rows(), short_rows()):
        late = [row for row in rows if row["style"] == "late_disclosure"]
        assert len(late) >= 0.06 * len(rows)
        for row in late:
            lines = row["narrative"].split("\n")
            assert all(line.startswith(("Counsellor: ", "Caller: ")) for line in lines)
            assert row["decisive_position"] in ("middle", "end"), row["id"]
            # Opening, the caller's first answer, a probe: at least two caller turns first.
            callers = [i for i, line in enumerate(lines) if line.startswith("Caller: ")]
            assert len(callers) >= 3, row["id"]
        ends = sum(row["decisive_position"] == "end" for row in late)
        assert ends >= 0.4 * len(late)


def test_understated_rows_are_high_without_alarm_words() -> None:
    for rows in (production_rows(), short_rows()):
        understated = [row for row in rows if row.get("trap") == "understated"]
        assert len(understated) >= 0.05 * len(rows)
        for row in understated:
            assert row["priority"] == "high", row["id"]
            found = words_of(row["narrative"]) & ALARM_WORDS
            assert not found, (row["id"], found)


def test_alarming_words_rows_are_low_despite_alarm_words() -> None:
    for rows in (production_rows(), short_rows()):
        alarming = [row for row in rows if row.get("trap") == "alarming_words"]
        assert len(alarming) >= 0.04 * len(rows)
        for row in alarming:
            assert row["priority"] == "low", row["id"]
            assert words_of(row["narrative"]) & ALARM_WORDS, row["narrative"][:120]


def test_trap_cases_follow_the_written_rubric() -> None:
    text = RUBRIC.read_text()
    for rule_id, rule in RULES.items():
        # Every rule the generator cites is in the document, under its level.
        line = next(line for line in text.splitlines() if f"**{rule_id}**" in line)
        section = text[: text.index(line)].rsplit("\n## ", 1)[-1]
        assert section.lower().startswith(rule.level), rule_id
    for spec in templates.SUB_SPECS:
        for case in spec.understated:
            assert RULES[case.rule].level == "high", (spec.sub, case.text)
        for case in spec.alarming:
            assert RULES[case.rule].level == "low", (spec.sub, case.text)
    cited = {case.rule for spec in templates.SUB_SPECS for case in spec.understated}
    assert {rule for rule in RULES if rule.startswith("H")} <= cited


def test_voices_are_deterministic_per_seed() -> None:
    first = generate(400, seed=11, length_profile="short")
    assert first == generate(400, seed=11, length_profile="short")
    other = generate(400, seed=12, length_profile="short")
    for style in NEW_STYLES:
        texts = {row["narrative"] for row in first if row["style"] == style}
        assert texts and texts != {row["narrative"] for row in other if row["style"] == style}


# --- split and files ----------------------------------------------------------------------


def test_split_is_disjoint_complete_and_stratified() -> None:
    rows = list(production_rows())
    parts = split(rows, seed=7)
    assert set(parts) == {"train", "validation", "test"}
    ids = {name: {row["id"] for row in part} for name, part in parts.items()}
    assert not ids["train"] & ids["validation"]
    assert not ids["train"] & ids["test"]
    assert not ids["validation"] & ids["test"]
    assert ids["train"] | ids["validation"] | ids["test"] == {row["id"] for row in rows}
    texts = {name: {row["narrative"] for row in part} for name, part in parts.items()}
    assert not texts["train"] & (texts["validation"] | texts["test"])
    assert 0.77 <= len(parts["train"]) / len(rows) <= 0.83
    for name in ("validation", "test"):
        assert 0.08 <= len(parts[name]) / len(rows) <= 0.12
        # Stratified: every sub-category is represented.
        assert {row["sub_category"] for row in parts[name]} == set(SUB_TO_MAIN)
    assert parts == split(rows, seed=7)


def test_split_rejects_bad_fractions() -> None:
    with pytest.raises(ValueError):
        split(list(short_rows()), seed=1, fractions=(0.8, 0.3, 0.1))


def test_jsonl_round_trip_and_cli(tmp_path: Path) -> None:
    rows = list(short_rows()[:50])
    write_jsonl(rows, tmp_path / "rows.jsonl")
    assert read_jsonl(tmp_path / "rows.jsonl") == rows

    out = tmp_path / "corpus"
    corpus.main(["--n", "300", "--seed", "2", "--length-profile", "short", "--out", str(out)])
    parts = {name: read_jsonl(out / f"{name}.jsonl") for name in ("train", "validation", "test")}
    assert sum(len(part) for part in parts.values()) == 300
    summary = json.loads((out / "stats.json").read_text())
    assert summary["all"]["rows"] == 300
    assert set(summary["all"]["counts"]["sub_category"]) == set(SUB_TO_MAIN)
    assert {"p50", "p95", "mean", "max"} <= set(summary["train"]["words"])


# --- handwritten evaluation set -----------------------------------------------------------


def handwritten() -> list[dict]:
    return read_jsonl(HANDWRITTEN)


def test_handwritten_set_is_valid_against_the_taxonomy() -> None:
    rows = handwritten()
    assert len({row["narrative"] for row in rows}) == len(rows)
    values = label_values()
    for row in rows:
        assert set(row) == {"id", "narrative", "style", *LABEL_FIELDS}
        assert re.fullmatch(r"hand-\d{3}", row["id"]), row["id"]
        assert row["style"] in HANDWRITTEN_STYLES, row["id"]
        for name in LABEL_FIELDS:
            assert row[name] in values[name], (row["id"], name)
        assert SUB_TO_MAIN[row["sub_category"]] == row["main_category"], row["id"]


def test_handwritten_set_is_large_balanced_and_about_a_third_urgent() -> None:
    rows = handwritten()
    assert len(rows) >= 120
    assert len({row["id"] for row in rows}) == len(rows)
    per_main = Counter(row["main_category"] for row in rows)
    assert set(per_main) == set(MAIN_CATEGORIES)
    assert min(per_main.values()) >= 17, per_main
    high_share = sum(row["priority"] == "high" for row in rows) / len(rows)
    assert 0.30 <= high_share <= 0.40, high_share
    assert {row.get("style") for row in rows} == set(HANDWRITTEN_STYLES)


def word_ngrams(text: str, n: int = 6) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z']+", text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def test_handwritten_texts_are_not_generator_output() -> None:
    generated = production_rows() + short_rows()
    generated_texts = {row["narrative"] for row in generated}
    generated_ngrams: set[tuple[str, ...]] = set()
    for row in generated:
        generated_ngrams |= word_ngrams(row["narrative"])
    for row in handwritten():
        assert row["narrative"] not in generated_texts, row["id"]
        grams = word_ngrams(row["narrative"])
        shared = len(grams & generated_ngrams) / max(len(grams), 1)
        # Different wording, not just different slot values.
        assert shared < 0.1, (row["id"], shared)


def corpus_string_literals() -> list[str]:
    """Every string literal in the corpus package: its templates, pools and fillers."""
    literals: list[str] = []
    for module in sorted(Path(corpus.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                literals.append(node.value)
    return literals


def test_handwritten_texts_share_no_12_word_run_with_the_generator_templates() -> None:
    # A slot ("{name}") reads as the word "name", so a run crossing it matches only a
    # verbatim template; copies with filled-in slots are the generated-text test's job.
    template_runs: set[tuple[str, ...]] = set()
    for literal in corpus_string_literals():
        template_runs |= word_ngrams(literal, 12)
    assert len(template_runs) > 1000  # the templates were found
    for row in handwritten():
        shared = word_ngrams(row["narrative"], 12) & template_runs
        assert not shared, (row["id"], " ".join(min(shared)))
