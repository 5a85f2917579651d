"""MiniLM (BERT layout) -> DistilBERT layout: the converted encoder computes what BERT does."""

from __future__ import annotations

import pytest
import torch
from transformers import BertConfig, BertModel

from helpline_model.checkpoint import MultiTaskDistilBert
from helpline_model.taxonomy import demo_labels
from training.convert import (
    convert_bert_state,
    convert_minilm,
    distilbert_config_from_bert,
    minilm_dir,
)


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    # Row 0 is padded (mask 0 after [SEP]), as the gateway sends batches.
    ids = torch.tensor(
        [
            [101, 1996, 2775, 2003, 1999, 3827, 1012, 102, 0, 0, 0, 0],
            [101, 2016, 2038, 2025, 2042, 2000, 2082, 2005, 2048, 3134, 1012, 102],
        ]
    )
    return ids, (ids != 0).long()


def test_converted_minilm_matches_bert_model() -> None:
    converted = convert_minilm(demo_labels()).eval()
    reference = BertModel.from_pretrained(str(minilm_dir())).eval()
    ids, mask = _batch()
    with torch.no_grad():
        ours = converted.distilbert(input_ids=ids, attention_mask=mask)[0]
        theirs = reference(input_ids=ids, attention_mask=mask).last_hidden_state
    assert ours.shape == theirs.shape == (2, 12, 384)
    real = mask.bool()
    assert (ours[real] - theirs[real]).abs().max().item() < 1e-4
    assert (ours - theirs).abs().max().item() < 1e-4


def test_converted_config_and_heads() -> None:
    labels = demo_labels()
    model = convert_minilm(labels, seed=3)
    config = model.config
    assert (config.dim, config.n_layers, config.n_heads, config.hidden_dim) == (384, 6, 12, 1536)
    assert (config.vocab_size, config.max_position_embeddings) == (30522, 512)
    assert model.classifier_sub.out_features == len(labels.sub)
    assert model.classifier_priority.out_features == len(labels.priority)
    # Seeded heads: the same seed gives the same random heads.
    again = convert_minilm(labels, seed=3)
    assert torch.equal(model.classifier_main.weight, again.classifier_main.weight)


def test_random_small_bert_converts_exactly() -> None:
    """The mapping is generic: any absolute-position BERT, not only the shipped weights."""
    torch.manual_seed(0)
    bert_config = BertConfig(
        vocab_size=200,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=40,
    )
    bert = BertModel(bert_config, add_pooling_layer=False).eval()
    # token_type_embeddings[0] must be folded in, so make it clearly non-zero.
    with torch.no_grad():
        bert.embeddings.token_type_embeddings.weight.normal_(0, 1)
    config = distilbert_config_from_bert(bert_config.to_dict())
    model = MultiTaskDistilBert(config, demo_labels().sizes()).eval()
    model.distilbert.load_state_dict(convert_bert_state(bert.state_dict(), 2), strict=False)
    ids = torch.randint(1, 200, (3, 9))
    mask = torch.ones_like(ids)
    mask[0, 5:] = 0
    with torch.no_grad():
        ours = model.distilbert(input_ids=ids, attention_mask=mask)[0]
        theirs = bert(input_ids=ids, attention_mask=mask).last_hidden_state
    assert (ours - theirs).abs().max().item() < 1e-5


def test_unsupported_bert_variants_are_refused() -> None:
    base = BertConfig(hidden_size=32, num_attention_heads=4).to_dict()
    with pytest.raises(ValueError, match="absolute"):
        distilbert_config_from_bert({**base, "position_embedding_type": "relative_key"})
    with pytest.raises(ValueError, match="activation"):
        distilbert_config_from_bert({**base, "hidden_act": "relu"})
