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

# The target: p99 of latency-under-load / latency-alone.
TARGET_P99 = 2.0
# At most this many distinct narratives are measured alone per side, so the extra time stays
# bounded whatever the workload size (the alone run is also cut at the run duration).
MAX_ALONE = 300


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
