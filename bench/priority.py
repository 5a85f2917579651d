"""Interactive latency under a bulk job, with and without Triton's priority levels.

    python -m bench.priority [--checkpoint DIR] [--precision int8] [--duration-s 40]

One export of the checkpoint (default: bench.compare's MiniLM-sized random one); then for
each mode, a fresh Triton and one gateway:
* `priorities`: the committed local config (`priority_levels: 2`; the gateway sends single
  classifications at 1, the batch endpoint at 2);
* `fifo`: the same config without priority levels (one FIFO queue, what was served before).
Per mode, single narratives (POST /classifier/classify) arrive open-loop (Poisson) at half
the saturation throughput, first alone, then while `--bulk-clients` clients each POST
batches of `--bulk-size` narratives to /classifier/classify/batch in a loop. Saturation is
measured once (closed loop, concurrency 16, single narratives, priorities mode) so both
modes get the same offered rate. The figure: interactive p99 under bulk / p99 alone (goal
<= 1.5). Writes JSON to `--out` (default bench/results/priority-<time>.json).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np

from bench.compare import _MINILM, _TINY, log, random_checkpoint
from bench.loadgen import run_closed_loop, run_open_loop
from bench.machine import this_machine
from bench.processes import ServerProcess, start_gateway, start_triton
from bench.workload import ChunkPlan, WorkItem, build_workload
from client.core.buckets import DEFAULT_BUCKETS
from export.pipeline import export_checkpoint
from export.repository import DEFAULT_MODEL_NAME, PROJECT_ROOT
from helpline_model.layout import trained_max_length

BATCH_PATH = "/classifier/classify/batch"
COMMITTED_LOCAL = PROJECT_ROOT / "model_repository" / DEFAULT_MODEL_NAME / "configs" / "local.pbtxt"
PRIORITY_LINES = ("  priority_levels: 2\n", "  default_priority_level: 2\n")


def set_priorities(repository: Path, enabled: bool, original: str) -> None:
    """The exported local config as committed, or without its priority levels."""
    local = repository / DEFAULT_MODEL_NAME / "configs" / "local.pbtxt"
    text = original
    if not enabled:
        for line in PRIORITY_LINES:
            if line not in text:
                raise SystemExit(f"the local config no longer has {line.strip()!r}")
            text = text.replace(line, "")
        # A per-level queue policy needs priority levels.
        text = re.sub(r"\n  priority_queue_policy \{.*?\n  \}", "", text, flags=re.DOTALL)
    local.write_text(text)


async def bulk_loop(
    url: str, items: Sequence[WorkItem], clients: int, size: int, stop: asyncio.Event
) -> dict[str, object]:
    """`clients` loops, each POSTing a batch of `size` narratives as soon as the last is
    answered, until `stop`; returns batch counts and latencies."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}

    async def one(client: httpx.AsyncClient, offset: int) -> None:
        cursor = offset
        while not stop.is_set():
            batch = [items[(cursor + i) % len(items)] for i in range(size)]
            cursor += size * clients
            body = {
                "items": [{"id": str(i), "narrative": w.narrative} for i, w in enumerate(batch)]
            }
            started = time.perf_counter()
            retry_after = 0.0
            try:
                response = await client.post(BATCH_PATH, json=body)
                status = str(response.status_code)
                if response.status_code in (429, 503):
                    retry_after = float(response.headers.get("retry-after", "1"))
            except httpx.HTTPError as exc:
                status = type(exc).__name__
                retry_after = 1.0
            statuses[status] = statuses.get(status, 0) + 1
            if status == "200":
                latencies.append(time.perf_counter() - started)
            # As the CLI's user would: a refused batch is sent again after Retry-After.
            await asyncio.sleep(retry_after)

    async with httpx.AsyncClient(base_url=url, timeout=600, trust_env=False) as client:
        await asyncio.gather(*(one(client, c * size) for c in range(clients)))
    done = len(latencies)
    return {
        "batches_ok": done,
        "statuses": statuses,
        "batch_latency_p50_s": round(float(np.percentile(latencies, 50)), 2) if done else None,
        "narratives_ok": done * size,
    }


async def interactive(
    url: str,
    items: Sequence[WorkItem],
    rate: float,
    duration_s: float,
    seed: int,
    bulk: tuple[int, int] | None,
) -> dict[str, object]:
    """Open-loop single narratives at `rate`; with `bulk` = (clients, size) a bulk job runs
    meanwhile (started a few seconds ahead so its queue is full when the measurement starts)."""
    stop = asyncio.Event()
    bulk_task = None
    if bulk is not None:
        bulk_task = asyncio.create_task(bulk_loop(url, items, bulk[0], bulk[1], stop))
        await asyncio.sleep(3.0)
    result = await run_open_loop(
        url, items, rate, max_requests=100_000, duration_s=duration_s, seed=seed, timeout_s=600
    )
    stop.set()
    summary = result.summary()
    found: dict[str, object] = {
        key: summary[key]
        for key in (
            "requests",
            "ok",
            "errors",
            "latency_p50_ms",
            "latency_p95_ms",
            "latency_p99_ms",
        )
    }
    found["narratives_per_s"] = round(float(summary["narratives_per_s"]), 3)
    if bulk_task is not None:
        found["bulk"] = await bulk_task
    return found


def run_mode(
    repository: Path,
    logs: Path,
    items: Sequence[WorkItem],
    rate: float | None,
    args: argparse.Namespace,
) -> tuple[float, dict[str, object]]:
    triton = start_triton(repository, logs / "triton.log")
    gateway: ServerProcess | None = None
    try:
        triton.wait_ready(180)
        gateway = start_gateway(
            "gateway",
            triton.grpc_url,
            repository,
            1,
            logs / "gateway.log",
            TRIAGE_BUCKETS=",".join(str(b) for b in DEFAULT_BUCKETS),
            TRIAGE_REQUEST_TIMEOUT_S="600",
            # Room for the whole bulk job and the interactive stream at once.
            TRIAGE_MAX_IN_FLIGHT="1024",
        )
        gateway.wait_ready("/readyz")
        url = gateway.url
        # Warm-up: every shape once, off the clock.
        asyncio.run(run_closed_loop(url, items, 4, max_requests=24, duration_s=60))
        if rate is None:
            saturated = asyncio.run(
                run_closed_loop(url, items, 16, max_requests=100_000, duration_s=args.duration_s)
            ).summary()
            rate = float(saturated["narratives_per_s"]) / 2
            log(f"saturation {2 * rate:.2f} narratives/s; interactive load {rate:.2f}/s")
        alone = asyncio.run(interactive(url, items, rate, args.duration_s, args.seed, None))
        log(f"  alone: p50 {alone['latency_p50_ms']} ms, p99 {alone['latency_p99_ms']} ms")
        under = asyncio.run(
            interactive(
                url, items, rate, args.duration_s, args.seed, (args.bulk_clients, args.bulk_size)
            )
        )
        log(
            f"  under bulk: p50 {under['latency_p50_ms']} ms, p99 {under['latency_p99_ms']} ms, "
            f"bulk {under['bulk']}"
        )
        p99_alone, p99_under = alone["latency_p99_ms"], under["latency_p99_ms"]
        return rate, {
            "alone": alone,
            "under_bulk": under,
            "p99_under_bulk_over_alone": round(p99_under / p99_alone, 3) if p99_alone else None,
        }
    finally:
        if gateway is not None:
            gateway.stop()
        triton.stop()


def main(argv: Sequence[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--precision", default="int8")
    parser.add_argument("--duration-s", type=float, default=40.0, help="per phase")
    parser.add_argument("--workload-n", type=int, default=300)
    parser.add_argument("--bulk-clients", type=int, default=4)
    parser.add_argument("--bulk-size", type=int, default=32)
    parser.add_argument("--modes", default="priorities,fifo")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--export-dir", type=Path, default=None, help="model repository to reuse (or create)"
    )
    parser.add_argument("--quick", action="store_true", help="tiny model, short phases (smoke)")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration_s, args.workload_n, args.bulk_clients, args.bulk_size = 4.0, 24, 2, 4
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out = args.out or PROJECT_ROOT / "bench" / "results" / f"priority-{stamp}.json"
    machine = this_machine()
    log(f"machine: {machine.summary()}")
    report: dict[str, object] = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m bench.priority " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": machine.as_dict(),
        "settings": {k: str(v) for k, v in vars(args).items()},
    }
    with tempfile.TemporaryDirectory(prefix="bench-priority-") as tmp:
        work = Path(tmp)
        checkpoint = args.checkpoint or random_checkpoint(
            work / "checkpoint", _TINY if args.quick else _MINILM
        )
        config = json.loads((checkpoint / "config.json").read_text())
        served = min(trained_max_length(checkpoint) or 512, int(config["max_position_embeddings"]))
        plan = ChunkPlan(max_length=served).resolved()
        items, source = build_workload(args.workload_n, args.seed, checkpoint, plan, plan)
        log(f"workload: {len(items)} narratives ({source}); exporting {args.precision}")
        repository = args.export_dir or work / "repo"
        if not (repository / DEFAULT_MODEL_NAME / "1").is_dir():
            export_checkpoint(
                str(checkpoint),
                repository,
                DEFAULT_MODEL_NAME,
                args.precision,
                version=1,
                min_main_agreement=0.0,
            )
        # The committed config, also into a reused repository.
        original = COMMITTED_LOCAL.read_text()
        rate: float | None = None
        modes: dict[str, object] = {}
        for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
            log(f"mode {mode}")
            set_priorities(repository, mode == "priorities", original)
            rate, modes[mode] = run_mode(repository, work / "logs" / mode, items, rate, args)
        report["interactive_rate_per_s"] = round(rate or 0.0, 3)
        report["modes"] = modes
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")
    log(f"wrote {out}")
    for mode, found in modes.items():
        log(f"{mode}: p99 under bulk / alone = {found['p99_under_bulk_over_alone']}")
    return out


if __name__ == "__main__":
    main()
