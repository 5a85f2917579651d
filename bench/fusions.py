"""Is a fusion worth it on this CPU: the fused graph with and without SkipLayerNormalization.

The export's fp32-opt graph leaves residual Add + LayerNormalization unfused because ONNX
Runtime's CPU SkipLayerNormalization kernel was slower than the two ops it replaces. This
script rebuilds both graphs from a checkpoint (fp32-opt, and int8 through the export's own
quantizer) and times one batch of each, the two variants alternating so that both see the
same machine load; it reports the median per-run time, the speed-up without the fusion and
the largest logit difference between the variants.

ONNX Runtime's session optimizer (ORT_ENABLE_ALL, as the runner loads graphs) fuses the pair
again at load wherever a residual Add feeds a LayerNormalization directly. So the report
also times, per served graph (fp32-opt and int8 as exported) and for plain per-channel int8
(the recipe the outlier split is measured against), a default session against one with
`disabled_optimizers=["SkipLayerNormFusion"]`, with the count of fused nodes in each
session's optimized graph (`session_fusion`).

    python -m bench.fusions --checkpoint artifacts/demo-checkpoint --batch 1 --threads 1

No narrative text is used: the inputs are random token ids.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.int8_recipes import session


def count_ops(path: Path, op_type: str) -> int:
    import onnx

    return sum(node.op_type == op_type for node in onnx.load(str(path)).graph.node)


def time_pair(fused, unfused, feed: dict[str, np.ndarray], rounds: int) -> tuple[float, float]:
    """Median seconds per run of each graph, run alternately."""
    for graph in (fused, unfused):
        graph.run(None, feed)
    seconds: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        for graph, spent in zip((fused, unfused), seconds, strict=True):
            started = time.perf_counter()
            graph.run(None, feed)
            spent.append(time.perf_counter() - started)
    return statistics.median(seconds[0]), statistics.median(seconds[1])


def session_graph(path: Path, threads: int, disabled: Sequence[str], work: Path):
    """(a CPU session as the runner makes it, with `disabled` session-level fusions left out;
    the number of SkipLayerNormalization nodes in the graph the session runs)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    optimized = work / f"{path.stem}.{'-'.join(disabled) or 'default'}.session.onnx"
    options.optimized_model_filepath = str(optimized)
    graph = ort.InferenceSession(
        str(path), options, providers=["CPUExecutionProvider"], disabled_optimizers=list(disabled)
    )
    return graph, count_ops(optimized, "SkipLayerNormalization")


def session_fusion(
    paths: dict[str, Path], feed: dict[str, np.ndarray], threads: int, rounds: int, work: Path
) -> dict[str, dict[str, object]]:
    """Per graph: default session against SkipLayerNormFusion disabled at load."""
    out: dict[str, dict[str, object]] = {}
    for name, path in paths.items():
        default, fused_at_load = session_graph(path, threads, (), work)
        disabled, left = session_graph(path, threads, ("SkipLayerNormFusion",), work)
        with_fusion, without = time_pair(default, disabled, feed, rounds)
        out[name] = {
            "skip_layer_norm_ops_at_load": fused_at_load,
            "skip_layer_norm_ops_disabled": left,
            "ms_default_session": round(1000 * with_fusion, 2),
            "ms_fusion_disabled": round(1000 * without, 2),
            "speedup_fusion_disabled": round(with_fusion / without, 3),
        }
        print(f"{name:16s} session {json.dumps(out[name])}", flush=True)
    return out


def compare(
    checkpoint: Path, batch: int, length: int, threads: int, rounds: int
) -> dict[str, object]:
    from export.onnx_export import _optimize, _quantize_int8, export_fp32
    from export.outlier_split import calibration_batches
    from helpline_model.checkpoint import load_checkpoint

    loaded = load_checkpoint(str(checkpoint))
    rng = np.random.default_rng(0)
    ids = rng.integers(1000, loaded.model.config.vocab_size, size=(batch, length))
    ids[:, 0] = 101
    feed = {"input_ids": ids.astype(np.int64), "attention_mask": np.ones_like(ids)}
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as work:
        work_dir = Path(work)
        fp32 = export_fp32(loaded, work_dir / "fp32.onnx")
        graphs = {
            "fp32-opt": (
                _optimize(loaded, fp32, work_dir / "fused.onnx", skip_layer_norm_fusion=True),
                _optimize(loaded, fp32, work_dir / "unfused.onnx"),
            )
        }
        calibration = list(calibration_batches(loaded))
        graphs["int8"] = tuple(
            _quantize_int8(path, work_dir / f"int8_{path.name}", calibration)
            for path in graphs["fp32-opt"]
        )
        for precision, (fused_path, unfused_path) in graphs.items():
            fused, unfused = session(fused_path, threads), session(unfused_path, threads)
            with_fusion, without = time_pair(fused, unfused, feed, rounds)
            diff = max(
                float(np.abs(a - b).max())
                for a, b in zip(fused.run(None, feed), unfused.run(None, feed), strict=True)
            )
            results[precision] = {
                "skip_layer_norm_ops": count_ops(fused_path, "SkipLayerNormalization"),
                "ms_with_fusion": round(1000 * with_fusion, 2),
                "ms_without_fusion": round(1000 * without, 2),
                "speedup_without_fusion": round(with_fusion / without, 3),
                "max_abs_logit_diff": round(diff, 6),
            }
            print(f"{precision:8s} {json.dumps(results[precision])}", flush=True)
        served = {name: unfused for name, (_, unfused) in graphs.items()}
        plain = _quantize_int8(
            graphs["fp32-opt"][1], work_dir / "int8_per_channel.onnx", calibration, 0
        )
        at_load = session_fusion(
            {**served, "int8 per-channel": plain}, feed, threads, rounds, work_dir
        )
    return {
        "checkpoint": str(checkpoint),
        "batch": [batch, length],
        "threads": threads,
        "rounds": rounds,
        "graphs": results,
        "session_fusion": at_load,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--length", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1, help="the CPU runner uses 1")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--out", type=Path, help="also write the results as JSON")
    args = parser.parse_args(argv)
    report = compare(args.checkpoint, args.batch, args.length, args.threads, args.rounds)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
