"""PyTorch checkpoint -> ONNX graph in one of the precisions of `helpline_model.layout.PRECISIONS`.

Tooling, and why:
- fp32 export: optimum's `export()` with a custom `OnnxConfig` (the DistilBERT one with
  four logits outputs). optimum's higher-level `onnx_export_from_model` refuses a model
  class that lives outside transformers, so the config-level entry point is used.
- fp32-opt: optimum's `ORTOptimizer` (onnxruntime's transformer fusions: Attention,
  LayerNormalization, BiasGelu; not SkipLayerNormalization, slower than Add +
  LayerNormalization on these CPUs).
- fp16 (the GPU graph): the plain opset-17 export, standard ONNX ops only, fp32 weights.
  TensorRT runs it in fp16 (`precision_mode FP16` in config.pbtxt); see `export_gpu_graph`.
- int8: onnxruntime's `quantize_dynamic` directly, because optimum's `ORTQuantizer` fails on
  an already-fused graph; QInt8 weights with per-channel scales (QUInt8 gives no speed-up on
  these CPUs). Activations get one scale per tensor, computed at run time, so first the FFN
  MatMuls are split so that their few outlier channels stay in fp32 (export/outlier_split.py).
- int8-block: onnxruntime's `MatMulNBitsQuantizer` (optimum has no block-wise recipe):
  8-bit weights in blocks of 128 input channels, and at accuracy level 4 the activations are
  quantized to int8 at run time per row and block, so one outlier channel or token no longer
  sets the scale of the whole tensor. Slower than int8, but it keeps the answers
  (docs/quantization.md). The fused Attention op's QKV projection stays fp32: MatMulNBits
  only replaces MatMul.
- openvino-bf16: the plain fp32 export, as for fp16 (standard ONNX ops): OpenVINO fuses the
  graph itself and converts it to bf16 when it compiles it (export/openvino_runner.py; the
  Python backend does the same at load), so the file stays a portable fp32 graph.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from export.outlier_split import OUTLIER_CHANNELS, calibration_batches, split_outlier_channels
from helpline_model.checkpoint import Checkpoint
from helpline_model.layout import HEADS, OUTPUT_NAMES, PRECISIONS

# int8-block: weights quantized in blocks of this many input channels. On the demo model,
# blocks of 32 / 128 kept 1.0 / 0.9975 of 400 main categories (128: 0.996 of 1,000) at
# 1.10x / 1.26x the fused fp32 graph's speed; 128 also divides both 384 and 768 hidden sizes.
INT8_BLOCK_SIZE = 128
# MatMulNBits accuracy level 4: int8 activations and int8 dot products (AVX512-VNNI/AMX).
INT8_BLOCK_ACCURACY_LEVEL = 4
OPSET = 17


def _onnx_config(checkpoint: Checkpoint):  # -> DistilBertOnnxConfig subclass instance
    from optimum.exporters.onnx.model_configs import DistilBertOnnxConfig

    class MultiTaskOnnxConfig(DistilBertOnnxConfig):
        @property
        def outputs(self) -> dict[str, dict[int, str]]:
            return {OUTPUT_NAMES[head]: {0: "batch_size"} for head in HEADS}

    return MultiTaskOnnxConfig(checkpoint.model.config, task="text-classification")


def export_fp32(checkpoint: Checkpoint, out_path: Path) -> Path:
    from optimum.exporters.onnx import export

    out_path.parent.mkdir(parents=True, exist_ok=True)
    export(checkpoint.model, _onnx_config(checkpoint), out_path, opset=OPSET)
    return out_path


def _optimize(
    checkpoint: Checkpoint, fp32_path: Path, out_path: Path, skip_layer_norm_fusion: bool = False
) -> Path:
    """`skip_layer_norm_fusion`: fuse residual Add + LayerNormalization into ONNX Runtime's
    SkipLayerNormalization (off by default; bench.fusions compares the two)."""
    from optimum.onnxruntime import ORTOptimizer
    from optimum.onnxruntime.configuration import OptimizationConfig

    with tempfile.TemporaryDirectory() as work:
        work_dir = Path(work)
        shutil.copy2(fp32_path, work_dir / "model.onnx")
        checkpoint.model.config.save_pretrained(str(work_dir))
        optimizer = ORTOptimizer.from_pretrained(str(work_dir), file_names=["model.onnx"])
        config = OptimizationConfig(
            optimization_level=2,
            optimize_for_gpu=False,
            disable_shape_inference=True,
            # ONNX Runtime's CPU SkipLayerNormalization kernel is slower than the Add +
            # LayerNormalization it replaces (bench.fusions; docs/quantization.md).
            disable_skip_layer_norm_fusion=not skip_layer_norm_fusion,
            disable_bias_skip_layer_norm_fusion=not skip_layer_norm_fusion,
        )
        saved = Path(optimizer.optimize(config, save_dir=str(work_dir / "out"), file_suffix=""))
        shutil.copy2(saved / "model.onnx", out_path)
    return out_path


# Node domains of standard ONNX ops; anything else (com.microsoft contrib ops) is a kernel
# that only ONNX Runtime has, and TensorRT's ONNX parser stops at it.
STANDARD_DOMAINS = frozenset({"", "ai.onnx"})


def nonstandard_ops(graph_path: Path) -> list[str]:
    """`domain:op_type` of every node (or imported opset) outside the standard ONNX domain."""
    import onnx

    model = onnx.load(str(graph_path), load_external_data=False)
    standard = STANDARD_DOMAINS
    found = {f"{n.domain}:{n.op_type}" for n in model.graph.node if n.domain not in standard}
    found |= {f"{o.domain}:(opset)" for o in model.opset_import if o.domain not in standard}
    # Local functions may wrap any op; the exporter writes none, so any is suspect.
    found |= {f"{f.domain}:{f.name}" for f in model.functions}
    return sorted(found)


def export_gpu_graph(fp32_path: Path) -> Path:
    """The `fp16` precision: the graph TensorRT builds whole.

    It is the plain fp32 export, on purpose:
    - Standard ONNX ops only (opset 17, so each layer norm is one LayerNormalization, which
      TensorRT maps to its normalization layer instead of a Pow/ReduceMean chain that can
      overflow in fp16). ONNX Runtime's fused contrib ops (Attention, SkipLayerNormalization,
      BiasGelu, EmbedLayerNormalization) are unknown to TensorRT's parser: the engine would
      cover only fragments between CUDA-provider nodes, and its shape profiles would name
      inputs those fragments do not have. TensorRT fuses attention and GELU itself.
    - fp32 weights. Triton's onnxruntime backend turns `precision_mode FP16` into TensorRT's
      FP16 builder flag, which converts the weights at engine build and lets TensorRT keep a
      layer in fp32 where it has no faster fp16 kernel. Converting the file to fp16 first
      gains no speed under TensorRT; it would add Cast nodes at the fp32 outputs, and any node
      TensorRT did not take would fall back to the CUDA provider in fp16 rather than fp32.
      The file is twice the size of an fp16 one (about 270 MB for DistilBERT-base).
    - The same bytes run on ONNX Runtime's CPU provider, so the parity check compares exactly
      what is served with PyTorch, at fp32 tolerance; the effect of fp16 on the answers is
      estimated separately (export/parity.py, `fp16_estimate`).
    """
    found = nonstandard_ops(fp32_path)
    if found:
        raise ValueError(f"the GPU graph must hold standard ONNX ops only, found {found}")
    return fp32_path


def _quantize_int8(
    optimized_path: Path,
    out_path: Path,
    calibration: Iterable[tuple[np.ndarray, np.ndarray]],
    outlier_channels: int = OUTLIER_CHANNELS,
) -> Path:
    """`outlier_channels` other than the default only for bench.int8_recipes; 0 skips the
    split (plain per-channel int8)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    source, keep_fp32 = optimized_path, []
    if outlier_channels:
        source = out_path.with_name(out_path.stem + ".split.onnx")
        keep_fp32 = split_outlier_channels(optimized_path, source, calibration, outlier_channels)
    quantize_dynamic(
        str(source),
        str(out_path),
        weight_type=QuantType.QInt8,
        # One scale per output channel: on the demo model, main-category agreement with fp32
        # on 1,000 held-out chunks rises from 0.947 (one scale per tensor) to 0.985 at the
        # same speed. reduce_range, and keeping any one layer or op kind in fp32, did not help
        # further (docs/quantization.md); the outlier split does.
        per_channel=True,
        nodes_to_exclude=keep_fp32,
        # Fused graphs carry ops (Attention, SkipLayerNormalization) without type info the
        # quantizer can infer; telling it the default tensor type avoids a hard failure.
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
    return out_path


def _quantize_int8_block(
    optimized_path: Path, out_path: Path, bits: int = 8, block_size: int = INT8_BLOCK_SIZE
) -> Path:
    """`bits` and `block_size` other than the defaults only for bench.int8_recipes."""
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    quantizer = MatMulNBitsQuantizer(
        onnx.load(str(optimized_path)),
        bits=bits,
        block_size=block_size,
        is_symmetric=True,
        accuracy_level=INT8_BLOCK_ACCURACY_LEVEL,
    )
    quantizer.process()
    quantizer.model.save_model_to_file(str(out_path), use_external_data_format=False)
    return out_path


def export_onnx(checkpoint: Checkpoint, precision: str, work_dir: Path) -> tuple[Path, Path]:
    """Returns (the graph for `precision`, the plain fp32 graph it was derived from)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    fp32 = export_fp32(checkpoint, work_dir / "model.fp32.onnx")
    if precision == "fp32":
        return fp32, fp32
    if precision == "fp16":
        return export_gpu_graph(fp32), fp32
    if precision == "openvino-bf16":
        return fp32, fp32
    optimized = _optimize(checkpoint, fp32, work_dir / "model.opt.onnx")
    if precision == "fp32-opt":
        return optimized, fp32
    if precision == "int8-block":
        return _quantize_int8_block(optimized, work_dir / "model.int8-block.onnx"), fp32
    calibration = calibration_batches(checkpoint)
    return _quantize_int8(optimized, work_dir / "model.int8.onnx", calibration), fp32
