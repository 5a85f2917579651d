"""The runner-layout comparison runs end to end on a tiny model (no timing assertions), and
every layout computes what one padded batch computes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.row_execution import LAYOUTS, compare, narratives, runner, triton_calls


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
            answer = entry["answer_ms_in_call"]
            assert 0 < answer["p50"] <= answer["p90"] <= answer["p99"]
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
    calls = triton_calls(items, group=3)
    assert any(len(call) > 1 for call in calls), "the test needs calls of several requests"
    assert sum(ids.size for ids, _ in items) > sum(int(m.sum()) for _, m in items), (
        "the test needs padded rows to cut"
    )
    expected = [runner("batched_2x2", path, 1)(call) for call in calls]
    for layout in LAYOUTS[1:]:
        run = runner(layout, path, 2)
        for call, (want, _) in zip(calls, expected, strict=True):
            got, answered = run(call)
            assert len(got) == len(call) == len(answered)
            for narrative, ((ids, _), logits, reference) in enumerate(
                zip(call, got, want, strict=True)
            ):
                assert logits.shape[0] == len(ids), f"narrative {narrative}: one row per chunk"
                np.testing.assert_allclose(logits, reference, atol=1e-4, rtol=0)


def test_the_early_layout_answers_the_shortest_request_first(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    from export.pipeline import export_checkpoint

    exported = export_checkpoint(str(tiny_checkpoint), tmp_path, "m", "fp32-opt")
    path = exported.version_dir / "model.onnx"
    items = sorted(narratives(tiny_checkpoint, 12, 5, 64), key=lambda b: int(b[1].sum()))
    call = [items[-1], items[0]]  # the longest narrative, then the shortest
    assert int(call[0][1].sum()) > int(call[1][1].sum())
    _, answered = runner("rows_pool_early", path, 1)(call)
    assert answered[1] < answered[0]
    _, at_end = runner("rows_pool", path, 1)(call)
    assert at_end[0] == at_end[1]
