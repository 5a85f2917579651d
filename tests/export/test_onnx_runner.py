"""One classification pipeline, three runners: ONNX Runtime in-process on an exported
version, PyTorch on the checkpoint it came from, and Triton behind the real gateway. Same
narratives, same labels (confidences within float noise)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from client.core.pipeline import Classification, ClassificationPipeline
from export.onnx_runner import OrtRunner
from export.repository import DEFAULT_MODEL_NAME
from export.sample_texts import SAMPLE_NARRATIVES
from helpline_model.checkpoint import load_checkpoint, served_max_length
from helpline_model.layout import HEAD_FIELDS, HEADS
from helpline_model.torch_runner import TorchRunner

LONG = " ".join(SAMPLE_NARRATIVES[:4] * 4)  # over 512 tokens: several chunks
NARRATIVES = [*SAMPLE_NARRATIVES[:4], LONG]


def torch_pipeline(checkpoint_dir: Path) -> ClassificationPipeline:
    checkpoint = load_checkpoint(checkpoint_dir)
    return ClassificationPipeline.for_folder(
        checkpoint.folder, TorchRunner(checkpoint.model), max_length=served_max_length(checkpoint)
    )


def ort_pipeline(repository: Path, version: str) -> ClassificationPipeline:
    folder = repository / DEFAULT_MODEL_NAME / version
    return ClassificationPipeline.for_folder(
        folder, OrtRunner(folder / "model.onnx"), name=DEFAULT_MODEL_NAME
    )


def assert_same_answers(a: list[Classification], b: list[Classification]) -> None:
    for x, y in zip(a, b, strict=True):
        assert [c.token_start for c in x.chunks] == [c.token_start for c in y.chunks]
        for head in HEADS:
            assert x.result.label(head) == y.result.label(head)
            assert x.result.confidence(head) == pytest.approx(y.result.confidence(head), abs=1e-4)
        assert x.result.escalation.escalated == y.result.escalation.escalated


def test_ort_and_torch_runners_give_the_same_answers(
    model_repository: Path, tiny_checkpoint: Path
) -> None:
    ort = ort_pipeline(model_repository, "1")  # version 1: tiny_checkpoint in fp32
    torch = torch_pipeline(tiny_checkpoint)
    assert ort.plan == torch.plan  # the version ships the checkpoint's served length
    from_ort = ort.classify_sync(NARRATIVES)
    assert len(from_ort[-1].chunks) > 1
    assert from_ort[0].precision == "fp32" and from_ort[0].model_version == "1"
    assert_same_answers(from_ort, torch.classify_sync(NARRATIVES))


@pytest.mark.integration
def test_gateway_answers_as_the_in_process_runners(
    gateway, model_repository: Path, tiny_checkpoint_v2: Path
) -> None:
    # The gateway serves version 2, exported from tiny_checkpoint_v2.
    ort = ort_pipeline(model_repository, "2").classify_sync(NARRATIVES)
    assert_same_answers(ort, torch_pipeline(tiny_checkpoint_v2).classify_sync(NARRATIVES))
    for text, expected in zip(NARRATIVES, ort, strict=True):
        response = httpx.post(
            f"{gateway.url}/classifier/classify", json={"narrative": text}, timeout=30
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["model_info"]["version"] == "2"
        assert body["chunks_processed"] == len(expected.chunks)
        for head in HEADS:
            assert body[HEAD_FIELDS[head]] == expected.result.label(head)
            assert body["confidence_scores"][HEAD_FIELDS[head]] == pytest.approx(
                expected.result.confidence(head), abs=1e-4
            )
