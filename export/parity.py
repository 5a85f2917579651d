"""ONNX Runtime vs PyTorch: the checks every export must pass before it is written.

fp32 graphs (plain and fused) must match PyTorch logits within `FP32_TOLERANCE` on padded
random batches of several sizes and lengths and on real text. Reduced-precision graphs
(int8, fp16) cannot match logits that closely, so they are judged by what the gateway
uses: the argmax of each head on real text. The export fails when main-category
agreement is below the configured threshold.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from export.layout import HEADS, OUTPUT_NAMES
from export.model import Checkpoint

FP32_TOLERANCE = 1e-4
# 99% main-category agreement: int8 is a speed option, and a case routed to another
# category in more than 1 of 100 narratives would change what counsellors see.
DEFAULT_MIN_AGREEMENT = 0.99
BATCH_SIZES = (1, 3, 8)


class ParityError(RuntimeError):
    pass


@dataclass
class ParityReport:
    precision: str
    max_abs_diff_random: dict[str, float] = field(default_factory=dict)
    max_abs_diff_text: dict[str, float] = field(default_factory=dict)
    argmax_agreement_text: dict[str, float] = field(default_factory=dict)
    n_texts: int = 0
    shapes_checked: list[list[int]] = field(default_factory=list)
    tolerance: float | None = None
    min_main_agreement: float | None = None
    execution_provider: str = "CPUExecutionProvider"
    passed: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def _lengths(max_length: int) -> list[int]:
    return sorted({1, 2, 17, min(128, max_length), max_length})


def random_batches(max_length: int, vocab_size: int, seed: int = 0):
    """Padded batches: each row has its own real length, the rest is [PAD] with mask 0."""
    rng = np.random.default_rng(seed)
    for batch in BATCH_SIZES:
        for length in _lengths(max_length):
            ids = rng.integers(1000, vocab_size, size=(batch, length), dtype=np.int64)
            mask = np.zeros((batch, length), dtype=np.int64)
            real = rng.integers(1, length + 1, size=batch)
            real[0] = length  # one row always fills the batch
            for row, n in enumerate(real):
                mask[row, :n] = 1
                ids[row, n:] = 0
            ids[:, 0] = 101  # [CLS]
            yield ids, mask


def text_batches(checkpoint: Checkpoint, texts: list[str], max_length: int, batch_size: int = 8):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(checkpoint.folder))
    for start in range(0, len(texts), batch_size):
        enc = tokenizer(
            texts[start : start + batch_size],
            truncation=True,
            max_length=max_length,
            padding=True,
            return_tensors="np",
        )
        yield enc["input_ids"].astype(np.int64), enc["attention_mask"].astype(np.int64)


def torch_logits(
    checkpoint: Checkpoint, ids: np.ndarray, mask: np.ndarray
) -> dict[str, np.ndarray]:
    with torch.inference_mode():
        outputs = checkpoint.model(torch.from_numpy(ids), torch.from_numpy(mask))
    return {head: out.numpy() for head, out in zip(HEADS, outputs, strict=True)}


class OrtRunner:
    def __init__(self, onnx_path: Path, providers: list[str] | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        self.session = ort.InferenceSession(
            str(onnx_path), options, providers=providers or ["CPUExecutionProvider"]
        )
        self.provider = self.session.get_providers()[0]

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
        names = [OUTPUT_NAMES[h] for h in HEADS]
        outs = self.session.run(names, {"input_ids": ids, "attention_mask": mask})
        return {head: np.asarray(o, dtype=np.float32) for head, o in zip(HEADS, outs, strict=True)}


def _update_max(target: dict[str, float], ref: dict, got: dict) -> None:
    for head in HEADS:
        diff = float(np.max(np.abs(ref[head] - got[head])))
        target[head] = max(target.get(head, 0.0), diff)


def check_parity(
    checkpoint: Checkpoint,
    onnx_path: Path,
    precision: str,
    texts: list[str],
    *,
    min_main_agreement: float = DEFAULT_MIN_AGREEMENT,
    providers: list[str] | None = None,
    text_max_length: int | None = None,
) -> ParityReport:
    """`text_max_length`: the length real text is cut to, i.e. the chunk length the gateway
    will serve (the trained length); random batches always go up to the model's maximum."""
    runner = OrtRunner(onnx_path, providers)
    report = ParityReport(precision=precision, execution_provider=runner.provider)
    exact = precision in ("fp32", "fp32-opt")

    vocab = int(checkpoint.model.config.vocab_size)
    for ids, mask in random_batches(checkpoint.max_length, vocab):
        report.shapes_checked.append(list(ids.shape))
        _update_max(
            report.max_abs_diff_random, torch_logits(checkpoint, ids, mask), runner(ids, mask)
        )

    agree = {head: 0 for head in HEADS}
    for ids, mask in text_batches(checkpoint, texts, text_max_length or checkpoint.max_length):
        ref, got = torch_logits(checkpoint, ids, mask), runner(ids, mask)
        _update_max(report.max_abs_diff_text, ref, got)
        for head in HEADS:
            agree[head] += int(np.sum(ref[head].argmax(-1) == got[head].argmax(-1)))
        report.n_texts += len(ids)
    if report.n_texts:
        report.argmax_agreement_text = {h: agree[h] / report.n_texts for h in HEADS}

    if exact:
        report.tolerance = FP32_TOLERANCE
        worst = max([*report.max_abs_diff_random.values(), *report.max_abs_diff_text.values()])
        if worst > FP32_TOLERANCE:
            raise ParityError(
                f"{precision}: max abs logit difference {worst:.3g} > {FP32_TOLERANCE:g}"
            )
    else:
        report.min_main_agreement = min_main_agreement
        if not report.n_texts:
            raise ParityError(f"{precision}: argmax agreement needs a text set; none given")
        main = report.argmax_agreement_text["main"]
        if main < min_main_agreement:
            raise ParityError(
                f"{precision}: main-category argmax agreement {main:.4f} on "
                f"{report.n_texts} texts < required {min_main_agreement:.4f}"
            )
    report.passed = True
    return report
