"""Overload at twice the saturation rate and a soak under steady load, with the real
gateway and Triton: fast 429s instead of an unbounded queue, no answer later than the
deadline, and memory that stays flat."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from conftest import GatewayProcess

from export.launcher import LocalTriton

pytestmark = pytest.mark.integration
NARRATIVE = ("The caller said the boy is beaten at home and sleeps outside. " * 80).strip()
DEADLINE_S = 2.0
SOAK_S = float(os.environ.get("TRIAGE_SOAK_S", "180"))
# Bound on RSS growth of the gateway over the soak, after warm-up.
SOAK_RSS_GROWTH_MB = 15.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def closed_loop(url: str, concurrency: int, seconds: float) -> tuple[int, Counter]:
    outcomes: Counter[str] = Counter()
    stop = time.monotonic() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        while time.monotonic() < stop:
            response = await client.post(
                f"{url}/classifier/classify", json={"narrative": NARRATIVE}
            )
            outcomes[str(response.status_code)] += 1

    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return outcomes["200"], outcomes


async def open_loop(url: str, rate: float, seconds: float) -> list[tuple[str, float]]:
    results: list[tuple[str, float]] = []

    async def one(client: httpx.AsyncClient) -> None:
        started = time.monotonic()
        try:
            response = await client.post(
                f"{url}/classifier/classify",
                json={"narrative": NARRATIVE},
                headers={"X-Request-Timeout": str(DEADLINE_S)},
            )
            status = str(response.status_code)
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        results.append((status, time.monotonic() - started))

    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=DEADLINE_S + 10, limits=limits) as client:
        tasks = []
        start = time.monotonic()
        for i in range(int(rate * seconds)):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(client)))
        await asyncio.gather(*tasks)
    return results


@pytest.fixture(scope="module")
def limited_gateway(triton: LocalTriton, model_repository: Path, tmp_path_factory):
    gateway = GatewayProcess(
        triton.grpc_url,
        model_repository,
        tmp_path_factory.mktemp("overload") / "gw.log",
        TRIAGE_MAX_IN_FLIGHT="8",
    )
    try:
        gateway.wait_ready()
        yield gateway
    finally:
        gateway.stop()


def server_latency_counts(url: str, le: str) -> tuple[float, float]:
    """(observations <= `le` seconds, all observations) of the gateway's own histogram for
    /classifier/classify: the time from the request reaching the app to its answer."""
    within = total = 0.0
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if not line.startswith("triage_request_seconds_") or '/classifier/classify"' not in line:
            continue
        if line.startswith("triage_request_seconds_bucket") and f'le="{le}"' in line:
            within = float(line.split()[-1])
        elif line.startswith("triage_request_seconds_count"):
            total = float(line.split()[-1])
    return within, total


def test_overload_at_twice_saturation(limited_gateway) -> None:
    url = limited_gateway.url
    warm_ok, _ = asyncio.run(closed_loop(url, 4, 2.0))
    assert warm_ok > 0
    ok, _ = asyncio.run(closed_loop(url, 8, 5.0))
    saturation = ok / 5.0
    rss_before = rss_mb(limited_gateway.process.pid)
    results = asyncio.run(open_loop(url, 2 * saturation, 8.0))
    rss_after = rss_mb(limited_gateway.process.pid)
    statuses = Counter(status for status, _ in results)
    slowest = max(latency for _, latency in results)
    assert set(statuses) <= {"200", "429", "504"}, statuses
    assert statuses["429"] > 0, f"no backpressure at {2 * saturation:.0f}/s: {statuses}"
    assert statuses["200"] > 0
    # Server side, every request got its answer within the deadline (histogram bucket 2.5 s
    # for a 2 s deadline). Client side the same 2 cores also run this load generator and
    # Triton's four row threads, so only "nothing hangs" is asserted there: a hung request
    # would end in an httpx timeout (a status other than those above). The bound on the
    # slowest answer is loose because once in CI (2026-11-30) one took 33 s client side
    # while the server histogram showed every answer within 2.5 s.
    within, total = server_latency_counts(url, "2.5")
    assert total >= len(results) and within == total, (within, total)
    assert slowest <= DEADLINE_S + 60, f"an answer took {slowest:.2f}s"
    assert rss_after - rss_before < 50, (rss_before, rss_after)
    # Still serving normally afterwards.
    assert (
        httpx.post(
            f"{url}/classifier/classify", json={"narrative": NARRATIVE}, timeout=30
        ).status_code
        == 200
    )


def test_soak_memory_stays_flat(limited_gateway) -> None:
    url = limited_gateway.url
    pid = limited_gateway.process.pid
    samples: list[tuple[float, float]] = []

    async def run() -> Counter:
        stop_sampling = asyncio.Event()

        async def sampler() -> None:
            start = time.monotonic()
            while not stop_sampling.is_set():
                samples.append((time.monotonic() - start, rss_mb(pid)))
                await asyncio.sleep(2.0)

        task = asyncio.create_task(sampler())
        _, outcomes = await closed_loop(url, 2, SOAK_S)
        stop_sampling.set()
        await task
        return outcomes

    outcomes = asyncio.run(run())
    assert set(outcomes) == {"200"}, outcomes
    warm = [rss for t, rss in samples if SOAK_S * 0.2 <= t < SOAK_S * 0.4]
    end = [rss for t, rss in samples if t >= SOAK_S * 0.8]
    growth = statistics.median(end) - statistics.median(warm)
    assert growth < SOAK_RSS_GROWTH_MB, f"RSS grew {growth:.1f} MB over the soak: {samples}"
