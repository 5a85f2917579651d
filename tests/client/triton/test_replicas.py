"""ReplicaPool's retry rules, with stand-in replicas that answer, fail or hang (the pool's own
logic is under test; tests/client/triton/test_replica_failover.py does it with real Tritons),
and the health check against a server that accepts connections and never answers."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import numpy as np
import pytest
from tritonclient.utils import InferenceServerException

from client.core.errors import DeadlineExceeded, ModelUnavailable, VersionUnavailable
from client.triton.replicas import ReplicaPool
from client.triton.runner import EndpointState, Priority, TritonRunner, map_triton_error

IDS = np.ones((1, 8), dtype=np.int64)


class StandIn:
    """A replica that answers at once for its versions (unavailable for others), hangs, or
    cannot be reached."""

    def __init__(self, behaviour: str, versions: tuple[str, ...] = ("1",)) -> None:
        self.behaviour = behaviour
        self.versions = list(versions)
        self.budgets: list[float] = []
        self.priorities: list[Priority] = []

    async def infer(
        self, input_ids, attention_mask, *, version, timeout_s, request_id, priority=Priority.HIGH
    ):
        self.budgets.append(timeout_s)
        self.priorities.append(priority)
        if self.behaviour == "hang":
            try:
                await asyncio.wait_for(asyncio.Event().wait(), timeout_s)
            except TimeoutError as exc:
                raise map_triton_error(exc) from None  # what TritonRunner raises
        if self.behaviour == "dead":
            raise ModelUnavailable("the model server cannot be reached")  # as TritonRunner
        if version not in self.versions:
            raise VersionUnavailable("the model version is not available")  # as TritonRunner
        return {"main": np.zeros((input_ids.shape[0], 2), dtype=np.float32)}

    async def state(self) -> EndpointState:
        return EndpointState("stand-in", "grpc", True, list(self.versions))

    async def close(self) -> None:
        return None


def pool_of(*replicas: StandIn, fraction: float = 0.5, minimum: float = 0.1) -> ReplicaPool:
    pool = ReplicaPool(
        [(f"r{i}", r) for i, r in enumerate(replicas)],
        attempt_fraction=fraction,
        attempt_min_s=minimum,
    )
    asyncio.run(pool.check_all())
    return pool


def infer(pool: ReplicaPool, timeout_s: float, version: str = "1") -> tuple[dict, float]:
    async def call() -> dict:
        return await pool.infer(IDS, IDS, version=version, timeout_s=timeout_s, request_id="r")

    started = time.monotonic()
    result = asyncio.run(call())
    return result, time.monotonic() - started


def test_the_priority_reaches_the_replica() -> None:
    replica = StandIn("answer")
    pool = pool_of(replica)
    for priority in (Priority.LOW, Priority.HIGH):
        asyncio.run(
            pool.infer(IDS, IDS, version="1", timeout_s=5, request_id="r", priority=priority)
        )
    assert replica.priorities == [Priority.LOW, Priority.HIGH]


def test_a_hung_replica_gets_a_share_of_the_deadline_then_is_taken_out() -> None:
    hung, good = StandIn("hang"), StandIn("answer")
    pool = pool_of(hung, good)
    result, took = infer(pool, timeout_s=1.0)
    assert "main" in result
    assert hung.budgets == [pytest.approx(0.5, abs=0.02)]
    assert 0.45 < took < 0.8, "the answer comes after the hung attempt's share, not the deadline"
    assert good.budgets[0] == pytest.approx(0.5, abs=0.05), "the last attempt gets the rest"
    assert not pool.replicas[0].healthy and pool.replicas[1].healthy
    # The next request goes straight to the replica still in the pool, with all the time.
    infer(pool, timeout_s=1.0)
    assert len(hung.budgets) == 1 and good.budgets[1] == pytest.approx(1.0, abs=0.02)


def test_the_floor_applies_while_another_replica_could_answer() -> None:
    hung, good = StandIn("hang"), StandIn("answer")
    pool = pool_of(hung, good, fraction=0.1, minimum=0.3)
    infer(pool, timeout_s=1.0)
    assert hung.budgets == [pytest.approx(0.3, abs=0.02)]


def test_the_only_replica_gets_the_whole_deadline_and_its_timeout_is_the_requests() -> None:
    hung = StandIn("hang")
    pool = pool_of(hung)
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        infer(pool, timeout_s=0.6)
    assert hung.budgets == [pytest.approx(0.6, abs=0.02)]
    assert time.monotonic() - started >= 0.58
    assert pool.replicas[0].healthy, "the request ran out of time, not the replica's share"


def test_a_healthy_replica_without_the_version_is_neither_tried_nor_taken_out() -> None:
    old, new = StandIn("answer", ("1",)), StandIn("answer", ("1", "2"))
    pool = pool_of(old, new)
    new.behaviour = "dead"  # it died: the call fails as unreachable
    with pytest.raises(ModelUnavailable):
        infer(pool, timeout_s=1.0, version="2")
    assert old.budgets == [], "a replica known not to serve version 2 was called"
    assert pool.replicas[0].healthy and not pool.replicas[1].healthy
    assert pool.serving_versions() == ["1"]


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts TCP connections (the kernel completes them) and never reads or answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield f"127.0.0.1:{server.getsockname()[1]}"


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_the_health_check_of_a_server_that_never_answers_is_bounded(
    silent_server: str, protocol: str
) -> None:
    runner = TritonRunner(silent_server, "m", protocol, health_timeout_s=0.5)

    async def probe() -> EndpointState:
        try:
            return await runner.state()
        finally:
            await runner.close()

    started = time.monotonic()
    state = asyncio.run(asyncio.wait_for(probe(), 10))
    assert time.monotonic() - started < 2
    assert not state.live and state.ready_versions == []
    assert runner.serving_versions() == []


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_an_inference_on_a_server_that_never_answers_ends_at_its_timeout(
    silent_server: str, protocol: str
) -> None:
    runner = TritonRunner(silent_server, "m", protocol)

    async def call() -> None:
        try:
            await runner.infer(IDS, IDS, version="1", timeout_s=0.5, request_id="r")
        finally:
            await runner.close()

    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        asyncio.run(asyncio.wait_for(call(), 10))
    assert 0.45 < time.monotonic() - started < 0.8


def test_a_replica_that_stops_serving_a_version_stays_in_for_the_others() -> None:
    """Mid-rollback the server answers "unknown version": it is alive and serves the older
    version, so it must stay in the pool (the service falls back to that version)."""
    unloading = StandIn("answer", versions=("1", "2"))
    pool = pool_of(unloading)
    unloading.versions = ["1"]  # Triton unloads version 2 before the next health check
    with pytest.raises(VersionUnavailable):
        infer(pool, timeout_s=1.0, version="2")
    assert pool.replicas[0].healthy
    assert pool.serving_versions() == ["1"]
    assert "main" in infer(pool, timeout_s=1.0, version="1")[0]


def test_triton_answers_for_a_version_it_does_not_serve_are_told_apart() -> None:
    unknown = InferenceServerException(
        "Request for unknown model: 'helpline_classifier' version 2 is not at ready state"
    )
    assert isinstance(map_triton_error(unknown), VersionUnavailable)
    refused = InferenceServerException("failed to connect to all addresses", status="UNAVAILABLE")
    error = map_triton_error(refused)
    assert isinstance(error, ModelUnavailable) and not isinstance(error, VersionUnavailable)
