"""How the CPU model runner should execute a Triton batch: the layouts compared, same run.

Triton's dynamic batcher hands the Python backend several requests at once (each one
narrative's chunks, padded to the narrative's length bucket). This script replays the same
workload through ONNX Runtime the ways the runner (export/triton_python_model.py) could work:

* **batched_2x2**: each of `--instances` processes runs the requests of one bucket as one
  padded batch on a 2-thread session (the runner until 2026-11-30).
* **rows_2x1**: each process runs every chunk alone, padding cut off, on a 1-thread session.
* **rows_pool**: as rows_2x1, but each process spreads the chunks over `--workers` threads
  that share its 1-thread session (the runner now).

For each exported precision and layout it reports:

* saturation: narratives/s when the processes work through the whole workload at once
  (Triton's instances under load), and the ratio to batched_2x2 in the same run;
* latency of a lone narrative by chunk count (median ms, nothing else running);
* for quantized precisions, the share of chunks whose main category equals fp32-opt's run
  the same way (int8's activation scale is per tensor: batched, it depends on the
  neighbours).

    python -m bench.row_execution --checkpoint artifacts/demo-checkpoint

Narrative text is never printed: only counts, seconds and ratios.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from bench.workload import ChunkPlan, generate_narratives, narrative_chunks
from client.buckets import bucket_for, pad_batch
from client.tokenization import NarrativeTokenizer

Batch = tuple[np.ndarray, np.ndarray]
LAYOUTS = ("batched_2x2", "rows_2x1", "rows_pool")
LONE_CHUNKS = (1, 2, 3, 4)


def narratives(checkpoint: Path, n: int, seed: int, max_length: int) -> list[Batch]:
    """Each narrative's chunks padded to its bucket, as the gateway sends them."""
    tokenizer = NarrativeTokenizer(checkpoint)
    rows, _ = generate_narratives(n, seed)
    plan = ChunkPlan(max_length=max_length).resolved()
    return [
        pad_batch(chunks, bucket_for(chunks, plan.buckets), tokenizer.pad_id)
        for _, chunks in narrative_chunks([r["narrative"] for r in rows], tokenizer, plan)
        if chunks
    ]


def triton_batches(items: Sequence[Batch], group: int) -> list[Batch]:
    """`group` narratives of one bucket per batch: what the dynamic batcher forms under load."""
    by_bucket: dict[int, list[Batch]] = {}
    for ids, mask in items:
        by_bucket.setdefault(ids.shape[1], []).append((ids, mask))
    batches = []
    for members in by_bucket.values():
        for start in range(0, len(members), group):
            part = members[start : start + group]
            batches.append(
                (np.concatenate([ids for ids, _ in part]), np.concatenate([m for _, m in part]))
            )
    return batches


def session(path: Path, threads: int):  # -> onnxruntime.InferenceSession
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def rows_of(batch: Batch) -> list[Batch]:
    """Each row cut to its real length (the gateway right-pads)."""
    ids, mask = batch
    lengths = mask.sum(axis=1)
    return [(ids[r : r + 1, : int(n)], mask[r : r + 1, : int(n)]) for r, n in enumerate(lengths)]


def runner(layout: str, path: Path, workers: int) -> Callable[[Batch], np.ndarray]:
    """A function that returns the main-category logits of one Triton batch."""
    if layout == "batched_2x2":
        graph = session(path, 2)
        return lambda b: graph.run(["logits_main"], {"input_ids": b[0], "attention_mask": b[1]})[0]
    graph = session(path, 1)

    def one(row: Batch) -> np.ndarray:
        return graph.run(["logits_main"], {"input_ids": row[0], "attention_mask": row[1]})[0]

    if layout == "rows_2x1":
        return lambda b: np.concatenate([one(row) for row in rows_of(b)])
    if layout == "rows_pool":
        pool = ThreadPoolExecutor(workers)
        return lambda b: np.concatenate(list(pool.map(one, rows_of(b))))
    raise ValueError(f"unknown layout {layout!r}")


def _instance(path, layout, workers, batches, barrier, results) -> None:
    run = runner(layout, Path(path), workers)
    run(batches[0])  # warm-up, then start together
    barrier.wait()
    started = time.perf_counter()
    for batch in batches:
        run(batch)
    results.put(time.perf_counter() - started)


def saturation_seconds(
    path: Path, layout: str, batches: Sequence[Batch], instances: int, workers: int
) -> float:
    """Wall time for `instances` processes (Triton's model instances) to run all batches."""
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(instances), context.Queue()
    processes = [
        context.Process(
            target=_instance,
            args=(str(path), layout, workers, list(batches[i::instances]), barrier, results),
        )
        for i in range(instances)
    ]
    for process in processes:
        process.start()
    seconds = max(results.get(timeout=3600) for _ in processes)
    for process in processes:
        process.join()
    return seconds


def lone_latency_ms(
    run: Callable[[Batch], np.ndarray], items: Sequence[Batch], per_count: int
) -> dict[str, float]:
    """Median ms for a narrative sent alone, by its number of chunks."""
    run(items[0])
    latency = {}
    for count in LONE_CHUNKS:
        chosen = [b for b in items if len(b[0]) == count][:per_count]
        if chosen:
            seconds = []
            for batch in chosen:
                started = time.perf_counter()
                run(batch)
                seconds.append(time.perf_counter() - started)
            latency[str(count)] = round(1000 * statistics.median(seconds), 1)
    return latency


def main_category(run: Callable[[Batch], np.ndarray], batches: Sequence[Batch]) -> np.ndarray:
    return np.concatenate([run(batch) for batch in batches]).argmax(1)


def compare(
    checkpoint: Path,
    precisions: Sequence[str],
    n: int,
    seed: int,
    group: int,
    instances: int,
    workers: int,
    lone_per_count: int = 5,
) -> dict[str, object]:
    from export.model import load_checkpoint
    from export.pipeline import export_checkpoint, served_max_length

    max_length = served_max_length(load_checkpoint(str(checkpoint)))
    items = narratives(checkpoint, n, seed, max_length)
    batches = triton_batches(items, group)
    tokens = int(sum(int(mask.sum()) for _, mask in items))
    padded = sum(ids.size for ids, _ in items)
    results: dict[str, dict[str, object]] = {}
    reference: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory() as work:
        for precision in ("fp32-opt", *[p for p in precisions if p != "fp32-opt"]):
            exported = export_checkpoint(str(checkpoint), Path(work), "bench_rows", precision)
            path = exported.version_dir / "model.onnx"
            per_layout: dict[str, object] = {}
            for layout in LAYOUTS:
                seconds = saturation_seconds(path, layout, batches, instances, workers)
                run = runner(layout, path, workers)  # one session for both measurements
                entry: dict[str, object] = {
                    "saturation_narratives_per_s": round(len(items) / seconds, 2),
                    "lone_latency_ms_by_chunks": lone_latency_ms(run, items, lone_per_count),
                }
                if layout != "rows_pool":  # it computes exactly what rows_2x1 does
                    main = main_category(run, batches)
                    if precision == "fp32-opt":
                        reference[layout] = main
                    else:
                        agreement = float((main == reference[layout]).mean())
                        entry["main_agreement_with_fp32"] = round(agreement, 4)
                per_layout[layout] = entry
            base = per_layout["batched_2x2"]["saturation_narratives_per_s"]
            for entry in per_layout.values():
                entry["saturation_vs_batched_2x2"] = round(
                    entry["saturation_narratives_per_s"] / base, 3
                )
            results[precision] = per_layout
            for layout, entry in per_layout.items():
                print(f"{precision:10s} {layout:12s} {json.dumps(entry)}", flush=True)
    return {
        "checkpoint": str(checkpoint),
        "narratives": len(items),
        "seed": seed,
        "chunks": sum(len(ids) for ids, _ in items),
        "batches": len(batches),
        "group": group,
        "instances": instances,
        "workers": workers,
        "max_length": max_length,
        "padding": round(padded / tokens, 3),
        "precisions": results,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--precisions", nargs="*", default=["fp32-opt", "int8"])
    parser.add_argument("--narratives", type=int, default=240)
    parser.add_argument("--seed", type=int, default=1001, help="not a training seed")
    parser.add_argument("--group", type=int, default=3, help="narratives per Triton batch")
    parser.add_argument("--instances", type=int, default=2, help="Triton model instances")
    parser.add_argument("--workers", type=int, default=2, help="rows_pool threads per instance")
    parser.add_argument("--out", type=Path, help="also write the results as JSON")
    args = parser.parse_args(argv)
    report = compare(
        args.checkpoint,
        args.precisions,
        args.narratives,
        args.seed,
        args.group,
        args.instances,
        args.workers,
    )
    print(
        f"{report['narratives']} narratives, {report['chunks']} chunks in {report['batches']} "
        f"batches of up to {report['group']} narratives, padding {report['padding']}",
        flush=True,
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
