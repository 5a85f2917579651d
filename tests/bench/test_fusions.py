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
    # At load, ONNX Runtime fuses the plain per-channel graph's residual Add + LayerNorm pairs
    # unless told not to; the exported fp32-opt graph has none it can fuse.
    at_load = report["session_fusion"]
    assert set(at_load) == {"fp32-opt", "int8", "int8 per-channel"}
    assert at_load["int8 per-channel"]["skip_layer_norm_ops_at_load"] > 0
    assert at_load["fp32-opt"]["skip_layer_norm_ops_at_load"] == 0
    for result in at_load.values():
        assert result["skip_layer_norm_ops_disabled"] == 0
        assert result["ms_default_session"] > 0 and result["ms_fusion_disabled"] > 0


def test_export_graph_has_no_skip_layer_norm(tiny_checkpoint: Path, tmp_path: Path) -> None:
    from export.pipeline import export_checkpoint

    result = export_checkpoint(str(tiny_checkpoint), tmp_path, "m", "fp32-opt")
    graph = result.version_dir / "model.onnx"
    assert count_ops(graph, "SkipLayerNormalization") == 0
    assert count_ops(graph, "LayerNormalization") > 0
    assert count_ops(graph, "Attention") > 0
