"""Labelled evaluation rows: the gateway's response keys per head, plus the narrative and
its row number in the source file. Read by the evaluation and the category embeddings."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from helpline_model.layout import HEAD_FIELDS, HEADS


def example_rows(examples: Sequence) -> list[dict]:
    """`training.data.Example`s as evaluation rows (gateway keys, plus narrative and row)."""
    return [
        {
            "narrative": e.narrative,
            "row": e.row,
            **{HEAD_FIELDS[h]: e.label(h) for h in HEADS},
        }
        for e in examples
    ]


def load_rows(path: Path, labels_dir: Path | None) -> tuple[list[dict], dict]:
    """(rows, cleaning summary). With a model folder, labels are cleaned onto its vocabulary
    exactly as for training; without one, rows are taken as they are (main_category needed)."""
    from training.data import LabelVocabulary, load_dataset, read_records

    if labels_dir is not None:
        dataset = load_dataset(path, LabelVocabulary.from_checkpoint(labels_dir))
        return example_rows(dataset.examples), dataset.report.to_dict()
    rows, skipped = [], 0
    for number, record in enumerate(read_records(path), 1):
        values = {
            "main_category": record.get("main_category"),
            "sub_category": record.get("sub_category", record.get("category")),
            "intervention": record.get("intervention"),
            "priority": record.get("priority"),
        }
        narrative = record.get("narrative")
        if not isinstance(narrative, str) or not narrative.strip() or None in values.values():
            skipped += 1
            continue
        rows.append(
            {"narrative": narrative, "row": number, **{k: str(v) for k, v in values.items()}}
        )
    # Same keys as `training.data.CleaningReport.to_dict`.
    return rows, {
        "source": str(path),
        "read": len(rows) + skipped,
        "kept": len(rows),
        "rejected": skipped,
    }
