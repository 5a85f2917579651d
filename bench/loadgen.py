"""Closed-loop load generator: `concurrency` clients, each sends its next request as soon as
the previous one is answered, until `max_requests` have been sent or `duration_s` has passed.

Closed loop at fixed concurrency gives precise, repeatable throughput and latency for one
server at a time (Locust, `bench/locustfile.py`, is for exploratory runs). Requests go to
loopback only. The workload is walked in order, one shared cursor for all clients, so the
first N requests of a run cover the N narratives once each.

When time is up no new request starts; the ones in flight are awaited (cancelling them
would leave a server busy with abandoned work and spoil the next run), and throughput is
completed requests / time until the last one finished.

Records per request: latency, HTTP status, chunks (the response's `chunks_processed`),
padded length (`model_info.bucket` when the server reports it), narrative tokens (from the
workload) and the main category (for agreement checks). Never the narrative text.

    python -m bench.loadgen --url http://127.0.0.1:8123 --workload W.jsonl --concurrency 16

`run_open_loop` is the other mode: requests arrive at a fixed mean rate (Poisson, seeded)
whatever the answers, which is how latency at a given share of saturation is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import numpy as np

from bench.workload import WorkItem, read_workload

CLASSIFY_PATH = "/classifier/classify"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass
class RequestRecord:
    index: int  # position in the workload
    started_s: float  # since the start of the run
    latency_s: float
    status: int  # HTTP status; 0 when no response came (connection error, timeout)
    narrative_tokens: int
    chunks: int | None = None
    bucket: int | None = None
    main_category: str | None = None
    main_confidence: float | None = None
    error: str | None = None  # exception type or HTTP status, never a body or text

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass
class RunResult:
    label: str
    concurrency: int
    wall_s: float
    records: list[RequestRecord] = field(default_factory=list)

    def summary(self) -> dict[str, float | int]:
        ok = [r for r in self.records if r.ok]
        latencies_ms = np.asarray([r.latency_s * 1000 for r in ok], dtype=np.float64)
        wall = self.wall_s if self.wall_s > 0 else float("nan")

        def pct(q: float) -> float:
            return round(float(np.percentile(latencies_ms, q)), 1) if ok else float("nan")

        return {
            "requests": len(self.records),
            "ok": len(ok),
            "errors": len(self.records) - len(ok),
            "error_rate": round((len(self.records) - len(ok)) / len(self.records), 4)
            if self.records
            else 0.0,
            "wall_s": round(self.wall_s, 3),
            "narratives_per_s": len(ok) / wall,
            "chunks_per_s": sum(r.chunks or 0 for r in ok) / wall,
            "latency_mean_ms": round(float(latencies_ms.mean()), 1) if ok else float("nan"),
            "latency_p50_ms": pct(50),
            "latency_p95_ms": pct(95),
            "latency_p99_ms": pct(99),
        }


def check_loopback(url: str) -> None:
    host = urlsplit(url).hostname
    if host not in LOOPBACK_HOSTS:
        raise ValueError(f"load goes to loopback only; {host!r} is not a loopback host")


def _parse(record: RequestRecord, response: httpx.Response) -> None:
    if not record.ok:
        record.error = f"HTTP {response.status_code}"
        return
    try:
        body = response.json()
    except ValueError:
        record.error = "invalid JSON"
        return
    chunks = body.get("chunks_processed")
    record.chunks = int(chunks) if isinstance(chunks, int) else None
    bucket = (body.get("model_info") or {}).get("bucket")
    record.bucket = int(bucket) if isinstance(bucket, int) else None
    main = body.get("main_category")
    record.main_category = main if isinstance(main, str) else None
    confidence = (body.get("confidence_scores") or {}).get("main_category")
    record.main_confidence = float(confidence) if isinstance(confidence, int | float) else None


async def _classify(
    client: httpx.AsyncClient, items: Sequence[WorkItem], index: int, run_start: float, t0: float
) -> RequestRecord:
    """POST one workload narrative; latency counts from `t0` (send or scheduled arrival)."""
    item = items[index]
    record = RequestRecord(
        index=index,
        started_s=t0 - run_start,
        latency_s=0.0,
        status=0,
        narrative_tokens=item.n_tokens,
    )
    try:
        response = await client.post(CLASSIFY_PATH, json={"narrative": item.narrative})
        record.status = response.status_code
        _parse(record, response)
    except httpx.HTTPError as exc:
        record.error = type(exc).__name__
    record.latency_s = time.perf_counter() - t0
    return record


async def run_closed_loop(
    url: str,
    items: Sequence[WorkItem],
    concurrency: int,
    *,
    max_requests: int,
    duration_s: float,
    label: str = "",
    timeout_s: float = 300.0,
    order: Sequence[int] | None = None,
) -> RunResult:
    """One closed-loop run against `url` (the server's base URL).

    `order`: the workload positions to walk (default: all, in order), cycled.
    """
    check_loopback(url)
    if not items:
        raise ValueError("the workload is empty")
    if concurrency < 1 or max_requests < 1 or duration_s <= 0:
        raise ValueError("concurrency, max_requests and duration_s must be positive")
    order = list(range(len(items))) if order is None else list(order)
    if not order:
        raise ValueError("order is empty")
    result = RunResult(label=label, concurrency=concurrency, wall_s=0.0)
    issued = 0
    started = time.perf_counter()
    deadline = started + duration_s
    finished_at = started

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal issued, finished_at
        # One event loop: the check and the increment cannot interleave with other clients.
        while issued < max_requests and time.perf_counter() < deadline:
            index = order[issued % len(order)]
            issued += 1
            record = await _classify(client, items, index, started, time.perf_counter())
            finished_at = max(finished_at, time.perf_counter())
            result.records.append(record)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=url, timeout=timeout_s, limits=limits, trust_env=False
    ) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(concurrency)))
    result.wall_s = finished_at - started
    return result


async def run_open_loop(
    url: str,
    items: Sequence[WorkItem],
    rate_per_s: float,
    *,
    max_requests: int,
    duration_s: float,
    label: str = "",
    timeout_s: float = 300.0,
    seed: int = 0,
    max_in_flight: int = 512,
) -> RunResult:
    """Poisson arrivals at `rate_per_s` for `duration_s` (at most `max_requests`), walking
    the workload in order. Latency counts from the scheduled arrival, so time a request
    waited for a free client slot is included. The run's `concurrency` is 0."""
    check_loopback(url)
    if not items:
        raise ValueError("the workload is empty")
    if rate_per_s <= 0 or max_requests < 1 or duration_s <= 0 or max_in_flight < 1:
        raise ValueError("rate, max_requests, duration_s and max_in_flight must be positive")
    rng = random.Random(seed)
    result = RunResult(label=label, concurrency=0, wall_s=0.0)
    slots = asyncio.Semaphore(max_in_flight)
    started = time.perf_counter()
    finished_at = started

    async def one(client: httpx.AsyncClient, index: int, arrival: float) -> None:
        nonlocal finished_at
        async with slots:
            record = await _classify(client, items, index, started, arrival)
        finished_at = max(finished_at, time.perf_counter())
        result.records.append(record)

    limits = httpx.Limits(max_connections=max_in_flight, max_keepalive_connections=64)
    async with httpx.AsyncClient(
        base_url=url, timeout=timeout_s, limits=limits, trust_env=False
    ) as client:
        tasks = []
        arrival = started
        for n in range(max_requests):
            arrival += rng.expovariate(rate_per_s)
            if arrival - started > duration_s:
                break
            await asyncio.sleep(max(0.0, arrival - time.perf_counter()))
            tasks.append(asyncio.create_task(one(client, n % len(items), arrival)))
        await asyncio.gather(*tasks)
    result.wall_s = finished_at - started
    return result


def run(
    url: str,
    items: Sequence[WorkItem],
    concurrency: int,
    *,
    max_requests: int,
    duration_s: float,
    label: str = "",
    timeout_s: float = 300.0,
    order: Sequence[int] | None = None,
) -> RunResult:
    """Synchronous wrapper: one fresh event loop per run."""
    return asyncio.run(
        run_closed_loop(
            url,
            items,
            concurrency,
            max_requests=max_requests,
            duration_s=duration_s,
            label=label,
            timeout_s=timeout_s,
            order=order,
        )
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Closed-loop load at a fixed concurrency.")
    parser.add_argument("--url", default="http://127.0.0.1:8123")
    parser.add_argument("--workload", type=Path, required=True, help="JSONL from bench.workload")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--requests", type=int, default=1000, help="at most this many requests")
    parser.add_argument("--duration-s", type=float, default=30.0, help="at most this long")
    parser.add_argument("--timeout-s", type=float, default=300.0)
    parser.add_argument("--out", type=Path, default=None, help="write per-request records here")
    args = parser.parse_args(argv)
    result = run(
        args.url,
        read_workload(args.workload),
        args.concurrency,
        max_requests=args.requests,
        duration_s=args.duration_s,
        timeout_s=args.timeout_s,
    )
    summary = result.summary()
    print(json.dumps(summary, indent=1))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        payload = {"summary": summary, "records": [asdict(r) for r in result.records]}
        args.out.write_text(json.dumps(payload, indent=1))


if __name__ == "__main__":
    main()
