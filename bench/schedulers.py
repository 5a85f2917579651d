"""What an ideal single server would give on the same arrivals: the floor under the queueing
ratio (bench.queueing) for a scheduling policy, so a measured ratio can be read against it.

The model: one server that runs narratives at the speed each ran alone on the idle stack
(its size is its alone latency), the arrival times of the open-loop run, no batching, no
overhead. Four policies:

* `fifo`: one narrative at a time in arrival order (Triton's queue within a priority level);
* `sjf`: one at a time, the shortest waiting one next, never interrupted (what size-based
  Triton priority levels could do at best: a running call is not preempted);
* `ps`: processor sharing, every waiting narrative gets an equal share (threads on cores);
* `srpt`: the shortest remaining work first, preempting (the best any policy can do for
  mean latency; it needs sizes known ahead and preemption, which Triton does not offer).

Real stacks are worse than the model (overheads, two cores that a one-chunk narrative cannot
use both of) and sometimes better (two narratives of one chunk run side by side), so the
floors say which policy could meet a target at a given load, not what the stack will do.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass

POLICIES = ("fifo", "sjf", "ps", "srpt")


@dataclass(frozen=True)
class Job:
    arrival_s: float
    size_s: float  # service time alone, > 0


def _fifo(jobs: Sequence[Job]) -> list[float]:
    done, free_at = [0.0] * len(jobs), 0.0
    for i in sorted(range(len(jobs)), key=lambda i: jobs[i].arrival_s):
        start = max(free_at, jobs[i].arrival_s)
        free_at = done[i] = start + jobs[i].size_s
    return done


def _sjf(jobs: Sequence[Job]) -> list[float]:
    order = sorted(range(len(jobs)), key=lambda i: jobs[i].arrival_s)
    done, waiting, now, k = [0.0] * len(jobs), [], 0.0, 0
    while k < len(order) or waiting:
        if not waiting and jobs[order[k]].arrival_s > now:
            now = jobs[order[k]].arrival_s
        while k < len(order) and jobs[order[k]].arrival_s <= now:
            i = order[k]
            heapq.heappush(waiting, (jobs[i].size_s, jobs[i].arrival_s, i))
            k += 1
        size, _, i = heapq.heappop(waiting)
        now = done[i] = now + size
    return done


def _ps(jobs: Sequence[Job]) -> list[float]:
    order = sorted(range(len(jobs)), key=lambda i: jobs[i].arrival_s)
    done, remaining, now, k = [0.0] * len(jobs), {}, 0.0, 0
    while k < len(order) or remaining:
        if not remaining:
            now = max(now, jobs[order[k]].arrival_s)
        while k < len(order) and jobs[order[k]].arrival_s <= now:
            remaining[order[k]] = jobs[order[k]].size_s
            k += 1
        n = len(remaining)
        first_done = min(remaining.values()) * n  # wall time until the smallest finishes
        next_arrival = jobs[order[k]].arrival_s - now if k < len(order) else float("inf")
        step = min(first_done, next_arrival)
        now += step
        for i in list(remaining):
            remaining[i] -= step / n
            if remaining[i] <= 1e-12:
                del remaining[i]
                done[i] = now
    return done


def _srpt(jobs: Sequence[Job]) -> list[float]:
    order = sorted(range(len(jobs)), key=lambda i: jobs[i].arrival_s)
    done, heap, now, k = [0.0] * len(jobs), [], 0.0, 0
    while k < len(order) or heap:
        if not heap:
            now = max(now, jobs[order[k]].arrival_s)
        while k < len(order) and jobs[order[k]].arrival_s <= now:
            i = order[k]
            heapq.heappush(heap, (jobs[i].size_s, i))
            k += 1
        left, i = heapq.heappop(heap)
        next_arrival = jobs[order[k]].arrival_s if k < len(order) else float("inf")
        if now + left <= next_arrival:
            now = done[i] = now + left
        else:
            heapq.heappush(heap, (left - (next_arrival - now), i))
            now = next_arrival
    return done


_SIMULATORS: dict[str, Callable[[Sequence[Job]], list[float]]] = {
    "fifo": _fifo,
    "sjf": _sjf,
    "ps": _ps,
    "srpt": _srpt,
}


def completion_times(jobs: Sequence[Job], policy: str) -> list[float]:
    """Each job's completion time under `policy`, in the jobs' own order."""
    if policy not in _SIMULATORS:
        raise ValueError(f"unknown policy {policy!r}; one of {', '.join(POLICIES)}")
    if any(job.size_s <= 0 for job in jobs):
        raise ValueError("every job needs a positive size")
    return _SIMULATORS[policy](jobs)


def slowdowns(jobs: Sequence[Job], policy: str, load_scale: float = 1.0) -> list[float]:
    """Latency over size per job; `load_scale` < 1 stretches the arrival times (the same
    sequence at that fraction of its load)."""
    if load_scale <= 0:
        raise ValueError("load_scale must be positive")
    scaled = [Job(job.arrival_s / load_scale, job.size_s) for job in jobs]
    finished = completion_times(scaled, policy)
    return [(end - job.arrival_s) / job.size_s for end, job in zip(finished, scaled, strict=True)]


def utilization(jobs: Sequence[Job]) -> float:
    """Offered work over the span of arrivals (the model's load; 1 saturates it)."""
    if len(jobs) < 2:
        return 0.0
    span = max(job.arrival_s for job in jobs) - min(job.arrival_s for job in jobs)
    return sum(job.size_s for job in jobs) / span if span > 0 else float("inf")
