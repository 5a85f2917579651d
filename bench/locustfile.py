"""Locust user that posts reference-workload narratives to /classifier/classify.

For exploratory runs (ramp-ups, a web UI, many users); the precise side-by-side numbers come
from `bench.loadgen` / `bench.compare`. Each user sends its next narrative as soon as the
previous one is answered (no think time), walking the workload in order from a random start.

    locust -f bench/locustfile.py --headless -u 16 -r 16 -t 30s \
        --host http://127.0.0.1:8123 --csv bench/results/locust

The workload is `BENCH_WORKLOAD` (a JSONL file from `python -m bench.workload`) when set,
otherwise the reference workload generated in memory (BENCH_WORKLOAD_N narratives, default
300, seed BENCH_WORKLOAD_SEED, default 5). Failures are reported by status code only: a
response or narrative text never reaches Locust's statistics or logs.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from urllib.parse import urlsplit

from locust import FastHttpUser, constant, events, task

from bench.loadgen import CLASSIFY_PATH, LOOPBACK_HOSTS


def _load_narratives() -> list[str]:
    path = os.environ.get("BENCH_WORKLOAD")
    if path:
        from bench.workload import read_workload

        return [item.narrative for item in read_workload(Path(path))]
    from bench.workload import DEFAULT_N, DEFAULT_SEED, generate_narratives

    n = int(os.environ.get("BENCH_WORKLOAD_N", DEFAULT_N))
    seed = int(os.environ.get("BENCH_WORKLOAD_SEED", DEFAULT_SEED))
    rows, _ = generate_narratives(n, seed)
    return [row["narrative"] for row in rows]


NARRATIVES = _load_narratives()


@events.test_start.add_listener
def _loopback_only(environment, **_: object) -> None:
    host = urlsplit(environment.host or "").hostname
    if host not in LOOPBACK_HOSTS:
        raise RuntimeError(f"load goes to loopback only; {host!r} is not a loopback host")


class NarrativeUser(FastHttpUser):
    wait_time = constant(0)
    # Long narratives on a saturated CPU stack can take seconds; a timeout is an error.
    network_timeout = 120.0
    connection_timeout = 10.0

    def on_start(self) -> None:
        self.cursor = random.randrange(len(NARRATIVES))

    @task
    def classify(self) -> None:
        narrative = NARRATIVES[self.cursor % len(NARRATIVES)]
        self.cursor += 1
        with self.client.post(
            CLASSIFY_PATH, json={"narrative": narrative}, name=CLASSIFY_PATH, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
            else:
                response.success()
