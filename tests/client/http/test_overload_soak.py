"""Overload at twice the saturation rate and a soak under steady load, with the real
gateway and Triton: fast 429s instead of an unbounded queue, no answer later than the
deadline, and memory that stays flat."""

from __future__ import annotations

import asyncio
import json
import os
import socket
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
# Client side, an answer may take the request deadline plus this: connecting, sending, the
# gateway's work outside the deadline (tokenizing, aggregating) and this client's own
# scheduling on the same 2 cores. Measured 0.3 s at most on a 2-core machine.
CLIENT_MARGIN_S = 3.0
MAX_REQUESTS = 16
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


async def post_once(host: str, port: int, request: bytes) -> str:
    """One request on its own connection, answered then closed: the status, or the error.
    An error status without the API's error shape is reported as "<status>-unshaped"."""
    writer = None
    try:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(request)
        await writer.drain()
        answer = await reader.read()
    except OSError as exc:
        return type(exc).__name__
    finally:
        if writer is not None:
            writer.close()
    if not answer:
        return "EmptyAnswer"
    status = answer.split(b" ", 2)[1].decode()
    if status != "200":
        try:
            json.loads(answer.partition(b"\r\n\r\n")[2])["error"]["error_code"]
        except (ValueError, KeyError, TypeError):
            return f"{status}-unshaped"
    return status


async def open_loop(url: str, rate: float, seconds: float) -> list[tuple[str, float]]:
    """Requests at a fixed rate, each on a new connection with a plain asyncio client: a
    pooled HTTP client would queue requests in its own pool, and its time would count as
    the server's. Each request's time runs from its scheduled start to the last byte."""
    host, port = url.removeprefix("http://").split(":")
    body = json.dumps({"narrative": NARRATIVE}).encode()
    request = (
        f"POST /classifier/classify HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        f"X-Request-Timeout: {DEADLINE_S}\r\nConnection: close\r\n\r\n"
    ).encode() + body
    results: list[tuple[str, float]] = []

    async def one(scheduled: float) -> None:
        try:
            status = await asyncio.wait_for(post_once(host, int(port), request), DEADLINE_S + 30)
        except TimeoutError:
            status = "ClientTimeout"
        results.append((status, time.monotonic() - scheduled))

    tasks = []
    start = time.monotonic()
    for i in range(int(rate * seconds)):
        scheduled = start + i / rate
        delay = scheduled - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(scheduled)))
    await asyncio.gather(*tasks)
    return results


@pytest.fixture(scope="module")
def limited_gateway(triton: LocalTriton, model_repository: Path, tmp_path_factory):
    with GatewayProcess.running(
        triton.grpc_url,
        model_repository,
        tmp_path_factory.mktemp("overload") / "gw.log",
        TRIAGE_MAX_IN_FLIGHT="8",
        TRIAGE_MAX_REQUESTS=str(MAX_REQUESTS),
    ) as gateway:
        yield gateway


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
    # for a 2 s deadline).
    within, total = server_latency_counts(url, "2.5")
    assert total >= statuses["200"] and within == total, (within, total)
    # Client side, from each request's scheduled start to its last byte: nothing waits in
    # front of the gateway either. (A pooled httpx client saw answers up to 33 s late here:
    # its own pool, quadratic in the requests queued in it, was the queue.)
    assert slowest <= DEADLINE_S + CLIENT_MARGIN_S, f"an answer took {slowest:.2f}s"
    assert rss_after - rss_before < 50, (rss_before, rss_after)
    # Still serving normally afterwards.
    assert (
        httpx.post(
            f"{url}/classifier/classify", json={"narrative": NARRATIVE}, timeout=30
        ).status_code
        == 200
    )


def test_requests_beyond_the_limit_get_a_fast_429(limited_gateway) -> None:
    """MAX_REQUESTS requests whose bodies never finish arriving hold every slot: the next
    request is refused at once in the API's error shape, probes still answer, and the
    gateway serves normally once the slow clients are gone."""
    host, port = limited_gateway.url.removeprefix("http://").split(":")
    head = (
        f"POST /classifier/classify HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    ).encode()
    held = [socket.create_connection((host, int(port)), timeout=5) for _ in range(MAX_REQUESTS)]
    try:
        for sock in held:
            sock.sendall(head + b'{"narrative": "')  # and nothing more
        deadline = time.monotonic() + 10
        while True:
            response = httpx.post(
                f"{limited_gateway.url}/classifier/classify",
                json={"narrative": NARRATIVE},
                timeout=10,
            )
            if response.status_code == 429:
                break
            assert time.monotonic() < deadline, f"never refused: {response.status_code}"
            time.sleep(0.05)
        error = response.json()["error"]
        assert error["error_code"] == "OVERLOADED"
        assert f"limit {MAX_REQUESTS}" in error["message"]
        assert response.headers["Retry-After"] == "1"
        assert response.elapsed.total_seconds() < 1.0
        assert httpx.get(f"{limited_gateway.url}/readyz", timeout=5).status_code == 200
    finally:
        for sock in held:
            sock.close()
    deadline = time.monotonic() + 10
    while (
        status := httpx.post(
            f"{limited_gateway.url}/classifier/classify",
            json={"narrative": NARRATIVE},
            timeout=10,
        ).status_code
    ) != 200:
        assert time.monotonic() < deadline, f"still {status} after the slow clients left"
        time.sleep(0.1)


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
