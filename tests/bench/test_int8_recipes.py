"""The int8 recipe comparison runs end to end on a tiny model (no timing assertions)."""

from __future__ import annotations

from pathlib import Path

from bench.int8_recipes import compare, recipes
from helpline_model.layout import HEADS

# One of each kind: per-channel, some nodes kept in fp32, only some quantized, outlier split
# (the export's int8), MatMulNBits.
NAMES = (
    "per_channel",
    "fp32_last_layer",
    "only_ffn_input",
    "int8",
    "outliers_4",
    "int8_block",
    "block_4bit_32",
)


def test_recipes_run_and_report_agreement_per_head(tiny_checkpoint: Path) -> None:
    report = compare(
        tiny_checkpoint,
        list(NAMES),
        n_texts=12,
        seed=3,
        max_length=64,
        threads=1,
    )
    assert report["texts"] == 12 and report["max_length"] == 64
    assert set(report["recipes"]) == set(NAMES)
    for name, result in report["recipes"].items():
        assert set(result["agreement"]) == set(HEADS), name
        assert all(0.0 <= v <= 1.0 for v in result["agreement"].values()), name
        assert result["speed_vs_fp32"] > 0, name


def test_layer_recipes_exclude_nodes_of_that_layer(tiny_checkpoint: Path, tmp_path: Path) -> None:
    from export.onnx_export import _optimize, export_fp32
    from helpline_model.checkpoint import load_checkpoint

    loaded = load_checkpoint(tiny_checkpoint)
    fused = _optimize(loaded, export_fp32(loaded, tmp_path / "fp32.onnx"), tmp_path / "f.onnx")
    last = int(loaded.model.config.n_layers) - 1
    table = recipes(fused, last + 1)
    excluded = table["fp32_last_layer"]["nodes_to_exclude"]
    assert excluded and all(f"layer.{last}/" in n or n == f"Attention_{last}" for n in excluded)
    assert table["per_tensor"] == {}
    quantized = table["only_ffn_input"]["nodes_to_quantize"]
    assert len(quantized) == last + 1 and all("ffn/lin1" in n for n in quantized)
