"""A checkpoint classified as the gateway would serve it, in PyTorch in this process.

The gateway's classification pipeline (client/core/pipeline.py) over a `TorchRunner`: the
same tokenizer, chunks, buckets, calibration and aggregation as a version exported from the
checkpoint. `chunk_logits` stops before aggregation, for what needs the raw chunk logits:
fitting temperatures and the escalation threshold on validation (training/calibration.py),
and reports that compare calibrated with uncalibrated results on the same logits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from helpline_model.layout import HEAD_FIELDS, HEADS, trained_max_length

Progress = Callable[[str], None]


def quiet(_: str) -> None:
    pass


def prediction_of(result) -> dict:
    """A `client.core.aggregation.CaseResult` in the gateway's response keys."""
    out: dict = {HEAD_FIELDS[h]: result.label(h) for h in HEADS}
    out["confidence_scores"] = {HEAD_FIELDS[h]: result.confidence(h) for h in HEADS}
    out["chunks_processed"] = result.n_chunks
    return out


@dataclass(frozen=True)
class CaseLogits:
    """One narrative's chunk logits `{head: (n_chunks, n_labels)}` and chunk token counts."""

    logits: dict[str, np.ndarray]
    token_counts: list[int]


def chunk_logits(
    model,
    tokenizer,
    narratives: Sequence[str],
    max_length: int,
    *,
    overlap: int | None = None,
    batch_size: int = 32,
    progress: Progress = quiet,
) -> list[CaseLogits]:
    """Raw logits of every chunk the gateway would cut from each narrative, before any
    temperature (PyTorch fp32; `model` may be one still in training, `tokenizer` is a
    NarrativeTokenizer). Chunks, buckets and packing are the classification pipeline's."""
    from client.core.pipeline import ChunkingPlan, run_packed
    from helpline_model.torch_runner import TorchRunner

    plan = ChunkingPlan.for_model(max_length, overlap=-1 if overlap is None else overlap)
    encoded = tokenizer.encode_batch(list(narratives))
    chunks_of = []
    for i, (text, tokens) in enumerate(zip(narratives, encoded, strict=True)):
        chunks = plan.chunk(tokens, text, tokenizer)
        if not chunks:
            raise ValueError(f"narrative {i} has no tokens (the gateway refuses it too)")
        chunks_of.append(chunks)
    was_training = model.training
    try:
        runner = TorchRunner(model)
        logits = asyncio.run(run_packed(runner, chunks_of, plan, tokenizer.pad_id, batch_size))
    finally:
        model.train(was_training)
    progress(f"  {sum(len(c) for c in chunks_of)} chunks")
    return [
        CaseLogits(case, [c.token_count for c in chunks])
        for case, chunks in zip(logits, chunks_of, strict=True)
    ]


def checkpoint_pipeline(
    checkpoint_dir: str | Path,
    max_length: int | None = None,
    *,
    overlap: int | None = None,
    batch_size: int = 32,
):  # -> client.core.pipeline.ClassificationPipeline
    """The gateway's classification pipeline over this checkpoint in PyTorch fp32: same
    tokenizer, chunking, buckets, calibration (the checkpoint's calibration.json) and
    aggregation (sub restricted to the main, severity escalation at the shipped operating
    point), chunks of all narratives run in batches of up to `batch_size`."""
    from client.core.pipeline import ClassificationPipeline
    from helpline_model.checkpoint import load_checkpoint
    from helpline_model.torch_runner import TorchRunner

    checkpoint = load_checkpoint(checkpoint_dir)
    if max_length is None:
        max_length = trained_max_length(checkpoint.folder) or checkpoint.max_length
    # Position embeddings beyond the model's size do not exist.
    max_length = min(int(max_length), checkpoint.max_length)
    return ClassificationPipeline.for_folder(
        checkpoint.folder,
        TorchRunner(checkpoint.model),
        max_length=max_length,
        overlap=-1 if overlap is None else overlap,
        name="checkpoint",
        pack_rows=batch_size,
    )


# Narratives per pipeline call: progress is reported between calls.
_NARRATIVES_PER_STEP = 256


def predict_with_checkpoint(
    checkpoint_dir: str | Path,
    narratives: Sequence[str],
    max_length: int | None = None,
    *,
    overlap: int | None = None,
    batch_size: int = 32,
    progress: Progress = quiet,
) -> list[dict]:
    """Labels the gateway would return for a model exported from this checkpoint."""
    from client.core.errors import InvalidInput

    pipeline = checkpoint_pipeline(
        checkpoint_dir, max_length, overlap=overlap, batch_size=batch_size
    )
    predictions = []
    for start in range(0, len(narratives), _NARRATIVES_PER_STEP):
        step = list(narratives[start : start + _NARRATIVES_PER_STEP])
        try:
            results = pipeline.classify_sync(step, request_id=f"evaluate-{start}")
        except InvalidInput as exc:
            stop = start + len(step) - 1
            raise ValueError(
                f"narratives {start}..{stop}: {exc.message} (the gateway refuses it too)"
            ) from None
        predictions.extend(prediction_of(c.result) for c in results)
        progress(f"  {len(predictions)}/{len(narratives)} narratives")
    return predictions


def served_settings(folder: Path, calibrated: bool = True) -> tuple:
    """(sub_to_main, severity at the shipped operating point, calibration) as the gateway
    loads them from a version exported from this checkpoint folder."""
    from client.core.aggregation import load_severity, load_sub_to_main
    from client.core.model_bundle import with_operating_point
    from helpline_model.calibration import load_calibration

    severity = load_severity(folder)
    calibration = load_calibration(folder) if calibrated else None
    if severity is not None:
        severity = with_operating_point(severity, calibration)
    return load_sub_to_main(folder), severity, calibration


def checkpoint_results(
    checkpoint_dir: str | Path,
    narratives: Sequence[str],
    max_length: int | None = None,
    *,
    overlap: int | None = None,
    batch_size: int = 32,
    progress: Progress = quiet,
    calibrated: bool = True,
    cases: Sequence[CaseLogits] | None = None,
) -> list:
    """The gateway's `CaseResult` per narrative from chunk logits computed once
    (`calibrated=False`: temperature 1 and the severity file's threshold, as a version
    without calibration.json is served), so that a report compares both on the same
    logits. Pass `cases` to reuse chunk logits already computed for these narratives."""
    from client.core.aggregation import aggregate_logits
    from client.core.tokenization import NarrativeTokenizer
    from helpline_model.checkpoint import load_checkpoint

    checkpoint = load_checkpoint(checkpoint_dir)
    folder = checkpoint.folder
    if max_length is None:
        max_length = trained_max_length(folder) or checkpoint.max_length
    # Position embeddings beyond the model's size do not exist.
    max_length = min(int(max_length), checkpoint.max_length)
    sub_to_main, severity, calibration = served_settings(folder, calibrated)
    if cases is None:
        cases = chunk_logits(
            checkpoint.model,
            NarrativeTokenizer(folder),
            narratives,
            max_length,
            overlap=overlap,
            batch_size=batch_size,
            progress=progress,
        )
    return [
        aggregate_logits(
            case.logits,
            case.token_counts,
            checkpoint.labels,
            sub_to_main=sub_to_main,
            severity=severity,
            calibration=calibration,
        )
        for case in cases
    ]
