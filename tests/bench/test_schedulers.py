"""The ideal-server simulation behind the queueing floors: hand-worked schedules, and the
textbook M/M/1 and M/D/1 figures on long Poisson runs."""

from __future__ import annotations

import random

import numpy as np
import pytest

from bench.loadgen import RequestRecord
from bench.queueing import scheduling_floors
from bench.report import _floor_lines
from bench.schedulers import POLICIES, Job, completion_times, slowdowns, utilization

# A long narrative arrives first, two short ones while it runs.
JOBS = [Job(0.0, 4.0), Job(1.0, 1.0), Job(2.0, 1.0)]


def test_fifo_serves_in_arrival_order() -> None:
    assert completion_times(JOBS, "fifo") == [4.0, 5.0, 6.0]


def test_sjf_waits_for_the_running_one_then_takes_the_shortest() -> None:
    jobs = [Job(0.0, 4.0), Job(1.0, 3.0), Job(2.0, 1.0)]
    # At 4 both wait; the 1 s one goes first although it arrived later.
    assert completion_times(jobs, "sjf") == [4.0, 8.0, 5.0]
    assert completion_times(jobs, "fifo") == [4.0, 7.0, 8.0]


def test_srpt_preempts_the_long_one() -> None:
    # At 1 the short one (1 s) beats the long one's 3 s left; same at 2.
    assert completion_times(JOBS, "srpt") == pytest.approx([6.0, 2.0, 3.0])


def test_processor_sharing_splits_the_server() -> None:
    # 0-1: long alone (3 left); 1-2: two share (2.5 left, short 0.5 left); at 2 a third
    # arrives: three share, the first short ends after 1.5 s (at 3.5), then two share: the
    # second short has 0.5 left -> 1 s more (4.5), the long one then has 1.5 left -> 6.0.
    assert completion_times(JOBS, "ps") == pytest.approx([6.0, 3.5, 4.5])


def test_every_policy_finishes_the_same_work_in_the_same_busy_period() -> None:
    for policy in POLICIES:
        assert max(completion_times(JOBS, policy)) == pytest.approx(6.0)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="policy"):
        completion_times(JOBS, "lifo")
    with pytest.raises(ValueError, match="positive"):
        completion_times([Job(0.0, 0.0)], "fifo")
    with pytest.raises(ValueError, match="load_scale"):
        slowdowns(JOBS, "fifo", load_scale=0)


def _poisson(sizes: str, n: int = 20000, load: float = 0.5) -> list[Job]:
    rng, t, jobs = random.Random(7), 0.0, []
    for _ in range(n):
        t += rng.expovariate(load)
        jobs.append(Job(t, rng.expovariate(1.0) if sizes == "exponential" else 1.0))
    return jobs


def test_textbook_queues_at_half_load() -> None:
    mm1 = _poisson("exponential")
    assert utilization(mm1) == pytest.approx(0.5, abs=0.02)
    for policy in ("fifo", "ps"):  # M/M/1: mean time in system 1 / (mu - lambda) = 2
        latency = [s * j.size_s for s, j in zip(slowdowns(mm1, policy), mm1, strict=True)]
        assert np.mean(latency) == pytest.approx(2.0, rel=0.06)
    # M/G/1-PS: mean slowdown 1 / (1 - rho) for every size; SRPT's mean latency is lower.
    assert np.mean(slowdowns(mm1, "ps")) == pytest.approx(2.0, rel=0.06)
    srpt = [s * j.size_s for s, j in zip(slowdowns(mm1, "srpt"), mm1, strict=True)]
    assert np.mean(srpt) < 1.6
    # M/D/1 FIFO: 1 + rho / (2 (1 - rho)) = 1.5.
    assert np.mean(slowdowns(_poisson("deterministic"), "fifo")) == pytest.approx(1.5, rel=0.05)


def test_stretching_arrivals_lowers_the_load() -> None:
    jobs = _poisson("exponential", n=4000)
    p99 = [np.percentile(slowdowns(jobs, "fifo", scale), 99) for scale in (1.0, 0.5, 0.2)]
    assert p99[0] > p99[1] > p99[2] >= 1.0


def _record(index: int, started_s: float, latency_s: float) -> RequestRecord:
    return RequestRecord(
        index=index, started_s=started_s, latency_s=latency_s, status=200, narrative_tokens=10
    )


def test_floors_from_a_run_and_in_the_report() -> None:
    # Narrative 0 is long (4 s alone), 1 short (1 s); the short ones queue behind the long.
    loaded = [_record(0, 0.0, 4.0), _record(1, 1.0, 4.0), _record(1, 2.0, 4.0)]
    floors = scheduling_floors(loaded, {0: 4.0, 1: 1.0}, load_of_saturation=0.5)
    assert floors["jobs"] == 3 and floors["model_utilization"] == pytest.approx(3.0)
    fifo, srpt = floors["policies"]["fifo"], floors["policies"]["srpt"]
    # FIFO: the last short one waits 3 s for a 1 s job -> 4; SRPT: the long one's 6 / 4 = 1.5.
    assert fifo["ratio_p99"] == pytest.approx(4.0, abs=0.03)
    assert srpt["ratio_p99"] == pytest.approx(1.5, abs=0.03)
    assert srpt["meets_target_up_to_load"] == 0.5  # already at the run's own load
    assert fifo["meets_target_up_to_load"] < 0.5
    lines = "\n".join(_floor_lines({"fp32": {"vs_alone": {"ratio_p99": 3.9, "floors": floors}}}))
    # Half busy (3 s of work every 6 s): no narrative waits under any policy.
    assert {p["ratio_p99_half_busy"] for p in floors["policies"].values()} == {1.0}
    assert "| fp32 | 3.90 | 4.00 / 1.00; <= 2 up to 15.0% |" in lines and "srpt" in lines


def test_too_few_answers_have_no_floors() -> None:
    floors = scheduling_floors([_record(0, 0.0, 1.0)], {0: 1.0})
    assert floors["policies"] == {} and floors["model_utilization"] is None
    assert _floor_lines({"fp32": {"vs_alone": {"ratio_p99": None, "floors": floors}}}) == []
