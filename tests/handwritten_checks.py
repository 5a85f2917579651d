"""Checks shared by the tests of the hand-written sets: valid labels, no copied text."""

from __future__ import annotations

import ast
import re
from collections.abc import Set
from functools import cache
from pathlib import Path

from corpus import generator as corpus
from corpus.generator import read_jsonl
from helpline_model.taxonomy import DEMO_TAXONOMY, INTERVENTIONS, MAIN_CATEGORIES, SUB_TO_MAIN

DATA = Path(__file__).resolve().parents[1] / "data"
EVALUATION = DATA / "handwritten_eval.jsonl"
VALIDATION = DATA / "handwritten_validation.jsonl"
TRAIN_DIR = DATA / "handwritten_train"
LABEL_FIELDS = ("main_category", "sub_category", "intervention", "priority")
STYLES = ("asr", "code_switch", "dialogue", "note", "narrative")
# A 12-word run in common is a copied sentence, not a shared turn of phrase.
COPY_RUN = 12


@cache
def rows_of(path: Path) -> tuple[dict, ...]:
    return tuple(read_jsonl(path))


def word_ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z']+", text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def runs_of(rows: tuple[dict, ...], n: int = COPY_RUN) -> set[tuple[str, ...]]:
    runs: set[tuple[str, ...]] = set()
    for row in rows:
        runs |= word_ngrams(row["narrative"], n)
    return runs


@cache
def corpus_string_literals() -> tuple[str, ...]:
    """Every string literal in the corpus package: its templates, pools and fillers."""
    literals: list[str] = []
    for module in sorted(Path(corpus.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                literals.append(node.value)
    return tuple(literals)


@cache
def set_runs(path: Path) -> frozenset[tuple[str, ...]]:
    """Every COPY_RUN-word run of a hand-written set's narratives (read once per session)."""
    return frozenset(runs_of(rows_of(path)))


@cache
def template_runs() -> frozenset[tuple[str, ...]]:
    """Every COPY_RUN-word run of the corpus package's string literals. A slot ("{name}") reads
    as the word "name", so a run crossing it matches only a verbatim template."""
    runs: set[tuple[str, ...]] = set()
    for literal in corpus_string_literals():
        runs |= word_ngrams(literal, COPY_RUN)
    return frozenset(runs)


def copied_runs(rows: tuple[dict, ...], other: Set[tuple[str, ...]]) -> list[tuple[str, str]]:
    """(row id, the first shared run) for each row sharing a COPY_RUN-word run with `other`."""
    found = []
    for row in rows:
        shared = word_ngrams(row["narrative"], COPY_RUN) & other
        if shared:
            found.append((row["id"], " ".join(min(shared))))
    return found


def label_values() -> dict[str, set[str]]:
    """The valid values of each label field in the demo taxonomy."""
    return {
        "main_category": set(MAIN_CATEGORIES),
        "sub_category": set(SUB_TO_MAIN),
        "intervention": set(INTERVENTIONS),
        "priority": set(DEMO_TAXONOMY.priorities),
    }
