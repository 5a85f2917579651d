"""Load labelled narratives (JSON, JSONL, CSV), clean their labels, and report what was rejected.

Accepted fields per row: `narrative`; sub-category as `sub_category` or the production name
`category`; `intervention`; `priority`; optional `main_category` (derived from the sub -> main
map when absent). Labels are cleaned onto a known vocabulary (the model's label files):

* exact match first; then a case / whitespace-insensitive match when it is unique
  ("legal issues " -> "Legal Issues"); then legacy aliases (helpline_model.taxonomy);
* numeric priorities are normalised ("2.0" -> "2") and kept only if the vocabulary has them;
  named priorities are never derived from numbers here, because which end of 1..3 is severe
  is configuration (see helpline_model.taxonomy);
* anything else is rejected with a reason: empty narrative, missing / "N/A" label, unknown,
  ambiguous or composite label, main category inconsistent with the sub-category.

Rejected rows are counted per reason with their first row numbers, never dropped silently.
Row numbers are 1-based positions of the records in the file (for CSV: data rows, header
excluded). Narrative text is never logged or put into a report.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from helpline_model.layout import SUB_TO_MAIN_FILE, Labels, load_labels
from helpline_model.taxonomy import DROPPED_SUB_LABELS, LEGACY_SUB_ALIASES, SUB_TO_MAIN, demo_labels

MISSING_VALUES = frozenset({"", "n/a", "na", "none", "null", "nan", "-", "?"})
# Separators that join two labels in the production data ("Physical Abuse, Sexual Abuse").
# "/" and "&" also occur inside real labels ("HIV/AIDS"), which is why a split only counts
# as composite when every part is itself a known label.
COMPOSITE_SPLIT = re.compile(r"\s*(?:,|;|\||/|&|\+|\band\b)\s*", re.IGNORECASE)
FIRST_ROWS_KEPT = 5
# Set by split_records: the row's 1-based position in the file it was split from.
ROW_KEY = "_row"


@dataclass(frozen=True)
class Example:
    """One cleaned row. `row` is its 1-based position in the source file."""

    narrative: str
    main: str
    sub: str
    intervention: str
    priority: str
    row: int = 0
    source: str = ""

    def label(self, head: str) -> str:
        return getattr(self, head)

    def normalized(self) -> dict[str, str]:
        """What the data hash covers: text and labels, not provenance."""
        return {
            "narrative": self.narrative,
            "main": self.main,
            "sub": self.sub,
            "intervention": self.intervention,
            "priority": self.priority,
        }


@dataclass
class CleaningReport:
    source: str
    n_read: int = 0
    n_kept: int = 0
    rejected: Counter = field(default_factory=Counter)
    first_rows: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    # Rows kept after a fix, per kind of fix: the fixes are worth knowing about too.
    fixed: Counter = field(default_factory=Counter)

    def reject(self, row: int, reason: str) -> None:
        self.rejected[reason] += 1
        if len(self.first_rows[reason]) < FIRST_ROWS_KEPT:
            self.first_rows[reason].append(row)

    @property
    def n_rejected(self) -> int:
        return sum(self.rejected.values())

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "read": self.n_read,
            "kept": self.n_kept,
            "rejected": self.n_rejected,
            "rejected_by_reason": {
                reason: {"count": n, "first_rows": self.first_rows[reason]}
                for reason, n in self.rejected.most_common()
            },
            "fixed": dict(self.fixed),
        }

    def summary(self) -> str:
        lines = [f"{self.source}: {self.n_read} rows read, {self.n_kept} kept, "]
        lines[0] += f"{self.n_rejected} rejected"
        for reason, n in self.rejected.most_common():
            rows = ", ".join(str(r) for r in self.first_rows[reason])
            lines.append(f"  rejected {n:>6}  {reason} (rows {rows}{', ...' if n > 5 else ''})")
        for fix, n in self.fixed.most_common():
            lines.append(f"  fixed    {n:>6}  {fix}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Dataset:
    examples: list[Example]
    report: CleaningReport


def _fold(label: str) -> str:
    return " ".join(label.split()).casefold()


class LabelVocabulary:
    """The labels a model knows, and how raw labels are cleaned onto them."""

    def __init__(
        self,
        labels: Labels,
        sub_to_main: dict[str, str],
        sub_aliases: dict[str, str] | None = None,
        dropped_subs: Iterable[str] = (),
    ) -> None:
        self.labels = labels
        self.sub_to_main = dict(sub_to_main)
        unmapped = [s for s in labels.sub if s not in self.sub_to_main]
        if unmapped:
            raise ValueError(f"sub-categories without a main category: {unmapped[:5]}")
        # Aliases only count when their target is a label of this vocabulary.
        self.sub_aliases = {
            _fold(a): t for a, t in (sub_aliases or {}).items() if t in set(labels.sub)
        }
        self.dropped_subs = {_fold(s) for s in dropped_subs}
        self._folded: dict[str, dict[str, list[str]]] = {}
        for head in ("main", "sub", "intervention", "priority"):
            by_fold: dict[str, list[str]] = defaultdict(list)
            for label in labels.for_head(head):
                by_fold[_fold(label)].append(label)
            self._folded[head] = by_fold

    @classmethod
    def demo(cls) -> LabelVocabulary:
        return cls(demo_labels(), SUB_TO_MAIN, LEGACY_SUB_ALIASES, DROPPED_SUB_LABELS)

    @classmethod
    def from_checkpoint(cls, folder: Path) -> LabelVocabulary:
        """The vocabulary of a checkpoint folder (its label files and sub_to_main.json)."""
        labels = load_labels(folder)
        path = folder / SUB_TO_MAIN_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{folder} has no {SUB_TO_MAIN_FILE}; cannot derive mains")
        sub_to_main = json.loads(path.read_text())
        return cls(labels, sub_to_main, LEGACY_SUB_ALIASES, DROPPED_SUB_LABELS)

    def match(self, head: str, raw: str) -> tuple[str | None, str]:
        """(clean label, how it matched) or (None, rejection kind)."""
        known = self.labels.for_head(head)
        if raw in known:
            return raw, "exact"
        candidates = self._folded[head].get(_fold(raw), [])
        if len(candidates) == 1:
            return candidates[0], "case/whitespace"
        if len(candidates) > 1:
            # e.g. the production vocabulary's "Legal Issues" / "Legal issues".
            return None, "ambiguous"
        if head == "sub":
            if _fold(raw) in self.dropped_subs:
                return None, "uninformative"
            if _fold(raw) in self.sub_aliases:
                return self.sub_aliases[_fold(raw)], "legacy alias"
        parts = [p for p in COMPOSITE_SPLIT.split(raw) if p.strip()]
        if len(parts) > 1 and all(
            p in known or len(self._folded[head].get(_fold(p), [])) == 1 for p in parts
        ):
            return None, "composite"
        return None, "unknown"

    def clean_priority(self, raw: str) -> tuple[str | None, str]:
        text = raw.strip()
        try:
            number = float(text)
        except ValueError:
            return self.match("priority", text)
        if not number.is_integer():
            return None, "unknown"
        # "2.0" (pandas' float columns) and "2" are the same priority.
        clean = str(int(number))
        if clean in self.labels.priority:
            return clean, "exact" if clean == text else "numeric"
        return None, "unknown"


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN from pandas-written files
        return ""
    return str(value)


def _is_missing(value: str) -> bool:
    return value.strip().casefold() in MISSING_VALUES


def clean_record(
    record: dict, row: int, vocab: LabelVocabulary, report: CleaningReport
) -> Example | None:
    narrative = _text(record.get("narrative"))
    if not narrative.strip():
        report.reject(row, "empty narrative")
        return None

    raw = {
        # `category` is the production name of the sub-category field.
        "sub": _text(record.get("sub_category")) or _text(record.get("category")),
        "intervention": _text(record.get("intervention")),
        "priority": _text(record.get("priority")),
    }
    clean: dict[str, str] = {}
    for head, value in raw.items():
        field_name = "sub_category" if head == "sub" else head
        if _is_missing(value):
            report.reject(row, f"missing {field_name}")
            return None
        if head == "priority":
            label, how = vocab.clean_priority(value)
        else:
            label, how = vocab.match(head, value)
        if label is None:
            report.reject(row, f"{how} {field_name}")
            return None
        if how != "exact":
            report.fixed[f"{field_name}: {how}"] += 1
        clean[head] = label

    derived_main = vocab.sub_to_main[clean["sub"]]
    raw_main = _text(record.get("main_category"))
    if _is_missing(raw_main):
        main = derived_main
    else:
        main, how = vocab.match("main", raw_main)
        if main is None:
            report.reject(row, f"{how} main_category")
            return None
        if main != derived_main:
            report.reject(row, "main_category inconsistent with sub_category")
            return None
        if how != "exact":
            report.fixed[f"main_category: {how}"] += 1
    return Example(narrative, main, clean["sub"], clean["intervention"], clean["priority"], row)


def read_records(path: Path) -> list[dict]:
    """Rows of a JSON list, JSONL or CSV file, as dicts."""
    suffix = path.suffix.casefold()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))
    text = path.read_text(encoding="utf-8")
    if suffix == ".jsonl":
        records = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}: line {number} is not JSON ({exc.msg})") from None
    else:
        records = json.loads(text)
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ValueError(f"{path}: expected a list of objects")
    return records


def clean_records(records: Sequence[dict], vocab: LabelVocabulary, source: str = "") -> Dataset:
    report = CleaningReport(source)
    examples = []
    for position, record in enumerate(records, 1):
        row = int(record.get(ROW_KEY, position))
        report.n_read += 1
        example = clean_record(record, row, vocab, report)
        if example is not None:
            examples.append(replace(example, source=source))
    report.n_kept = len(examples)
    return Dataset(examples, report)


def load_dataset(path: Path, vocab: LabelVocabulary | None = None) -> Dataset:
    return clean_records(read_records(path), vocab or LabelVocabulary.demo(), str(path))


def data_hash(splits: dict[str, Sequence[Example]]) -> str:
    """sha256 over the normalized rows of every split, in order: identifies training data."""
    digest = hashlib.sha256()
    for name in sorted(splits):
        digest.update(f"\x00split:{name}\x00".encode())
        for example in splits[name]:
            digest.update(json.dumps(example.normalized(), sort_keys=True).encode())
            digest.update(b"\n")
    return digest.hexdigest()


def split_records(
    records: Sequence[dict], seed: int, fractions: tuple[float, float] = (0.1, 0.1)
) -> dict[str, list[dict]]:
    """Seeded train / validation / test split of raw rows, stratified by the raw sub-category.

    Raw rows are split (not cleaned ones) because cleaning depends on the vocabulary of the
    model being trained; a rejected row is then reported in the split it fell into.
    """
    val_fraction, test_fraction = fractions
    if val_fraction <= 0 or test_fraction <= 0 or val_fraction + test_fraction >= 1:
        raise ValueError("validation and test fractions must be > 0 and sum to < 1")
    groups: dict[str, list[int]] = defaultdict(list)
    for index, record in enumerate(records):
        sub = _text(record.get("sub_category")) or _text(record.get("category"))
        groups[_fold(sub)].append(index)
    rng = random.Random(seed)
    assigned: dict[str, list[int]] = {"train": [], "validation": [], "test": []}
    for key in sorted(groups):
        indices = groups[key]
        rng.shuffle(indices)
        n_val = round(len(indices) * val_fraction)
        n_test = round(len(indices) * test_fraction)
        assigned["validation"] += indices[:n_val]
        assigned["test"] += indices[n_val : n_val + n_test]
        assigned["train"] += indices[n_val + n_test :]
    # Each row keeps its position in the input ("_row"), so rejections point at file rows.
    return {
        name: [{**records[i], ROW_KEY: i + 1} for i in sorted(idx)]
        for name, idx in assigned.items()
    }
