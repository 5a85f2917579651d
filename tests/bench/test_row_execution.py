"""The runner-layout comparison runs end to end on a tiny model (no timing assertions), and
every layout computes what one padded batch computes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.row_execution import LAYOUTS, compare, narratives, runner, triton_batches


def test_compare_reports_every_layout_per_precision(tiny_checkpoint: Path) -> None:
    report = compare(tiny_checkpoint, ["int8"], n=6, seed=3, group=2, instances=2, workers=2)
    assert report["narratives"] == 6 and report["chunks"] >= 6
    assert report["padding"] >= 1.0
    assert set(report["precisions"]) == {"fp32-opt", "int8"}
    for layouts in report["precisions"].values():
        assert set(layouts) == set(LAYOUTS)
        for entry in layouts.values():
            assert entry["saturation_narratives_per_s"] > 0
            assert entry["lone_latency_ms_by_chunks"]
        assert layouts["batched_2x2"]["saturation_vs_batched_2x2"] == 1.0
    int8 = report["precisions"]["int8"]
    for layout in ("batched_2x2", "rows_2x1"):
        assert 0.0 <= int8[layout]["main_agreement_with_fp32"] <= 1.0


def test_every_layout_matches_the_padded_batch_in_fp32(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    from export.pipeline import export_checkpoint

    exported = export_checkpoint(str(tiny_checkpoint), tmp_path, "m", "fp32-opt")
    path = exported.version_dir / "model.onnx"
    items = narratives(tiny_checkpoint, 8, 4, 64)
    batches = triton_batches(items, group=3)
    assert sum(ids.size for ids, _ in batches) > sum(int(m.sum()) for _, m in batches), (
        "the test needs padded rows to cut"
    )
    expected = [runner("batched_2x2", path, 1)(batch) for batch in batches]
    for layout in LAYOUTS[1:]:
        run = runner(layout, path, 2)
        for batch, want in zip(batches, expected, strict=True):
            np.testing.assert_allclose(run(batch), want, atol=1e-4, rtol=0)
