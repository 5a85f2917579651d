"""The legacy serving path vs our stack, side by side in one run, over several concurrencies.

    python -m bench.compare --concurrency 1,4,16 --duration-s 30 [--checkpoint DIR]

1. the checkpoint (default: a MiniLM-sized random-init one in the production format) is
   exported as fp32-opt (version 1) and int8 (version 2; `--int8-precision int8-block` for
   the block-wise recipe, `openvino-bf16` for OpenVINO bf16, the side keeping its "int8"
   label in the report, whose header names the precision) into a temporary model repository;
2. Triton and two gateways (one pinned to each version with TRIAGE_MODEL_VERSION) and the
   baseline server (`bench.baseline_server`, same checkpoint) start on free loopback ports;
3. the numpy fp32 matmul ceiling is measured first, while none of them has work, and set
   beside the CPU's own fp32 peak; the report names the CPU, its cores, clock and the ISA
   features that move the ratios (`bench.machine`);
4. per concurrency, each side gets a closed-loop run (`bench.loadgen`) while the CPU time of
   every process is sampled from /proc; every side is warmed up once before;
   then each of our sides runs open loop at half its saturation, and the narratives it
   answered are sent again one at a time on the idle stack, for latency under load over
   latency alone per narrative (`bench.queueing`);
5. int8 vs fp32 main-category agreement is taken over the whole workload (narratives the
   timed runs did not reach are sent once more);
6. `bench/results/<timestamp>/` gets report.md, report.json, PNG plots, the workload and
   the server logs (which never hold narrative text).

`--quick` runs a tiny model (dim 32) on a handful of requests: a smoke test, not a benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from bench import cpu, plots
from bench.flops import ModelDims, matmul_ceiling_gflops
from bench.loadgen import RunResult, run, run_open_loop
from bench.machine import Machine, this_machine
from bench.processes import ServerProcess, start_baseline, start_gateway, start_triton
from bench.queueing import (
    alone_latencies,
    queueing_ratios,
    scheduling_floors,
    to_measure_alone,
)
from bench.report import (
    BASELINE,
    OURS,
    SIDES,
    Measured,
    agreement,
    gateway_of,
    ratios,
    render_markdown,
    run_metrics,
    targets,
)
from bench.workload import (
    DEFAULT_SEED,
    ChunkPlan,
    WorkItem,
    build_workload,
    describe,
    padding_ratio,
    padding_ratio_per_chunk,
    read_workload,
    write_workload,
)
from client.core.buckets import DEFAULT_BUCKETS
from client.core.settings import GatewaySettings
from export.repository import DEFAULT_MODEL_NAME, PROJECT_ROOT
from helpline_model.layout import trained_max_length

RESULTS = PROJECT_ROOT / "bench" / "results"
VERSIONS = {"fp32": (1, "fp32-opt"), "int8": (2, "int8")}
# The open-loop run offers this fraction of each side's saturation (the latency targets').
HALF_LOAD = 0.5
# The fast CPU side: make serve's candidates (stack/embedded_default.py) other than fp32-opt.
INT8_PRECISIONS = ("int8", "int8-block", "openvino-bf16")
# Top-level keys of report.json; the smoke test checks every one is present.
REPORT_FIELDS = (
    "created_at",
    "command",
    "host",
    "model",
    "settings",
    "workload",
    "ceiling",
    "export",
    "runs",
    "ratios",
    "gateway_cpu_share_at_max_concurrency",
    "padding",
    "half_saturation",
    "agreement",
    "targets",
    "plots",
    "notes",
)
# Keys of every entry of report.json's "runs".
RUN_FIELDS = (
    "side",
    "concurrency",
    "requests",
    "ok",
    "errors",
    "error_rate",
    "wall_s",
    "narratives_per_s",
    "chunks_per_s",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "mean_narrative_tokens",
    "cpu_s",
    "serving_cpu_s",
    "serving_cores",
    "cpu_ms_per_narrative",
    "gateway_cpu_share",
    "other_load_cores",
    "padding_ratio_served",
    "model_gflops",
    "model_gflops_useful",
    "share_of_ceiling",
    "share_of_peak",
    "layout_mismatches",
)


@dataclass(frozen=True)
class Config:
    concurrency: tuple[int, ...]
    requests: int
    duration_s: float
    workload_n: int
    seed: int
    warmup_requests: int
    ceiling_s: float
    model_dims: dict[str, int]  # for the built-in random checkpoint
    timeout_s: float


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None, help="production-format folder")
    parser.add_argument("--concurrency", default=None, help="comma-separated, default 1,4,16")
    parser.add_argument("--requests", type=int, default=None, help="per run, at most")
    parser.add_argument("--duration-s", type=float, default=None, help="per run, at most")
    parser.add_argument("--workload-n", type=int, default=None, help="narratives (default 300)")
    parser.add_argument("--workload", type=Path, default=None, help="JSONL from bench.workload")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=None, help="default bench/results/<time>")
    parser.add_argument(
        "--baseline-threads", type=int, default=0, help="torch threads (0: torch's default)"
    )
    parser.add_argument(
        "--int8-precision",
        choices=INT8_PRECISIONS,
        default="int8",
        help="precision of the fast side, labelled int8 in the report (export/onnx_export.py)",
    )
    parser.add_argument("--quick", action="store_true", help="tiny model, few requests (smoke)")
    return parser.parse_args(argv)


def make_config(args: argparse.Namespace) -> Config:
    if args.quick:
        defaults = Config((1, 2), 6, 5.0, 6, args.seed, 1, 0.3, _TINY, 60.0)
    else:
        defaults = Config((1, 4, 16), 5000, 30.0, 300, args.seed, 12, 3.0, _MINILM, 300.0)
    concurrency = defaults.concurrency
    if args.concurrency:
        concurrency = tuple(int(c) for c in args.concurrency.split(",") if c.strip())
    if not concurrency or min(concurrency) < 1:
        raise SystemExit("--concurrency needs positive integers")
    return Config(
        concurrency=tuple(sorted(set(concurrency))),
        requests=args.requests or defaults.requests,
        duration_s=args.duration_s or defaults.duration_s,
        workload_n=args.workload_n or defaults.workload_n,
        seed=args.seed,
        warmup_requests=defaults.warmup_requests,
        ceiling_s=defaults.ceiling_s,
        model_dims=defaults.model_dims,
        timeout_s=defaults.timeout_s,
    )


_MINILM = {"dim": 384, "n_layers": 6, "n_heads": 12}
_TINY = {"dim": 32, "n_layers": 2, "n_heads": 2}


def random_checkpoint(folder: Path, dims: dict[str, int]) -> Path:
    from export.tiny import make_tiny_checkpoint, production_labels, production_sub_to_main

    return make_tiny_checkpoint(
        folder,
        production_labels(),
        **dims,
        sub_to_main=production_sub_to_main(),
        severity_order=["1", "2", "3"],
    )


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def host_info(machine: Machine) -> dict[str, object]:
    return {
        "cpu_model": machine.cpu_model,
        "cpu_count": os.cpu_count(),
        "machine": machine.as_dict(),
        "loadavg_start": _loadavg(),
    }


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def warmup_order(items: Sequence[WorkItem], n: int) -> list[int]:
    """One narrative per (bucket, chunk count) first, so every shape has run once."""
    seen: set[tuple[int, int]] = set()
    order = []
    for i, item in enumerate(items):
        key = (item.bucket, min(item.n_chunks, 3))
        if key not in seen:
            seen.add(key)
            order.append(i)
    order += [i for i in range(len(items)) if i not in order]
    return order[: max(n, 1)]


def measure_ceiling(seconds: float, machine: Machine) -> dict[str, object]:
    """numpy's sustained fp32 matmul speed, next to the CPU's own fp32 peak (bench.machine):
    ONNX Runtime's kernels can beat numpy, so numpy alone is no ceiling."""
    before = cpu.snapshot({})
    gflops = matmul_ceiling_gflops(seconds)
    used = cpu.used_between(before, cpu.snapshot({}))
    peak = machine.fp32_peak_gflops
    return {
        "numpy_fp32_matmul_gflops": round(gflops, 2),
        "size": 2048,
        "seconds": seconds,
        "other_load_cores": round(used["other"] / seconds, 3),
        "cpu_fp32_peak_gflops": peak,
        "cpu_fp32_peak_basis": machine.fp32_peak_basis,
        "numpy_share_of_peak": round(gflops / peak, 4) if peak else None,
    }


def export_versions(
    checkpoint: Path, repository: Path, int8_precision: str = "int8"
) -> dict[str, dict]:
    from export.pipeline import export_checkpoint

    exported = {}
    for side, (version, precision) in VERSIONS.items():
        if side == "int8":
            precision = int8_precision
        log(f"exporting {precision} as version {version}")
        # No agreement bar here: the benchmark measures int8 as it is and reports its
        # agreement with fp32 (the export command enforces the bar).
        result = export_checkpoint(
            str(checkpoint),
            repository,
            DEFAULT_MODEL_NAME,
            precision,
            version=version,
            min_main_agreement=0.0,
        )
        exported[side] = {
            "version": version,
            "precision": precision,
            "seconds": round(result.seconds, 1),
            "parity": result.parity.to_dict(),
        }
    return exported


class Stack:
    """Triton, one gateway per precision and the baseline, all on loopback."""

    def __init__(
        self,
        checkpoint: Path,
        repository: Path,
        logs: Path,
        timeout_s: float,
        baseline_threads: int = 0,
    ):
        self.triton = start_triton(repository, logs / "triton.log")
        self.servers: dict[str, ServerProcess] = {}
        try:
            self.servers[BASELINE] = start_baseline(
                checkpoint, logs / "baseline.log", baseline_threads
            )
            self.triton.wait_ready(180)
            for side, (version, _) in VERSIONS.items():
                self.servers[side] = start_gateway(
                    gateway_of(side),
                    self.triton.grpc_url,
                    repository,
                    version,
                    logs / f"{gateway_of(side)}.log",
                    TRIAGE_BUCKETS=",".join(str(b) for b in DEFAULT_BUCKETS),
                    # Queueing on a saturated 2-core machine is measured, not cut off.
                    TRIAGE_REQUEST_TIMEOUT_S=str(timeout_s),
                )
            self.servers[BASELINE].wait_ready("/livez")
            for side in OURS:
                self.servers[side].wait_ready("/readyz")
        except BaseException:
            self.stop()
            raise

    def url(self, side: str) -> str:
        return self.servers[side].url

    def pids(self) -> dict[str, int]:
        pids = {"triton": self.triton.process.pid, BASELINE: self.servers[BASELINE].pid}
        pids.update({gateway_of(side): self.servers[side].pid for side in OURS})
        return pids

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()
        self.triton.stop()


def measure(
    stack: Stack, items: Sequence[WorkItem], config: Config
) -> tuple[list[Measured], dict[str, dict[int, str]], dict[str, dict[int, float]], dict[str, int]]:
    """All timed runs; the main category and its confidence answered per side and workload
    position; how many narratives had to be sent again to complete the agreement set."""
    answers: dict[str, dict[int, str]] = {side: {} for side in SIDES}
    confidences: dict[str, dict[int, float]] = {side: {} for side in SIDES}

    def collect(side: str, result: RunResult) -> None:
        for record in result.records:
            if record.ok and record.main_category is not None:
                answers[side].setdefault(record.index, record.main_category)
                if record.main_confidence is not None:
                    confidences[side].setdefault(record.index, record.main_confidence)

    for side in SIDES:
        log(f"warming up {side}")
        collect(
            side,
            run(
                stack.url(side),
                items,
                min(4, max(config.concurrency)),
                max_requests=config.warmup_requests,
                duration_s=config.timeout_s,
                timeout_s=config.timeout_s,
                order=warmup_order(items, config.warmup_requests),
            ),
        )
    measured = []
    pids = stack.pids()
    for concurrency in config.concurrency:
        for side in SIDES:
            before = cpu.snapshot(pids)
            result = run(
                stack.url(side),
                items,
                concurrency,
                max_requests=config.requests,
                duration_s=config.duration_s,
                label=side,
                timeout_s=config.timeout_s,
            )
            used = cpu.used_between(before, cpu.snapshot(pids))
            measured.append(Measured(side, concurrency, result, used))
            collect(side, result)
            summary = result.summary()
            log(
                f"concurrency {concurrency:>3} {side:>8}: {summary['ok']}/{summary['requests']} "
                f"ok, {summary['narratives_per_s']:.2f} narratives/s, "
                f"p50 {summary['latency_p50_ms']} ms, p99 {summary['latency_p99_ms']} ms"
            )
    filled = {}
    for side in OURS:
        missing = [i for i in range(len(items)) if i not in answers[side]]
        filled[side] = len(missing)
        if missing:
            log(f"{side}: classifying {len(missing)} narratives not reached, for agreement")
            collect(
                side,
                run(
                    stack.url(side),
                    items,
                    4,
                    max_requests=len(missing),
                    duration_s=config.timeout_s * 10,
                    timeout_s=config.timeout_s,
                    order=missing,
                ),
            )
    return measured, answers, confidences, filled


def measure_half_saturation(
    stack: Stack, items: Sequence[WorkItem], measured: Sequence[Measured], config: Config
) -> dict[str, dict[str, object]]:
    """Per side of ours: open-loop Poisson load at half the best closed-loop throughput
    measured, and its latency percentiles (the p99 <= 2x p50 target); then, on the idle
    stack, the narratives it answered once each, one at a time, for the per-narrative ratio
    of latency under load to latency alone (bench.queueing)."""
    found: dict[str, dict[str, object]] = {}
    for side in OURS:
        saturation = max(m.result.summary()["narratives_per_s"] for m in measured if m.side == side)
        rate = saturation * HALF_LOAD
        result = asyncio.run(
            run_open_loop(
                stack.url(side),
                items,
                rate,
                max_requests=config.requests,
                duration_s=config.duration_s,
                label=side,
                timeout_s=config.timeout_s,
                seed=config.seed,
            )
        )
        summary = result.summary()
        p50, p99 = summary["latency_p50_ms"], summary["latency_p99_ms"]
        # The workload mixes 1-chunk and 5-chunk narratives, so service time alone spreads
        # latency; per padded token (chunks x bucket) the spread that is left is queueing.
        per_token = [
            r.latency_s / (r.chunks * r.bucket)
            for r in result.records
            if r.ok and r.chunks and r.bucket
        ]
        token_p50, token_p99 = (
            (float(np.percentile(per_token, 50)), float(np.percentile(per_token, 99)))
            if per_token
            else (0.0, 0.0)
        )
        found[side] = {
            "saturation_narratives_per_s": round(saturation, 3),
            "offered_narratives_per_s": round(rate, 3),
            "achieved_narratives_per_s": summary["narratives_per_s"],
            "requests": summary["requests"],
            "error_rate": summary["error_rate"],
            "latency_p50_ms": p50,
            "latency_p95_ms": summary["latency_p95_ms"],
            "latency_p99_ms": p99,
            "p99_over_p50": round(p99 / p50, 3) if p50 and p50 == p50 else None,
            "p99_over_p50_per_padded_token": round(token_p99 / token_p50, 3) if token_p50 else None,
        }
        log(
            f"half saturation {side:>8}: {rate:.2f}/s offered, p50 {p50} ms, p99 {p99} ms "
            f"(p99/p50 {found[side]['p99_over_p50']})"
        )
        found[side]["vs_alone"] = measure_vs_alone(stack, items, side, result, config)
    return found


def measure_vs_alone(
    stack: Stack, items: Sequence[WorkItem], side: str, loaded: RunResult, config: Config
) -> dict[str, object]:
    """Each narrative answered under load, sent again alone (concurrency 1) now that the
    open-loop run has drained, and the ratios of the two latencies."""
    order = to_measure_alone(loaded.records)
    alone: dict[int, float] = {}
    if order:
        sequential = run(
            stack.url(side),
            items,
            1,
            max_requests=len(order),
            duration_s=config.duration_s,
            label=f"{side}-alone",
            timeout_s=config.timeout_s,
            order=order,
        )
        alone = alone_latencies(sequential.records)
    found = queueing_ratios(loaded.records, alone)
    found["floors"] = scheduling_floors(loaded.records, alone, load_of_saturation=HALF_LOAD)
    log(
        f"half saturation {side:>8}: latency / alone p50 {found['ratio_p50']}, "
        f"p99 {found['ratio_p99']} over {found['requests_compared']} requests "
        f"({found['narratives_measured_alone']} narratives alone, "
        f"{found['narratives_without_alone']} without)"
    )
    return found


def lowest_concurrency_results(measured: Sequence[Measured]) -> dict[str, RunResult]:
    lowest = min(m.concurrency for m in measured)
    return {m.side: m.result for m in measured if m.concurrency == lowest}


def main(argv: Sequence[str] | None = None) -> Path:
    args = parse_args(argv)
    config = make_config(args)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out = args.out or RESULTS / stamp
    out.mkdir(parents=True, exist_ok=True)
    command = "python -m bench.compare " + " ".join(sys.argv[1:] if argv is None else argv)
    machine = this_machine()
    log(f"machine: {machine.summary()}")
    report: dict[str, object] = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command.strip(),
        "host": host_info(machine),
    }
    log(f"results go to {out}")

    with tempfile.TemporaryDirectory(prefix="bench-compare-") as tmp:
        work = Path(tmp)
        random_weights = args.checkpoint is None
        checkpoint = args.checkpoint or random_checkpoint(work / "checkpoint", config.model_dims)
        dims = ModelDims.from_checkpoint(checkpoint)
        # The legacy service chunks at the position table's length; our gateway at the length
        # the model was trained on, when training_info.json says (export/pipeline.py).
        max_length = int(
            json.loads((checkpoint / "config.json").read_text())["max_position_embeddings"]
        )
        served_length = min(trained_max_length(checkpoint) or max_length, max_length)
        plan = ChunkPlan(max_length=served_length).resolved()
        baseline_plan = ChunkPlan(max_length=max_length, balanced=False).resolved()

        if args.workload is not None:
            items, source = read_workload(args.workload), str(args.workload)
        else:
            items, source = build_workload(
                config.workload_n, config.seed, checkpoint, plan, baseline_plan
            )
        write_workload(items, out / "workload.jsonl")
        log(f"workload: {len(items)} narratives ({source})")

        log(f"measuring the fp32 matmul ceiling ({config.ceiling_s} s)")
        ceiling = measure_ceiling(config.ceiling_s, machine)
        repository = work / "model_repository"
        exported = export_versions(checkpoint, repository, args.int8_precision)

        log("starting Triton, gateways and the baseline")
        stack = Stack(checkpoint, repository, out / "logs", config.timeout_s, args.baseline_threads)
        try:
            measured, answers, confidences, filled = measure(stack, items, config)
            half_saturation = measure_half_saturation(stack, items, measured, config)
        finally:
            stack.stop()

    runs = [run_metrics(m, items, dims, max_length, ceiling["numpy_fp32_matmul_gflops"],
                        machine.fp32_peak_gflops)
            for m in measured]  # fmt: skip
    top = max(config.concurrency)
    report["host"]["loadavg_end"] = _loadavg()
    report["model"] = {
        "description": "built-in MiniLM-sized random-init checkpoint (production format)"
        if random_weights and not args.quick
        else ("built-in tiny random-init checkpoint" if random_weights else str(checkpoint)),
        "random_weights": random_weights,
        "dims": vars(dims),
        "max_length": max_length,
        "served_max_length": served_length,
        "gflop_per_512_sequence": dims.flops(512) / 1e9,
    }
    report["settings"] = {
        "concurrency": list(config.concurrency),
        "requests": config.requests,
        "duration_s": config.duration_s,
        "warmup_requests": config.warmup_requests,
        "client_timeout_s": config.timeout_s,
        "buckets": list(plan.buckets),
        "baseline_torch_threads": args.baseline_threads or _torch_default_threads(),
        "triton_onnxruntime_intra_op_threads": _triton_parameter("intra_op_thread_count"),
        "triton_row_workers": _triton_parameter("row_workers"),
        "triton_instances": _triton_instances(),
        "overlap": plan.overlap,
        "quick": args.quick,
    }
    report["workload"] = {"source": source, "seed": config.seed, **describe(items, plan.buckets)}
    report["ceiling"] = ceiling
    report["export"] = exported
    report["runs"] = runs
    report["ratios"] = ratios(runs)
    report["gateway_cpu_share_at_max_concurrency"] = {
        r["side"]: r["gateway_cpu_share"] for r in runs if r["concurrency"] == top
        and r["side"] in OURS
    }  # fmt: skip
    report["padding"] = {
        "ours_bucketed": round(padding_ratio(items), 4),
        "baseline_pad_to_max": round(padding_ratio(items, max_length), 4),
        "if_bucketed_per_chunk": round(padding_ratio_per_chunk(items, plan.buckets), 4),
    }
    report["half_saturation"] = half_saturation
    # The gateways' review band (TRIAGE_BAND_MEDIUM_FROM, inherited from this process): below
    # it a case is flagged for a counsellor's review whichever precision answered.
    review_below = GatewaySettings().band_medium_from
    outside_review = [i for i, c in confidences["fp32"].items() if c >= review_below]
    report["agreement"] = {
        "int8_vs_fp32_main": agreement(answers, "int8", "fp32"),
        "int8_vs_fp32_main_outside_review": agreement(answers, "int8", "fp32", outside_review),
        "review_band_below": review_below,
        "fp32_vs_baseline_main": agreement(answers, "fp32", BASELINE),
        "filled_in_requests": filled,
    }
    report["targets"] = targets(report)
    report["plots"] = ["throughput.png", "latency.png", "cost_vs_length.png"]
    plots.throughput(runs, out / "throughput.png")
    plots.latency(runs, out / "latency.png")
    plots.cost_vs_length(lowest_concurrency_results(measured), out / "cost_vs_length.png")
    report["notes"] = notes(report, random_weights, args.quick)

    (out / "report.json").write_text(json.dumps(report, indent=1))
    (out / "report.md").write_text(render_markdown(report))
    log(f"wrote {out / 'report.md'}")
    return out


def _torch_default_threads() -> int:
    import torch

    return int(torch.get_num_threads())


_LOCAL_CONFIG = PROJECT_ROOT / "model_repository" / DEFAULT_MODEL_NAME / "configs" / "local.pbtxt"


def _triton_parameter(key: str) -> int | None:
    """An integer parameter of the local config Triton serves with (model.py reads them)."""
    pattern = rf'key: "{key}" value: \{{ string_value: "(\d+)"'
    match = re.search(pattern, _LOCAL_CONFIG.read_text())
    return int(match.group(1)) if match else None


def _triton_instances() -> int | None:
    """From the local config: model instances (each its own Python-backend process)."""
    match = re.search(r"instance_group \[ \{ count: (\d+)", _LOCAL_CONFIG.read_text())
    return int(match.group(1)) if match else None


def notes(report: dict, random_weights: bool, quick: bool) -> list[str]:
    found = []
    if quick:
        found.append("--quick: a tiny model and a handful of requests; the figures mean nothing.")
    if random_weights:
        found.append(
            "Random weights: speed is that of a trained model of the same size; the agreement "
            "figures check numerical parity of the exports, not accuracy, and must be taken "
            "again on the trained checkpoint."
        )
    found.append(
        "The baseline leaves out the legacy service's per-request tokenizer construction, double "
        "tokenization and quadratic chunker, so it is faster than the legacy service: the "
        "ratios understate our gain."
    )
    found.append(
        "Padding and model GFLOP/s count the padded shapes the gateway sends, which is what "
        "the GPU (onnxruntime backend) computes. The local Python-backend runner cuts each "
        "chunk to its real length before ONNX Runtime runs it, so this CPU stack computes "
        "real tokens only (`model_gflops_useful` in report.json)."
    )
    found.append(
        "All processes share the machine's cores with the load generator (its CPU is "
        "`load_generator`) and with other work (`other`); gateways idle while another side "
        "runs, and their idle CPU is listed too."
    )
    other = [float(r["other_load_cores"] or 0.0) for r in report["runs"]]
    if other and max(other) > 0.25:
        found.append(
            f"The machine was shared: other work used {min(other):.2f}-{max(other):.2f} cores "
            f"during the runs (of {report['host']['cpu_count']}). Thread pools that spin or "
            "wait at barriers (PyTorch's OpenMP above all, ONNX Runtime's too) lose far more "
            "than their share when their cores are taken, so throughput, latency, the ceiling "
            "and the ratios are distorted: re-run on a quiet machine before quoting them "
            "(`--baseline-threads 1` shows how much of the baseline's loss is contention)."
        )
    mismatches = sum(int(r["layout_mismatches"]) for r in report["runs"])
    if mismatches:
        found.append(
            f"{mismatches} responses reported a chunk count or bucket different from the "
            "workload's layout: padding figures computed from the workload may be off."
        )
    if any(r["errors"] for r in report["runs"]):
        found.append("Some requests failed: see the errors column and the server logs.")
    return found


if __name__ == "__main__":
    main()
