"""The fusion comparison runs end to end on a tiny model (no timing assertions), and the
export's fused graph leaves SkipLayerNormalization out."""

from __future__ import annotations

from pathlib import Path

from bench.fusions import compare, count_ops


def test_compare_reports_both_precisions(tiny_checkpoint: Path) -> None:
    report = compare(tiny_checkpoint, batch=1, length=32, threads=1, rounds=2)
    assert set(report["graphs"]) == {"fp32-opt", "int8"}
    fp32 = report["graphs"]["fp32-opt"]
    assert fp32["skip_layer_norm_ops"] > 0, "the fused variant must hold the fusion"
    assert fp32["max_abs_logit_diff"] < 1e-4, "the fusion must not change fp32 answers"
    for result in report["graphs"].values():
        assert result["ms_with_fusion"] > 0 and result["ms_without_fusion"] > 0


def test_export_graph_has_no_skip_layer_norm(tiny_checkpoint: Path, tmp_path: Path) -> None:
    from export.pipeline import export_checkpoint

    result = export_checkpoint(str(tiny_checkpoint), tmp_path, "m", "fp32-opt")
    graph = result.version_dir / "model.onnx"
    assert count_ops(graph, "SkipLayerNormalization") == 0
    assert count_ops(graph, "LayerNormalization") > 0
    assert count_ops(graph, "Attention") > 0
