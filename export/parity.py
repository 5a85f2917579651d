"""ONNX Runtime vs PyTorch: the checks every export must pass before it is written.

Graphs with fp32 weights (fp32, fp32-opt, and fp16, whose file is fp32 until TensorRT builds
it in fp16) must match PyTorch logits within `FP32_TOLERANCE` on padded random batches of
several sizes and lengths and on real text. Reduced-precision graphs cannot match logits
that closely, so they are judged by what the gateway uses: the argmax of each head on real
text. int8 graphs are run as they are, openvino-bf16 graphs by OpenVINO in bf16
(export/openvino_runner.py) as the Python backend serves them; for fp16, a copy of the graph
with fp16 weights and fp16 tensors between ops stands in for TensorRT's fp16 engine
(`fp16_estimate`). The export fails when main-category agreement is below the configured
threshold.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from export import openvino_runner
from export.onnx_runner import OrtRunner
from export.openvino_runner import OPENVINO_PRECISION, OpenVinoRunner
from helpline_model.checkpoint import Checkpoint
from helpline_model.layout import HEADS
from helpline_model.torch_runner import TorchRunner

FP32_TOLERANCE = 1e-4
# Precisions whose file holds fp32 weights, checked against FP32_TOLERANCE.
FP32_WEIGHT_PRECISIONS = ("fp32", "fp32-opt", "fp16")
# Precisions whose answers are judged by argmax agreement, and of which graph.
AGREEMENT_PRECISIONS = ("int8", "int8-block", "fp16", OPENVINO_PRECISION)
FP16_ESTIMATE = (
    "the same graph with fp16 weights and fp16 tensors between ops (onnxruntime.transformers"
    ".float16, int64 in / fp32 out) on ONNX Runtime's CPU provider; an estimate of TensorRT's "
    "FP16 engine, not a run of it"
)
# 99% main-category agreement: int8 is a speed option, and a case routed to another
# category in more than 1 of 100 narratives would change what counsellors see.
DEFAULT_MIN_AGREEMENT = 0.99
BATCH_SIZES = (1, 3, 8)


class ParityError(RuntimeError):
    pass


class PrecisionUnavailable(ParityError):
    """The precision would not be what its name says on this CPU; refused before any work."""


def require_precision_available(precision: str) -> None:
    """`openvino-bf16` needs a CPU that computes bf16 natively: elsewhere OpenVINO silently
    runs the graph in f32, a version whose name and metadata would claim bf16's speed."""
    if precision == OPENVINO_PRECISION and not openvino_runner.native_bf16():
        raise PrecisionUnavailable(
            f"{precision}: this CPU has no native bf16 (OpenVINO's CPU "
            "OPTIMIZATION_CAPABILITIES lacks BF16; it needs AVX512_BF16 or AMX), so OpenVINO "
            "would run it in f32; export int8, int8-block or fp32-opt here instead"
        )


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
    # fp16 only: `FP16_ESTIMATE`'s agreement with PyTorch (what the 0.99 gate judges).
    fp16_estimate: dict | None = None
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
    return TorchRunner(checkpoint.model)(ids, mask)


def fp16_copy(onnx_path: Path) -> bytes:
    """The graph with fp16 weights and fp16 tensors between ops, int64 in and fp32 out. Run on
    the CPU provider, ops without an fp16 kernel compute in fp32 between Casts, so every
    tensor is still rounded to fp16 as it leaves an op, as in an fp16 engine."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = convert_float_to_float16(onnx.load(str(onnx_path)), keep_io_types=True)
    return model.SerializeToString()


def _update_max(target: dict[str, float], ref: dict, got: dict) -> None:
    for head in HEADS:
        diff = float(np.max(np.abs(ref[head] - got[head])))
        target[head] = max(target.get(head, 0.0), diff)


@dataclass
class _TextScores:
    """One graph's answers on the text set, against PyTorch's."""

    n: int = 0
    agree: dict[str, int] = field(default_factory=lambda: dict.fromkeys(HEADS, 0))
    max_abs_diff: dict[str, float] = field(default_factory=dict)

    def add(self, ref: dict[str, np.ndarray], got: dict[str, np.ndarray]) -> None:
        _update_max(self.max_abs_diff, ref, got)
        for head in HEADS:
            self.agree[head] += int(np.sum(ref[head].argmax(-1) == got[head].argmax(-1)))
        self.n += len(ref[HEADS[0]])

    def agreement(self) -> dict[str, float]:
        return {h: self.agree[h] / self.n for h in HEADS} if self.n else {}


def _score_texts(
    checkpoint: Checkpoint,
    runners: list[OrtRunner | OpenVinoRunner],
    texts: list[str],
    max_length: int,
) -> list[_TextScores]:
    """PyTorch runs once per batch; every runner is compared with the same reference."""
    scores = [_TextScores() for _ in runners]
    for ids, mask in text_batches(checkpoint, texts, max_length):
        ref = torch_logits(checkpoint, ids, mask)
        for runner, score in zip(runners, scores, strict=True):
            score.add(ref, runner(ids, mask))
    return scores


def _require_agreement(what: str, agreement: dict[str, float], n: int, minimum: float) -> None:
    if not n:
        raise ParityError(f"{what}: argmax agreement needs a text set; none given")
    if agreement["main"] < minimum:
        raise ParityError(
            f"{what}: main-category argmax agreement {agreement['main']:.4f} on "
            f"{n} texts < required {minimum:.4f}"
        )


def _runner(
    onnx_path: Path, precision: str, providers: list[str] | None
) -> OrtRunner | OpenVinoRunner:
    """The graph run as it will be served: openvino-bf16 in OpenVINO, the others in ONNX
    Runtime."""
    if precision != OPENVINO_PRECISION:
        return OrtRunner(onnx_path, providers)
    require_precision_available(precision)
    runner = OpenVinoRunner(onnx_path)
    if runner.precision != "bf16":
        raise PrecisionUnavailable(
            f"{precision}: OpenVINO compiled the graph in {runner.precision}"
        )
    return runner


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
    runner = _runner(onnx_path, precision, providers)
    report = ParityReport(precision=precision, execution_provider=runner.provider)

    vocab = int(checkpoint.model.config.vocab_size)
    for ids, mask in random_batches(checkpoint.max_length, vocab):
        report.shapes_checked.append(list(ids.shape))
        _update_max(
            report.max_abs_diff_random, torch_logits(checkpoint, ids, mask), runner(ids, mask)
        )

    runners = [runner]
    if precision == "fp16":
        runners.append(OrtRunner(fp16_copy(onnx_path)))
    max_length = text_max_length or checkpoint.max_length
    scores = _score_texts(checkpoint, runners, texts, max_length)
    report.n_texts = scores[0].n
    report.max_abs_diff_text = scores[0].max_abs_diff
    report.argmax_agreement_text = scores[0].agreement()

    if precision in FP32_WEIGHT_PRECISIONS:
        report.tolerance = FP32_TOLERANCE
        worst = max([*report.max_abs_diff_random.values(), *report.max_abs_diff_text.values()])
        if worst > FP32_TOLERANCE:
            raise ParityError(
                f"{precision}: max abs logit difference {worst:.3g} > {FP32_TOLERANCE:g}"
            )
    if precision in AGREEMENT_PRECISIONS:
        report.min_main_agreement = min_main_agreement
        judged = scores[-1]
        if precision == "fp16":
            report.fp16_estimate = {
                "how": FP16_ESTIMATE,
                "argmax_agreement_text": judged.agreement(),
                "max_abs_diff_text": judged.max_abs_diff,
            }
        what = "fp16 (estimated on CPU)" if precision == "fp16" else precision
        _require_agreement(what, judged.agreement(), judged.n, min_main_agreement)
    report.passed = True
    return report
