"""Dataset loading and label cleaning: fixes are applied, rejections are reported."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from export.tiny import production_labels, production_sub_to_main
from training.data import (
    Example,
    LabelVocabulary,
    clean_records,
    data_hash,
    load_dataset,
    read_records,
    split_records,
)

NARRATIVE = "A caller reported a case."


def _row(**overrides: object) -> dict:
    row = {
        "narrative": NARRATIVE,
        "sub_category": "Sexual Abuse",
        "intervention": "Referral",
        "priority": "high",
    }
    row.update(overrides)
    return row


@pytest.fixture(scope="module")
def demo() -> LabelVocabulary:
    return LabelVocabulary.demo()


@pytest.fixture(scope="module")
def production() -> LabelVocabulary:
    return LabelVocabulary(production_labels(), production_sub_to_main())


def test_clean_row_keeps_labels_and_derives_main(demo: LabelVocabulary) -> None:
    ds = clean_records([_row()], demo)
    assert ds.examples == [
        Example(NARRATIVE, "VANE", "Sexual Abuse", "Referral", "high", row=1, source="")
    ]
    assert ds.report.n_kept == 1 and ds.report.n_rejected == 0


def test_production_field_name_category(demo: LabelVocabulary) -> None:
    row = _row()
    row["category"] = row.pop("sub_category")
    assert clean_records([row], demo).examples[0].sub == "Sexual Abuse"


def test_case_and_whitespace_folding(demo: LabelVocabulary) -> None:
    ds = clean_records(
        [
            _row(sub_category="legal issues ", intervention=" referral", priority="HIGH"),
            _row(sub_category="  Sexual   abuse", main_category="vane"),
        ],
        demo,
    )
    assert [(e.sub, e.main, e.intervention, e.priority) for e in ds.examples] == [
        ("Legal Issues", "Information", "Referral", "high"),
        ("Sexual Abuse", "VANE", "Referral", "high"),
    ]
    assert ds.report.fixed["sub_category: case/whitespace"] == 2
    assert ds.report.fixed["main_category: case/whitespace"] == 1


def test_legacy_aliases(demo: LabelVocabulary) -> None:
    ds = clean_records(
        [
            _row(sub_category="Student/ Teacher Relationship"),
            _row(sub_category="Traditional Practice"),
        ],
        demo,
    )
    assert [e.sub for e in ds.examples] == ["Relationships (Student/Teacher)", "Harmful Practice"]
    assert [e.main for e in ds.examples] == ["Advice and Counselling", "GBV"]
    assert ds.report.fixed["sub_category: legacy alias"] == 2


def test_numeric_priorities_normalised(production: LabelVocabulary) -> None:
    ds = clean_records(
        [
            _row(sub_category="Sexual Abuse", priority="2.0", intervention="Referral"),
            _row(sub_category="Sexual Abuse", priority=3, intervention="Referral"),
            _row(sub_category="Sexual Abuse", priority="1", intervention="Referral"),
        ],
        production,
    )
    assert [e.priority for e in ds.examples] == ["2", "3", "1"]
    assert ds.report.fixed["priority: numeric"] == 1  # "2.0"; 3 and "1" are exact


def test_numbers_are_not_guessed_onto_named_priorities(demo: LabelVocabulary) -> None:
    ds = clean_records([_row(priority="1")], demo)
    assert not ds.examples
    assert ds.report.rejected == {"unknown priority": 1}


def test_ambiguous_case_duplicates_are_rejected(production: LabelVocabulary) -> None:
    ds = clean_records(
        [_row(sub_category="Legal Issues", priority="1"), _row(sub_category="LEGAL ISSUES")],
        production,
    )
    assert [e.sub for e in ds.examples] == ["Legal Issues"]
    assert ds.report.rejected["ambiguous sub_category"] == 1


def test_rejections_are_counted_with_reasons_and_rows(demo: LabelVocabulary) -> None:
    records = [
        _row(),
        _row(narrative="   "),
        _row(priority="N/A"),
        _row(priority=None),
        _row(sub_category="Physical Abuse, Sexual Abuse"),
        _row(sub_category="Sexual Abuse/Physical Abuse"),
        _row(sub_category="Space Travel"),
        _row(sub_category="Other"),
        _row(intervention="Referral and Counselling"),
        _row(main_category="GBV"),  # Sexual Abuse belongs to VANE
        _row(priority="2.5"),
        _row(),
    ]
    ds = clean_records(records, demo, "batch.jsonl")
    report = ds.report
    assert (report.n_read, report.n_kept, report.n_rejected) == (12, 2, 10)
    assert [e.row for e in ds.examples] == [1, 12]
    assert dict(report.rejected) == {
        "empty narrative": 1,
        "missing priority": 2,
        "composite sub_category": 2,
        "unknown sub_category": 1,
        "uninformative sub_category": 1,
        "composite intervention": 1,
        "main_category inconsistent with sub_category": 1,
        "unknown priority": 1,
    }
    assert report.first_rows["missing priority"] == [3, 4]
    assert report.first_rows["composite sub_category"] == [5, 6]
    as_dict = report.to_dict()
    assert as_dict["rejected_by_reason"]["empty narrative"] == {"count": 1, "first_rows": [2]}
    # The report never carries narrative text.
    assert NARRATIVE not in json.dumps(as_dict) and NARRATIVE not in report.summary()


def test_labels_containing_separators_are_not_composite(demo: LabelVocabulary) -> None:
    ds = clean_records(
        [_row(sub_category="HIV/AIDS"), _row(sub_category="Feeding & Food preparation")], demo
    )
    assert [e.sub for e in ds.examples] == ["HIV/AIDS", "Feeding & Food preparation"]


def test_first_rows_are_capped(demo: LabelVocabulary) -> None:
    ds = clean_records([_row(narrative="")] * 9, demo)
    assert ds.report.rejected["empty narrative"] == 9
    assert ds.report.first_rows["empty narrative"] == [1, 2, 3, 4, 5]


def test_file_formats(tmp_path: Path) -> None:
    rows = [_row(), _row(sub_category="Bullying", intervention="Counselling", priority="low")]
    (tmp_path / "a.json").write_text(json.dumps(rows))
    (tmp_path / "a.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    with (tmp_path / "a.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    loaded = [load_dataset(tmp_path / f"a.{ext}") for ext in ("json", "jsonl", "csv")]
    assert all(
        [e.normalized() for e in ds.examples] == [e.normalized() for e in loaded[0].examples]
        for ds in loaded
    )
    assert [e.main for e in loaded[2].examples] == ["VANE", "Advice and Counselling"]
    (tmp_path / "bad.json").write_text(json.dumps({"narrative": "x"}))
    with pytest.raises(ValueError, match="list of objects"):
        read_records(tmp_path / "bad.json")


def test_data_hash_depends_on_rows_not_provenance(demo: LabelVocabulary) -> None:
    a = clean_records([_row(), _row(priority="low")], demo, "a").examples
    b = clean_records([_row(), _row(priority="low")], demo, "b").examples
    assert data_hash({"train": a}) == data_hash({"train": b})
    assert data_hash({"train": a}) != data_hash({"train": a[:1]})
    assert data_hash({"train": a}) != data_hash({"test": a})


def test_split_records_is_seeded_and_disjoint() -> None:
    records = [_row(narrative=f"case {i}", sub_category=s) for i in range(30)
               for s in ("Bullying", "Sexual Abuse")]  # fmt: skip
    parts = split_records(records, seed=4)
    assert {k: len(v) for k, v in parts.items()} == {"train": 48, "validation": 6, "test": 6}
    texts = [{r["narrative"] + r["sub_category"] for r in p} for p in parts.values()]
    assert sum(len(t) for t in texts) == len(set().union(*texts)) == 60
    assert split_records(records, seed=4) == parts
    # Rows remember their file position, and cleaning reports it.
    rows = [r["_row"] for p in parts.values() for r in p]
    assert sorted(rows) == list(range(1, 61))
    ds = clean_records(parts["test"], LabelVocabulary.demo())
    assert [e.row for e in ds.examples] == [r["_row"] for r in parts["test"]]
    assert split_records(records, seed=5) != parts
