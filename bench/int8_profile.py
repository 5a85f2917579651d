"""Where the int8 graph's time goes, and what sets its int8 ranges: one checkpoint, one run.

    python -m bench.int8_profile --checkpoint artifacts/demo-checkpoint

1. Exports the fused fp32 graph (fp32-opt) and the export's `int8` graph.
2. Profiles both with ONNX Runtime on one batch of `--batch` held-out narratives cut at
   `--max-length` tokens (`--runs` runs after one warm-up): milliseconds per run and share of
   the time per op type.
3. For every FFN MatMul input of the fp32 graph, over `--texts` narratives: the value range
   (max - min) at real tokens, at real tokens without the channels of largest |value| (as
   many as the export keeps in fp32, OUTLIER_CHANNELS), and at padded positions without
   those channels: what one per-tensor int8 scale has to cover.

Narrative text is never printed: only timings and ranges.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.int8_recipes import encode


def op_times(model_path: Path, inputs: dict[str, np.ndarray], threads: int, runs: int) -> dict:
    """Milliseconds per run and share of the node time per op type (ONNX Runtime profiler),
    the first (warm-up) run left out."""
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as work:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.enable_profiling = True
        options.profile_file_prefix = str(Path(work) / "profile")
        session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        for _ in range(runs + 1):
            session.run(None, inputs)
        events = json.loads(Path(session.end_profiling()).read_text())
    starts = sorted(e["ts"] for e in events if e.get("name") == "model_run")
    times: Counter[str] = Counter()
    for event in events:
        timed = event.get("cat") == "Node" and event["name"].endswith("_kernel_time")
        if timed and event["ts"] >= starts[1]:
            times[event["args"]["op_name"]] += event["dur"]
    total = sum(times.values())
    return {
        "ms_per_run": round(total / runs / 1000, 1),
        "share_by_op": {op: round(us / total, 3) for op, us in times.most_common()},
    }


def ffn_input_ranges(model_path: Path, inputs: dict[str, np.ndarray], outliers: int) -> dict:
    """Per FFN MatMul the export splits (by node name), its input's value range at real
    tokens, and without the `outliers` channels of largest |value| at real tokens and at
    padded positions."""
    import onnx

    from export.outlier_split import probe_session, split_targets

    model = onnx.load(str(model_path))
    matmul_inputs = {node.name: node.input[0] for node in split_targets(model)}
    names = list(matmul_inputs.values())
    session = probe_session(model, names)
    real = inputs["attention_mask"].astype(bool)
    n = len(real)
    parts = [
        session.run(names, {k: v[i : i + 16] for k, v in inputs.items()}) for i in range(0, n, 16)
    ]
    values = [np.concatenate(per_name) for per_name in zip(*parts, strict=True)]
    ranges = {}
    for matmul, value in zip(matmul_inputs, values, strict=True):
        at_real, at_pad = value[real], value[~real]
        keep = np.ones(value.shape[-1], dtype=bool)
        keep[np.argsort(-np.abs(at_real).max(axis=0))[:outliers]] = False
        ranges[matmul] = {
            "real": _span(at_real),
            "real_without_outliers": _span(at_real[:, keep]),
            "padding_without_outliers": _span(at_pad[:, keep]),
        }
    return ranges


def _span(values: np.ndarray) -> float | None:
    return round(float(values.max() - values.min()), 2) if values.size else None


def profile(
    checkpoint: Path, n_texts: int, batch: int, seed: int, max_length: int, threads: int, runs: int
) -> dict[str, object]:
    from export.onnx_export import _optimize, _quantize_int8, export_fp32
    from export.outlier_split import OUTLIER_CHANNELS, calibration_batches
    from helpline_model.checkpoint import load_checkpoint

    loaded = load_checkpoint(checkpoint)
    inputs = encode(checkpoint, n_texts, seed, max_length)
    one_batch = {k: v[:batch] for k, v in inputs.items()}
    with tempfile.TemporaryDirectory() as work:
        work_dir = Path(work)
        fused = _optimize(loaded, export_fp32(loaded, work_dir / "fp32.onnx"), work_dir / "f.onnx")
        int8 = _quantize_int8(fused, work_dir / "int8.onnx", calibration_batches(loaded))
        return {
            "checkpoint": str(checkpoint),
            "batch": [batch, max_length],
            "threads": threads,
            "runs": runs,
            "fp32-opt": op_times(fused, one_batch, threads, runs),
            "int8": op_times(int8, one_batch, threads, runs),
            "texts": n_texts,
            "outliers": OUTLIER_CHANNELS,
            "ffn_input_ranges": ffn_input_ranges(fused, inputs, OUTLIER_CHANNELS),
        }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--texts", type=int, default=64, help="for the ranges")
    parser.add_argument("--batch", type=int, default=8, help="for the profile")
    parser.add_argument("--seed", type=int, default=1001)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=6)
    args = parser.parse_args(argv)
    report = profile(
        args.checkpoint,
        args.texts,
        args.batch,
        args.seed,
        args.max_length,
        args.threads,
        args.runs,
    )
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
