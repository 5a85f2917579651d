"""Every precision is exported and checked against PyTorch before it is written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest

from export.onnx_export import export_onnx
from export.parity import FP32_TOLERANCE, ParityError, check_parity
from export.pipeline import DEFAULT_GENERATED_TEXTS, export_checkpoint
from export.sample_texts import SAMPLE_NARRATIVES
from helpline_model.checkpoint import load_checkpoint
from helpline_model.layout import OUTPUT_NAMES


@pytest.mark.parametrize("precision", ["fp32", "fp32-opt", "int8", "int8-block", "fp16"])
def test_each_precision_exports_and_passes_parity(
    precision: str, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    result = export_checkpoint(str(tiny_checkpoint), tmp_path / "repo", "m", precision)
    report = result.parity
    assert report.passed
    # Default texts: the built-in samples and the held-out synthetic narratives.
    assert report.n_texts == len(SAMPLE_NARRATIVES) + DEFAULT_GENERATED_TEXTS
    # sizes 1, 3, 8 and lengths 1 .. max_length
    assert {s[0] for s in report.shapes_checked} == {1, 3, 8}
    assert {s[1] for s in report.shapes_checked} >= {1, 512}
    if precision in ("fp32", "fp32-opt", "fp16"):
        # fp16's file is the fp32 graph (TensorRT makes it fp16): it must match PyTorch as
        # closely as fp32 does.
        assert max(report.max_abs_diff_random.values()) <= FP32_TOLERANCE
        assert max(report.max_abs_diff_text.values()) <= FP32_TOLERANCE
    else:
        assert report.argmax_agreement_text["main"] >= 0.99
    if precision == "fp16":
        # ... and the fp16 estimate is what the agreement gate judged; it differs from PyTorch
        # by more than fp32 rounding, so it is not the same graph run again.
        estimate = report.fp16_estimate
        assert estimate["argmax_agreement_text"]["main"] >= 0.99
        assert max(estimate["max_abs_diff_text"].values()) > FP32_TOLERANCE
        assert report.min_main_agreement == 0.99
    else:
        assert report.fp16_estimate is None
    metadata = json.loads((result.version_dir / "metadata.json").read_text())
    assert metadata["precision"] == precision
    assert metadata["parity"]["passed"] is True
    assert len(metadata["source_sha256"]) == 64


@pytest.mark.parametrize(
    ("precision", "quantized_ops"),
    [("int8", {"DynamicQuantizeLinear", "MatMulInteger"}), ("int8-block", {"MatMulNBits"})],
)
def test_int8_recipes_replace_the_matmuls(
    precision: str, quantized_ops: set[str], tiny_checkpoint: Path, tmp_path: Path
) -> None:
    path, _ = export_onnx(load_checkpoint(tiny_checkpoint), precision, tmp_path)
    nodes = onnx.load(str(path)).graph.node
    assert quantized_ops <= {n.op_type for n in nodes}
    # Every MatMul of the encoder is quantized, except (int8) the small products over the
    # FFN inputs' outlier channels, which stay fp32 on purpose.
    fp32_matmuls = [n.name for n in nodes if n.op_type == "MatMul"]
    if precision == "int8":
        assert fp32_matmuls and all(name.endswith("_outliers") for name in fp32_matmuls)
    else:
        assert fp32_matmuls == []


def test_int8_block_answers_do_not_depend_on_the_rest_of_the_batch(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    """Triton batches chunks of different narratives together; with one activation scale per
    tensor (int8) a chunk's logits move with its batch-mates, with per-row block scales
    (int8-block) they must not."""
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    ids = rng.integers(1000, 30000, size=(2, 64))
    mask = np.ones_like(ids)
    mask[0, 40:] = 0
    checkpoint = load_checkpoint(tiny_checkpoint)
    moved = {}
    for precision in ("int8", "int8-block"):
        path, _ = export_onnx(checkpoint, precision, tmp_path / precision)
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        alone = session.run(None, {"input_ids": ids[:1], "attention_mask": mask[:1]})
        batched = session.run(None, {"input_ids": ids, "attention_mask": mask})
        pairs = zip(alone, batched, strict=True)
        moved[precision] = max(float(np.abs(a[0] - b[0]).max()) for a, b in pairs)
    assert moved["int8-block"] <= 1e-5
    # The contrast shows the test can tell the two apart on this model.
    assert moved["int8"] > 1e-3


def test_graph_has_named_inputs_outputs_and_dynamic_axes(tiny_checkpoint: Path, tmp_path: Path):
    path, _ = export_onnx(load_checkpoint(tiny_checkpoint), "fp32", tmp_path)
    graph = onnx.load(str(path)).graph
    assert [i.name for i in graph.input] == ["input_ids", "attention_mask"]
    assert [o.name for o in graph.output] == list(OUTPUT_NAMES.values())
    for tensor in graph.input:
        assert tensor.type.tensor_type.elem_type == onnx.TensorProto.INT64
        dims = tensor.type.tensor_type.shape.dim
        assert all(d.dim_param for d in dims), "batch and sequence axes must be dynamic"


def test_fused_graph_is_smaller(tiny_checkpoint: Path, tmp_path: Path) -> None:
    checkpoint = load_checkpoint(tiny_checkpoint)
    plain, _ = export_onnx(checkpoint, "fp32", tmp_path / "a")
    fused, _ = export_onnx(checkpoint, "fp32-opt", tmp_path / "b")
    fused_ops = {n.op_type for n in onnx.load(str(fused)).graph.node}
    assert "Attention" in fused_ops
    assert len(onnx.load(str(fused)).graph.node) < len(onnx.load(str(plain)).graph.node)


def test_parity_catches_a_graph_that_differs(tiny_checkpoint: Path, tmp_path: Path) -> None:
    checkpoint = load_checkpoint(tiny_checkpoint)
    path, _ = export_onnx(checkpoint, "fp32", tmp_path)
    model = onnx.load(str(path))
    # Nudge the main head's bias: a wrong graph must not pass as "close enough".
    for init in model.graph.initializer:
        if init.name == "classifier_main.bias":
            values = onnx.numpy_helper.to_array(init) + np.float32(1e-2)
            init.CopyFrom(onnx.numpy_helper.from_array(values, init.name))
    onnx.save(model, str(path))
    with pytest.raises(ParityError, match="max abs logit difference"):
        check_parity(checkpoint, path, "fp32", list(SAMPLE_NARRATIVES))


@pytest.mark.parametrize(("precision", "what"), [("int8", "int8"), ("fp16", "fp16 \\(estimated")])
def test_below_agreement_threshold_is_refused(
    precision: str, what: str, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    with pytest.raises(ParityError, match=f"{what}.*agreement"):
        export_checkpoint(
            str(tiny_checkpoint), tmp_path / "repo", "m", precision, min_main_agreement=1.01
        )
    assert not (tmp_path / "repo" / "m" / "1").exists()
