"""The `openvino-bf16` precision: exported, checked against PyTorch in OpenVINO, served by a
real tritonserver (the Python backend runs it in OpenVINO), and refused on a CPU without
native bf16.

Tests that run bf16 skip on CPUs whose OpenVINO CPU plugin lacks the BF16 capability
(no AVX512_BF16 / AMX): there OpenVINO would run f32 and the export refuses the precision.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
from conftest import start_triton
from python_backend import load_python_model

from export import openvino_runner
from export.cli import main as export_cli
from export.launcher import LocalTriton
from export.openvino_runner import OPENVINO_PRECISION, OpenVinoRunner
from export.pipeline import export_checkpoint
from export.repository import DEFAULT_MODEL_NAME
from export.sample_texts import SAMPLE_NARRATIVES
from helpline_model.layout import HEADS, OUTPUT_NAMES

MODEL = DEFAULT_MODEL_NAME
NO_BF16 = ["FP32", "INT8", "BIN", "EXPORT_IMPORT"]

needs_bf16 = pytest.mark.skipif(
    not openvino_runner.native_bf16(),
    reason="this CPU has no native bf16 (OpenVINO CPU OPTIMIZATION_CAPABILITIES lacks BF16)",
)


def test_export_refuses_openvino_bf16_without_native_bf16(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tiny_checkpoint: Path,
    tmp_path: Path,
) -> None:
    monkeypatch.setattr(openvino_runner, "cpu_capabilities", lambda: NO_BF16)
    repo = tmp_path / "repo"
    argv = ["export", "--checkpoint", str(tiny_checkpoint), "--repository", str(repo)]
    assert export_cli([*argv, "--precision", OPENVINO_PRECISION]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith(f"export refused: {OPENVINO_PRECISION}: this CPU has no native bf16")
    assert not (repo / MODEL).exists() or not any((repo / MODEL).glob("[0-9]*"))


def test_served_runner_warns_when_openvino_runs_f32() -> None:
    model = load_python_model()
    warning = model._openvino_precision_warning(NO_BF16, "f32")
    assert warning is not None and "runs in f32, not bf16: this CPU has no native" in warning
    assert model._openvino_precision_warning(["BF16", *NO_BF16], "bf16") is None
    assert "runs in f32" in model._openvino_precision_warning(["BF16", *NO_BF16], "f32")


@pytest.fixture(scope="module")
def served(
    tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, LocalTriton, Path]]:
    """Version 1: fp32 (ONNX Runtime), version 2: openvino-bf16, same checkpoint."""
    if not openvino_runner.native_bf16():
        pytest.skip("this CPU has no native bf16")
    repo = tmp_path_factory.mktemp("ov_repository")
    export_checkpoint(str(tiny_checkpoint), repo, MODEL, "fp32")
    export_checkpoint(str(tiny_checkpoint), repo, MODEL, OPENVINO_PRECISION)
    log_file = tmp_path_factory.mktemp("ov_logs") / "triton.log"
    server = start_triton(repo, log_file)
    try:
        yield repo, server, log_file
    finally:
        server.stop()


def _texts_batch(version_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(version_dir / "tokenizer.json"))
    tokenizer.enable_truncation(128)
    tokenizer.enable_padding()
    encoded = tokenizer.encode_batch(SAMPLE_NARRATIVES[:6])
    ids = np.array([e.ids for e in encoded], dtype=np.int64)
    mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
    assert (mask == 0).any()  # padded rows, as the gateway sends them
    return ids, mask


def _infer(client: grpcclient.InferenceServerClient, version: str, ids, mask) -> dict:
    inputs = []
    for name, value in (("input_ids", ids), ("attention_mask", mask)):
        tensor = grpcclient.InferInput(name, list(value.shape), "INT64")
        tensor.set_data_from_numpy(value)
        inputs.append(tensor)
    result = client.infer(MODEL, inputs, version)
    return {head: result.as_numpy(OUTPUT_NAMES[head]) for head in HEADS}


@needs_bf16
def test_openvino_bf16_version_metadata(served) -> None:
    repo, _, _ = served
    metadata = json.loads((repo / MODEL / "2" / "metadata.json").read_text())
    assert metadata["precision"] == OPENVINO_PRECISION
    parity = metadata["parity"]
    assert parity["passed"] and parity["min_main_agreement"] == 0.99
    assert parity["argmax_agreement_text"]["main"] >= 0.99
    assert parity["execution_provider"] == "OpenVINO CPU (bf16)"
    assert "openvino" in metadata["export"]["tools"]


@pytest.mark.integration
@needs_bf16
def test_served_openvino_bf16_gives_the_fp32_labels(served) -> None:
    repo, triton, log_file = served
    ids, mask = _texts_batch(repo / MODEL / "2")
    client = grpcclient.InferenceServerClient(url=triton.grpc_url)
    fp32 = _infer(client, "1", ids, mask)
    bf16 = _infer(client, "2", ids, mask)
    for head in HEADS:
        assert bf16[head].dtype == np.float32 and bf16[head].shape == fp32[head].shape
        np.testing.assert_array_equal(bf16[head].argmax(-1), fp32[head].argmax(-1))
    # bf16 rounding moves the logits by more than an fp32 run would: it is not ONNX Runtime.
    assert max(float(np.abs(bf16[h] - fp32[h]).max()) for h in HEADS) > 1e-4
    # Each row is computed alone at its real length, as the in-process runner does it.
    runner = OpenVinoRunner(repo / MODEL / "2" / "model.onnx", threads=1)
    for row in range(len(ids)):
        length = int(mask[row].sum())
        alone = runner(ids[row : row + 1, :length], mask[row : row + 1, :length])
        for head in HEADS:
            np.testing.assert_allclose(bf16[head][row], alone[head][0], atol=1e-2)
    assert f"{OPENVINO_PRECISION}: OpenVINO" in log_file.read_text()
    assert "runs in bf16" in log_file.read_text()
