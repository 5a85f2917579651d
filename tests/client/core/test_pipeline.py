"""The classification pipeline over a deterministic runner: the path tokenize -> chunk -> pad
-> run -> aggregate, how it calls its runner, and that packing rows across narratives (the
offline mode) changes no answer. Real runners (ONNX Runtime, PyTorch, Triton through the
gateway) are compared in tests/export/test_onnx_runner.py."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import numpy as np
import pytest
from fake_runner import FakeRunner

from client.core.aggregation import aggregate_logits
from client.core.buckets import bucket_for, pad_batch
from client.core.chunking import chunk_tokens, default_overlap
from client.core.errors import InvalidInput
from client.core.model_bundle import ModelBundle
from client.core.pipeline import ChunkingPlan, ClassificationPipeline, Priority
from helpline_model.layout import HEADS

SENTENCE = "The caller said the boy walks a long way to school and is often hungry. "
LONG = SENTENCE * 12
SHORT = "The girl was beaten at home yesterday."


@pytest.fixture(scope="module")
def bundle(tiny_checkpoint: Path) -> ModelBundle:
    return ModelBundle.from_folder(tiny_checkpoint, "tiny", "7", max_length=64)


def pipeline_of(bundle: ModelBundle, **options) -> tuple[ClassificationPipeline, FakeRunner]:
    runner = FakeRunner(bundle.labels.sizes())
    plan = ChunkingPlan.for_model(bundle.max_length, buckets=(16, 32, 64))
    return ClassificationPipeline(bundle, plan, runner, **options), runner


def expected(bundle: ModelBundle, text: str):
    """The path written out from its parts, with the runner's logits: the reference."""
    tokens = bundle.tokenizer.encode(text)
    chunks = chunk_tokens(
        tokens, text, 64, default_overlap(64), bundle.tokenizer.cls_id, bundle.tokenizer.sep_id
    )
    ids, mask = pad_batch(chunks, bucket_for(chunks, (16, 32, 64)), bundle.tokenizer.pad_id)
    runner = FakeRunner(bundle.labels.sizes())
    logits = asyncio.run(
        runner.infer(ids, mask, version="7", timeout_s=1, request_id="r", priority=Priority.HIGH)
    )
    result = aggregate_logits(
        logits,
        [c.token_count for c in chunks],
        bundle.labels,
        sub_to_main=bundle.sub_to_main,
        severity=bundle.severity,
    )
    return chunks, result


def test_plan_for_model_clips_length_and_buckets() -> None:
    plan = ChunkingPlan.for_model(128, max_length=512, buckets=(32, 64, 256, 512))
    assert plan.max_length == 128
    assert plan.overlap == default_overlap(128)
    assert plan.buckets == (32, 64, 128)
    assert ChunkingPlan.for_model(512, max_length=256, overlap=10).max_length == 256
    with pytest.raises(ValueError):
        ChunkingPlan.for_model(512, buckets=(64, 128))  # no bucket holds a full chunk


def test_classify_many_follows_the_path_and_carries_what_a_response_needs(
    bundle: ModelBundle,
) -> None:
    pipeline, runner = pipeline_of(bundle)
    results = asyncio.run(pipeline.classify_many([LONG, SHORT], "req", priority=Priority.LOW))
    assert [c.request_id for c in results] == ["req-0", "req-1"]
    assert runner.calls == 2 and runner.priorities == [Priority.LOW, Priority.LOW]
    for c, text in zip(results, [LONG, SHORT], strict=True):
        chunks, result = expected(bundle, text)
        assert [(ch.token_start, ch.token_end) for ch in c.chunks] == [
            (ch.token_start, ch.token_end) for ch in chunks
        ]
        for head in HEADS:
            assert c.result.label(head) == result.label(head)
            assert c.result.confidence(head) == pytest.approx(result.confidence(head))
        assert c.result.escalation == result.escalation
        assert c.bucket == bucket_for(chunks, (16, 32, 64))
        assert c.n_tokens == len(bundle.tokenizer.encode(text))
        assert c.plan is pipeline.plan
        assert (c.model_name, c.model_version) == ("tiny", "7")
        assert c.timings.total_ms >= c.timings.inference_ms > 0
    assert len(results[0].chunks) > 1  # LONG is chunked


def test_a_narrative_beyond_the_max_batch_goes_in_several_calls(bundle: ModelBundle) -> None:
    whole, _ = pipeline_of(bundle)
    split, runner = pipeline_of(bundle, max_chunks_per_call=2)
    (one,) = asyncio.run(whole.classify_many([LONG], "r"))
    (several,) = asyncio.run(split.classify_many([LONG], "r"))
    assert runner.calls == -(-len(one.chunks) // 2) > 1
    for head in HEADS:
        assert several.result.confidence(head) == one.result.confidence(head)


def test_packing_rows_across_narratives_changes_no_answer(bundle: ModelBundle) -> None:
    texts = [LONG, SHORT, "The boy was beaten at school.", "Mother is sick.", SENTENCE * 3]
    alone, alone_runner = pipeline_of(bundle)
    packed, packed_runner = pipeline_of(bundle, pack_rows=4)
    a = asyncio.run(alone.classify_many(texts, "r"))
    p = packed.classify_sync(texts, "r")
    assert alone_runner.calls == len(texts)
    assert packed_runner.rows == alone_runner.rows
    rows_per_bucket: dict[int, int] = {}
    for c in a:
        rows_per_bucket[c.bucket] = rows_per_bucket.get(c.bucket, 0) + len(c.chunks)
    assert rows_per_bucket[16] >= 3  # the short ones share a bucket
    assert packed_runner.calls == sum(-(-n // 4) for n in rows_per_bucket.values())
    for x, y in zip(a, p, strict=True):
        assert x.bucket == y.bucket
        for head in HEADS:
            assert np.isclose(x.result.confidence(head), y.result.confidence(head))
            assert x.result.label(head) == y.result.label(head)


def test_a_narrative_without_tokens_is_invalid_input(bundle: ModelBundle) -> None:
    pipeline, runner = pipeline_of(bundle)
    with pytest.raises(InvalidInput) as raised:
        asyncio.run(pipeline.classify_many([SHORT, "   "], "r", field="items"))
    assert raised.value.field == "items[1]"
    assert runner.calls == 0  # nothing is run for a request that fails


def test_operator_escalation_threshold_replaces_the_shipped_one(bundle: ModelBundle) -> None:
    assert bundle.severity is not None
    pipeline, _ = pipeline_of(bundle, escalation_threshold=0.01)
    assert pipeline.severity is not None and pipeline.severity.escalation_threshold == 0.01
    default, _ = pipeline_of(bundle)
    assert default.severity == bundle.severity


def test_the_response_body_comes_from_the_result_alone(bundle: ModelBundle) -> None:
    from client.http.responses import answer_body

    fallback = ModelBundle.from_folder(bundle.folder, "tiny", "6", max_length=32)
    fallback = dataclasses.replace(fallback, metadata={"precision": "int8"})
    pipeline, _ = pipeline_of(fallback)
    (c,) = pipeline.classify_sync([LONG], "req")
    body = answer_body(c, include_chunks=True)
    info = body.model_info
    assert (info.version, info.precision, info.max_length) == ("6", "int8", 32)
    assert info.overlap == pipeline.plan.overlap and info.bucket == c.bucket
    assert body.chunks_processed == len(c.chunks) == len(body.chunk_predictions or [])
