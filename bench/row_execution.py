"""How the CPU model runner should execute a Triton batch: the layouts compared, same run.

Triton's dynamic batcher hands the Python backend several requests at once (each one
narrative's chunks, padded to the narrative's length bucket). This script replays the same
workload through ONNX Runtime the ways the runner (export/triton_python_model.py) could work:

* **batched_2x2**: each of `--instances` processes runs the requests of one bucket as one
  padded batch on a 2-thread session (as Triton's onnxruntime backend runs a batch).
* **rows_2x1**: each process runs every chunk alone, padding cut off, on a 1-thread session.
* **rows_pool**: as rows_2x1, but each process spreads the chunks over `--workers` threads
  that share its 1-thread session, longest chunk of the call first. These three answer
  every request of a call when the call is done.
* **rows_pool_early**: as rows_pool, but the requests of a call run shortest first (real
  tokens), each one's chunks longest first, and each request is answered as soon as its own
  chunks are done (the committed runner, through Triton's response sender).

For each exported precision and layout it reports:

* saturation: narratives/s when the processes work through the whole workload at once
  (Triton's instances under load), and the ratio to batched_2x2 in the same run;
* during that run, the time from the start of a call to each of its narratives' answers
  (mean, p50 / p90 / p99 ms): what a request waits inside the runner once Triton hands it
  over (time in Triton's queue comes on top and is not modelled);
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
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from bench.machine import this_machine
from bench.workload import ChunkPlan, generate_narratives, narrative_chunks
from client.core.buckets import pad_batch
from client.core.tokenization import NarrativeTokenizer

Batch = tuple[np.ndarray, np.ndarray]
# One Triton execute call: the padded batches of the narratives it holds, one per request.
Call = list[Batch]
# Main-category logits per narrative, and seconds from the start of the call to each answer.
Answers = tuple[list[np.ndarray], list[float]]
LAYOUTS = ("batched_2x2", "rows_2x1", "rows_pool", "rows_pool_early")
LONE_CHUNKS = (1, 2, 3, 4)


def narratives(checkpoint: Path, n: int, seed: int, max_length: int) -> list[Batch]:
    """Each narrative's chunks padded to its bucket, as the gateway sends them."""
    tokenizer = NarrativeTokenizer(checkpoint)
    rows, _ = generate_narratives(n, seed)
    plan = ChunkPlan(max_length=max_length)
    resolved = plan.resolved()
    return [
        pad_batch(chunks, resolved.bucket(chunks), tokenizer.pad_id)
        for _, chunks in narrative_chunks([r["narrative"] for r in rows], tokenizer, plan)
        if chunks
    ]


def triton_calls(items: Sequence[Batch], group: int) -> list[Call]:
    """`group` narratives of one bucket per call: what the dynamic batcher forms under load."""
    by_bucket: dict[int, list[Batch]] = {}
    for ids, mask in items:
        by_bucket.setdefault(ids.shape[1], []).append((ids, mask))
    return [
        members[start : start + group]
        for members in by_bucket.values()
        for start in range(0, len(members), group)
    ]


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


def _answered_at_end(call: Call, logits: np.ndarray, started: float) -> Answers:
    """Every answer of the call leaves when the last row is done (one response list)."""
    ends = np.cumsum([len(ids) for ids, _ in call])[:-1]
    done = time.perf_counter() - started
    return list(np.split(logits, ends)), [done] * len(call)


def _submit_longest_first(
    pool: ThreadPoolExecutor, one: Callable[[Batch], np.ndarray], rows: Sequence[Batch]
) -> list[Future]:
    """Starts the rows longest first, so that the last one to start is a short one; the
    futures come back in row order."""
    order = sorted(range(len(rows)), key=lambda r: -rows[r][0].shape[1])
    submitted = {r: pool.submit(one, rows[r]) for r in order}
    return [submitted[r] for r in range(len(rows))]


def runner(layout: str, path: Path, workers: int) -> Callable[[Call], Answers]:
    """A function that runs one Triton execute call the way `layout` does."""
    if layout == "batched_2x2":
        graph = session(path, 2)

        def batched(call: Call) -> Answers:
            started = time.perf_counter()
            feed = {
                "input_ids": np.concatenate([ids for ids, _ in call]),
                "attention_mask": np.concatenate([mask for _, mask in call]),
            }
            return _answered_at_end(call, graph.run(["logits_main"], feed)[0], started)

        return batched
    graph = session(path, 1)

    def one(row: Batch) -> np.ndarray:
        return graph.run(["logits_main"], {"input_ids": row[0], "attention_mask": row[1]})[0]

    if layout == "rows_2x1":

        def in_order(call: Call) -> Answers:
            started = time.perf_counter()
            rows = [row for batch in call for row in rows_of(batch)]
            return _answered_at_end(call, np.concatenate([one(r) for r in rows]), started)

        return in_order
    pool = ThreadPoolExecutor(workers)
    if layout == "rows_pool":

        def longest_first(call: Call) -> Answers:
            started = time.perf_counter()
            rows = [row for batch in call for row in rows_of(batch)]
            futures = _submit_longest_first(pool, one, rows)
            logits = np.concatenate([future.result() for future in futures])
            return _answered_at_end(call, logits, started)

        return longest_first
    if layout == "rows_pool_early":

        def shortest_request_first(call: Call) -> Answers:
            """As export/triton_python_model.py: requests by real tokens, each request's
            rows longest first, each answer sent when its own rows are done."""
            started = time.perf_counter()
            per_request = [rows_of(batch) for batch in call]
            jobs = sorted(
                range(len(call)), key=lambda j: sum(r[0].shape[1] for r in per_request[j])
            )
            futures = {j: _submit_longest_first(pool, one, per_request[j]) for j in jobs}
            logits: list[np.ndarray] = [np.empty(0)] * len(call)
            answered = [0.0] * len(call)
            for j in jobs:
                logits[j] = np.concatenate([f.result() for f in futures[j]])
                answered[j] = time.perf_counter() - started
            return logits, answered

        return shortest_request_first
    raise ValueError(f"unknown layout {layout!r}")


def _instance(path, layout, workers, calls, barrier, results) -> None:
    run = runner(layout, Path(path), workers)
    run(calls[0])  # warm-up, then start together
    barrier.wait()
    started = time.perf_counter()
    answered: list[float] = []
    for call in calls:
        answered.extend(run(call)[1])
    results.put((time.perf_counter() - started, answered))


def saturation(
    path: Path, layout: str, calls: Sequence[Call], instances: int, workers: int
) -> tuple[float, list[float]]:
    """Wall time for `instances` processes (Triton's model instances) to run all calls, and
    for every narrative the seconds from the start of its call to its answer."""
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(instances), context.Queue()
    processes = [
        context.Process(
            target=_instance,
            args=(str(path), layout, workers, list(calls[i::instances]), barrier, results),
        )
        for i in range(instances)
    ]
    for process in processes:
        process.start()
    finished = [results.get(timeout=3600) for _ in processes]
    for process in processes:
        process.join()
    return max(seconds for seconds, _ in finished), [a for _, part in finished for a in part]


def lone_latency_ms(
    run: Callable[[Call], Answers], items: Sequence[Batch], per_count: int
) -> dict[str, float]:
    """Median ms for a narrative sent alone, by its number of chunks."""
    run([items[0]])
    latency = {}
    for count in LONE_CHUNKS:
        chosen = [b for b in items if len(b[0]) == count][:per_count]
        if chosen:
            seconds = []
            for batch in chosen:
                started = time.perf_counter()
                run([batch])
                seconds.append(time.perf_counter() - started)
            latency[str(count)] = round(1000 * statistics.median(seconds), 1)
    return latency


def answer_ms(answered: Sequence[float]) -> dict[str, float]:
    """Mean and percentiles of the time from the start of a call to each of its answers."""
    ms = 1000 * np.asarray(answered)
    return {
        "mean": round(float(ms.mean()), 1),
        **{f"p{q}": round(float(np.percentile(ms, q)), 1) for q in (50, 90, 99)},
    }


def main_category(run: Callable[[Call], Answers], calls: Sequence[Call]) -> np.ndarray:
    return np.concatenate([logits for call in calls for logits in run(call)[0]]).argmax(1)


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
    from export.pipeline import export_checkpoint
    from helpline_model.checkpoint import load_checkpoint, served_max_length

    max_length = served_max_length(load_checkpoint(str(checkpoint)))
    items = narratives(checkpoint, n, seed, max_length)
    calls = triton_calls(items, group)
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
                seconds, answered = saturation(path, layout, calls, instances, workers)
                run = runner(layout, path, workers)  # one session for both measurements
                entry: dict[str, object] = {
                    "saturation_narratives_per_s": round(len(items) / seconds, 2),
                    "answer_ms_in_call": answer_ms(answered),
                    "lone_latency_ms_by_chunks": lone_latency_ms(run, items, lone_per_count),
                }
                if not layout.startswith("rows_pool"):  # the pools compute what rows_2x1 does
                    main = main_category(run, calls)
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
                print(f"{precision:10s} {layout:15s} {json.dumps(entry)}", flush=True)
    return {
        "machine": this_machine().as_dict(),
        "checkpoint": str(checkpoint),
        "narratives": len(items),
        "seed": seed,
        "chunks": sum(len(ids) for ids, _ in items),
        "calls": len(calls),
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
    print(f"machine: {this_machine().summary()}", flush=True)
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
        f"{report['narratives']} narratives, {report['chunks']} chunks in {report['calls']} "
        f"calls of up to {report['group']} narratives, padding {report['padding']}",
        flush=True,
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
