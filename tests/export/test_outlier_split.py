"""The int8 export's outlier split: exact in fp32, finds the outlier channels, and is what
keeps int8 close to fp32 when a model has them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from export.onnx_export import _quantize_int8, export_onnx
from export.outlier_split import SPLIT_PARTS, probe_session, split_outlier_channels
from export.parity import random_batches
from helpline_model.checkpoint import Checkpoint, load_checkpoint

OUTLIER = 5  # the hidden channel the tests blow up


def _batches(checkpoint: Checkpoint, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    return list(random_batches(64, checkpoint.model.config.vocab_size, seed))


def _run(path: Path, batches: list[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return [
        np.concatenate(heads)
        for heads in zip(
            *(session.run(None, {"input_ids": i, "attention_mask": m}) for i, m in batches),
            strict=True,
        )
    ]


@pytest.fixture(scope="module")
def outlier_checkpoint(tiny_checkpoint: Path) -> Checkpoint:
    """The tiny model with one LayerNorm channel feeding every FFN scaled 40x: the kind of
    outlier BERT-family models carry (the demo model: 28-40 vs ~2)."""
    checkpoint = load_checkpoint(tiny_checkpoint)
    with torch.no_grad():
        for layer in checkpoint.model.distilbert.transformer.layer:
            layer.sa_layer_norm.weight[OUTLIER] *= 40.0
            layer.sa_layer_norm.bias[OUTLIER] += 20.0
    return checkpoint


def test_split_is_exact_in_fp32_and_finds_the_outlier_channel(
    outlier_checkpoint: Checkpoint, tmp_path: Path
) -> None:
    fused, _ = export_onnx(outlier_checkpoint, "fp32-opt", tmp_path)
    split = tmp_path / "split.onnx"
    outlier_matmuls = split_outlier_channels(fused, split, _batches(outlier_checkpoint, 0), k=2)
    n_layers = outlier_checkpoint.model.config.n_layers
    assert len(outlier_matmuls) == len(SPLIT_PARTS) * n_layers
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in onnx.load(str(split)).graph.initializer}
    for layer in range(n_layers):
        lin1 = f"/distilbert/transformer/layer.{layer}/ffn/lin1/MatMul"
        assert OUTLIER in inits[f"{lin1}_outlier_channels"].tolist()
        assert inits[f"{lin1}_inlier_mask"][OUTLIER] == 0
    batches = _batches(outlier_checkpoint, 1)
    for want, got in zip(_run(fused, batches), _run(split, batches), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-4)


def _tensor(path: Path, name: str, batches: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """The named [batch, seq, channels] tensor at real tokens: padded positions hold values
    no output depends on (the int8 graph zeroes part of them)."""
    session = probe_session(onnx.load(str(path)), [name])
    return np.concatenate(
        [
            session.run([name], {"input_ids": i, "attention_mask": m})[0][m == 1].reshape(-1)
            for i, m in batches
        ]
    )


def test_split_keeps_int8_closer_to_fp32(outlier_checkpoint: Checkpoint, tmp_path: Path) -> None:
    """Measured where the split acts, the first FFN projection's output: further on, the
    random tiny model spreads the outlier over every channel, which no real model does."""
    fused, _ = export_onnx(outlier_checkpoint, "fp32-opt", tmp_path)
    calibration = _batches(outlier_checkpoint, 0)
    plain = _quantize_int8(fused, tmp_path / "plain.onnx", calibration, outlier_channels=0)
    split = _quantize_int8(fused, tmp_path / "split.onnx", calibration, outlier_channels=2)
    lin1 = "/distilbert/transformer/layer.0/ffn/lin1/MatMul_output_0"
    batches = _batches(outlier_checkpoint, 1)
    reference = _tensor(fused, lin1, batches)
    plain_error = float(np.abs(_tensor(plain, lin1, batches) - reference).mean())
    split_error = float(np.abs(_tensor(split, lin1, batches) - reference).mean())
    assert split_error < plain_error / 3, (split_error, plain_error)


def test_padded_positions_do_not_reach_the_quantized_lin1_input(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    checkpoint = load_checkpoint(tiny_checkpoint)
    fused, _ = export_onnx(checkpoint, "fp32-opt", tmp_path)
    split = tmp_path / "split.onnx"
    split_outlier_channels(fused, split, _batches(checkpoint, 0), k=2)
    lin1 = "/distilbert/transformer/layer.0/ffn/lin1/MatMul"
    ids, mask = next(b for b in _batches(checkpoint, 1) if b[0].shape == (8, 64))
    assert 0 < mask.sum() < mask.size
    names = [f"{lin1}_in_x", f"{lin1}_real_x"]
    session = probe_session(onnx.load(str(split)), names)
    inliers, real = session.run(names, {"input_ids": ids, "attention_mask": mask})
    assert np.all(inliers[mask == 0] == 0) and np.all(real[mask == 0] == 0)
    assert np.abs(inliers[mask == 1]).max() > 0


def test_split_needs_ffn_matmuls(tiny_checkpoint: Path, tmp_path: Path) -> None:
    checkpoint = load_checkpoint(tiny_checkpoint)
    plain, _ = export_onnx(checkpoint, "fp32-opt", tmp_path)
    model = onnx.load(str(plain))
    for node in model.graph.node:
        node.name = node.name.replace("ffn", "mlp")
    onnx.save(model, str(tmp_path / "renamed.onnx"))
    with pytest.raises(ValueError, match="no FFN MatMul"):
        split_outlier_channels(tmp_path / "renamed.onnx", tmp_path / "x.onnx", [], k=2)
