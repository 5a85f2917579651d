"""Category embeddings come from the encoder (model.pooled), one row per label of every
head, with an index that names each row; and they feed the report's confused pairs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from helpline_model.checkpoint import load_checkpoint
from helpline_model.layout import HEAD_FIELDS, HEADS
from training.embeddings import (
    EMBEDDINGS_FILE,
    INDEX_FILE,
    LABEL_TEXT,
    NARRATIVE_MEAN,
    CategoryEmbeddings,
    compute_category_embeddings,
    write_category_embeddings,
)
from training.evaluate import add_embedding_similarities, evaluate_rows
from training.report import markdown_report


@pytest.fixture(scope="module")
def checkpoint(tiny_checkpoint: Path):
    return load_checkpoint(tiny_checkpoint)


def _ids(checkpoint, text: str) -> torch.Tensor:
    from client.core.tokenization import NarrativeTokenizer

    tokenizer = NarrativeTokenizer(checkpoint.folder)
    body = tokenizer.encode(text).ids.tolist()
    return torch.tensor([[tokenizer.cls_id, *body, tokenizer.sep_id]])


def test_one_encoder_vector_per_label(checkpoint) -> None:
    embeddings = compute_category_embeddings(checkpoint)
    n_labels = sum(checkpoint.labels.sizes().values())
    assert n_labels == 7 + 65 + 5 + 3
    dim = checkpoint.model.config.dim
    assert embeddings.vectors.shape == (n_labels, dim)
    assert embeddings.vectors.dtype == np.float32
    expected = [(h, label) for h in HEADS for label in checkpoint.labels.for_head(h)]
    assert [(e["head"], e["label"]) for e in embeddings.index] == expected
    assert {e["source"] for e in embeddings.index} == {LABEL_TEXT}

    ids = _ids(checkpoint, "Sexual Abuse")
    with torch.inference_mode():
        pooled = checkpoint.model.pooled(ids, torch.ones_like(ids))[0].numpy()
        logits = [out[0].numpy() for out in checkpoint.model(ids, torch.ones_like(ids))]
    vector = embeddings.vector("sub", "Sexual Abuse")
    np.testing.assert_allclose(vector, pooled, rtol=1e-5, atol=1e-6)
    # Not what the legacy trainer saved: the (3-wide) priority logits, or any head's logits.
    for head_logits in logits:
        assert head_logits.shape != vector.shape or not np.allclose(head_logits, vector)
    assert dim != len(checkpoint.labels.priority)


def test_narrative_means_save_and_load(checkpoint, tmp_path: Path) -> None:
    rows = [
        {
            "narrative": "She was touched inappropriately by a neighbour.",
            "main_category": "VANE",
            "sub_category": "Sexual Abuse",
            "intervention": "Referral",
            "priority": "3",
        },
        {
            "narrative": "The boy asked where to register his birth certificate.",
            "main_category": "Child Maintenance & Custody",
            "sub_category": "Birth Registration",
            "intervention": "Signposting",
            "priority": "1",
        },
        {
            "narrative": "A girl was assaulted on her way home from school.",
            "main_category": "VANE",
            "sub_category": "Sexual Abuse",
            "intervention": "Referral",
            "priority": "3",
        },
    ]
    embeddings = write_category_embeddings(checkpoint.folder, tmp_path, rows)
    n_labels = sum(checkpoint.labels.sizes().values())
    means = [e for e in embeddings.index if e["source"] == NARRATIVE_MEAN]
    # 2 mains, 2 subs, 2 interventions, 2 priorities occur in the rows.
    assert len(means) == 8 and embeddings.vectors.shape[0] == n_labels + 8
    sexual = next(e for e in means if e["label"] == "Sexual Abuse")
    assert sexual["n_narratives"] == 2

    index = json.loads((tmp_path / INDEX_FILE).read_text())
    assert [r["row"] for r in index["rows"]] == list(range(n_labels + 8))
    assert index["rows"][0] == {
        "row": 0,
        "head": "main",
        "label": checkpoint.labels.main[0],
        "source": LABEL_TEXT,
        "n_narratives": 0,
    }
    assert np.load(tmp_path / EMBEDDINGS_FILE).shape == (n_labels + 8, checkpoint.model.config.dim)

    loaded = CategoryEmbeddings.load(tmp_path)
    np.testing.assert_array_equal(loaded.vectors, embeddings.vectors)
    assert loaded.cosine("sub", "Sexual Abuse", "Sexual Abuse") == pytest.approx(1.0)
    assert loaded.cosine("sub", "Sexual Abuse", "Birth Registration", NARRATIVE_MEAN) is not None
    assert loaded.cosine("sub", "Sexual Abuse", "Adoption", NARRATIVE_MEAN) is None
    # Labels differing only in case are the same text for an uncased tokenizer.
    assert loaded.cosine("sub", "Legal Issues", "Legal issues") == pytest.approx(1.0)
    assert loaded.cosine_percentile("sub", 1.0) == 1.0


def test_confused_pairs_get_their_similarity(checkpoint) -> None:
    embeddings = compute_category_embeddings(checkpoint)
    labels = checkpoint.labels
    true = {h: labels.for_head(h)[0] for h in HEADS}
    wrong = {h: labels.for_head(h)[1] for h in HEADS}
    right_row = {HEAD_FIELDS[h]: true[h] for h in HEADS}
    wrong_row = {HEAD_FIELDS[h]: wrong[h] for h in HEADS}
    rows = [right_row] * 3
    preds = [right_row, wrong_row, wrong_row]
    metrics = evaluate_rows(rows, preds, labels)
    add_embedding_similarities(metrics, embeddings)
    pair = metrics["heads"]["sub"]["most_confused"][0]
    assert (pair["true"], pair["predicted"], pair["count"]) == (true["sub"], wrong["sub"], 2)
    expected = embeddings.cosine("sub", true["sub"], wrong["sub"])
    assert pair["similarity"][LABEL_TEXT]["cosine"] == pytest.approx(expected)
    assert 0.0 <= pair["similarity"][LABEL_TEXT]["percentile"] <= 1.0
    report = markdown_report(metrics)
    assert "embedding similarity" in report
    assert "close in meaning" in report or "far apart" in report
