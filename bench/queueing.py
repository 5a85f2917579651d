"""How much of a narrative's latency under load is queueing: its latency at half saturation
over its own latency alone on the idle stack (same narrative, same side).

p99/p50 of raw latency is wide even on an idle stack, because the workload mixes 1-chunk and
5-chunk narratives; dividing each request by the same narrative's idle latency takes the
length mix out, so what is left is waiting (queueing, batching delay, contention).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from bench.loadgen import RequestRecord
from bench.schedulers import POLICIES, Job, slowdowns, utilization

# The target: p99 of latency-under-load / latency-alone.
TARGET_P99 = 2.0
# At most this many distinct narratives are measured alone per side, so the extra time stays
# bounded whatever the workload size (the alone run is also cut at the run duration).
MAX_ALONE = 300
# Fractions of the run's own load at which the scheduling floors are also simulated.
LOAD_SCALES = (1.0, 0.8, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1)


def to_measure_alone(loaded: Iterable[RequestRecord], limit: int = MAX_ALONE) -> list[int]:
    """Distinct workload positions answered under load, in order of first answer, capped."""
    order: list[int] = []
    seen: set[int] = set()
    for record in loaded:
        if record.ok and record.index not in seen:
            seen.add(record.index)
            order.append(record.index)
    return order[:limit]


def alone_latencies(records: Iterable[RequestRecord]) -> dict[int, float]:
    """Seconds per workload position from a sequential run (first answer per position)."""
    found: dict[int, float] = {}
    for record in records:
        if record.ok and record.latency_s > 0:
            found.setdefault(record.index, record.latency_s)
    return found


def _pct(values: Sequence[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 3) if values else None


def queueing_ratios(
    loaded: Iterable[RequestRecord], alone: Mapping[int, float]
) -> dict[str, object]:
    """One ratio per request answered under load whose narrative has an alone figure.

    Requests whose narrative has none (not reached by the capped, time-bounded alone run, or
    failed alone) are not compared, but they are counted, so a partial comparison shows."""
    ratios: list[float] = []
    narratives: set[int] = set()
    without: set[int] = set()
    requests_without = 0
    for record in loaded:
        if not record.ok:
            continue
        narratives.add(record.index)
        base = alone.get(record.index)
        if base is None or base <= 0:
            without.add(record.index)
            requests_without += 1
            continue
        ratios.append(record.latency_s / base)
    p99 = _pct(ratios, 99)
    return {
        "narratives_under_load": len(narratives),
        "narratives_measured_alone": len(narratives - without),
        "narratives_without_alone": len(without),
        "requests_compared": len(ratios),
        "requests_without_alone": requests_without,
        "ratio_p50": _pct(ratios, 50),
        "ratio_p99": p99,
        "target_p99": TARGET_P99,
        "met": None if p99 is None else p99 <= TARGET_P99,
    }


def scheduling_floors(
    loaded: Iterable[RequestRecord],
    alone: Mapping[int, float],
    *,
    load_of_saturation: float = 0.5,
) -> dict[str, object]:
    """The queueing ratio an ideal server would give on the run's own arrivals, per policy
    (bench.schedulers): its p99 at the run's load, and the highest load, as a fraction of the
    stack's saturation, at which its p99 stays within the target (None if none of
    LOAD_SCALES does). Only requests with an alone figure are simulated."""
    jobs = [
        Job(record.started_s, alone[record.index])
        for record in loaded
        if record.ok and alone.get(record.index, 0) > 0
    ]
    if len(jobs) < 2:
        return {"jobs": len(jobs), "model_utilization": None, "policies": {}}
    busy = utilization(jobs)
    # The model's server is busier than the stack (a one-chunk narrative alone leaves a core
    # idle), so each policy is also simulated with the arrivals stretched to exactly half
    # busy: the textbook half load, comparable across machines and workloads.
    half_busy = 0.5 / busy if 0 < busy < float("inf") else None
    policies: dict[str, dict[str, float | None]] = {}
    for policy in POLICIES:
        p99_at = {scale: _pct(slowdowns(jobs, policy, scale), 99) for scale in LOAD_SCALES}
        within = [s for s, p99 in p99_at.items() if p99 is not None and p99 <= TARGET_P99]
        policies[policy] = {
            "ratio_p99": p99_at[1.0],
            "ratio_p99_half_busy": (
                None if half_busy is None else _pct(slowdowns(jobs, policy, half_busy), 99)
            ),
            "meets_target_up_to_load": (
                round(max(within) * load_of_saturation, 3) if within else None
            ),
        }
    return {
        "jobs": len(jobs),
        "load_of_saturation": load_of_saturation,
        "model_utilization": round(busy, 3),
        "policies": policies,
    }
