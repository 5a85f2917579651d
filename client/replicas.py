"""Several Triton replicas behind one `ModelRunner`.

Requests go round-robin over healthy replicas that have the wanted version ready. A replica
is taken out on a failed call (unreachable, model not ready) or a failed health check, and
taken back when a health check finds it ready again. An inference is idempotent, so a call
that fails on one replica is retried on another while the request's deadline allows.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

import numpy as np

from client.errors import DeadlineExceeded, GatewayError, ModelUnavailable, Overloaded
from client.runner import EndpointState, ModelRunner

log = logging.getLogger("triage.replicas")


@dataclass
class Replica:
    runner: ModelRunner
    url: str
    healthy: bool = False
    ready_versions: list[str] = field(default_factory=list)
    last_state: EndpointState | None = None
    failures: int = 0


class ReplicaPool:
    def __init__(self, runners: list[tuple[str, ModelRunner]], check_interval_s: float = 1.0):
        if not runners:
            raise ValueError("at least one Triton endpoint is needed")
        self.replicas = [Replica(runner=r, url=url) for url, r in runners]
        self.check_interval_s = check_interval_s
        self._next = 0
        self._checker: asyncio.Task | None = None

    # --- health ---------------------------------------------------------------------------

    async def check_all(self) -> None:
        states = await asyncio.gather(*(r.runner.state() for r in self.replicas))
        for replica, state in zip(self.replicas, states, strict=True):
            was = replica.healthy
            replica.last_state = state
            replica.ready_versions = state.ready_versions
            replica.healthy = state.live and bool(state.ready_versions)
            if replica.healthy and not was:
                replica.failures = 0
                log.info("replica %s is ready (versions %s)", replica.url, state.ready_versions)
            elif was and not replica.healthy:
                log.warning("replica %s left the pool: %s", replica.url, state.error)

    async def _check_forever(self) -> None:
        while True:
            await asyncio.sleep(self.check_interval_s)
            try:
                await self.check_all()
            except Exception:  # noqa: BLE001 - a failed sweep must not stop the checker
                log.exception("replica health sweep failed")

    # --- ModelRunner ----------------------------------------------------------------------

    async def start(self) -> None:
        await self.check_all()
        if self._checker is None:
            self._checker = asyncio.create_task(self._check_forever())

    async def state(self) -> EndpointState:
        """Aggregate view: versions ready on at least one healthy replica."""
        await self.check_all()
        healthy = [r for r in self.replicas if r.healthy]
        versions = sorted({v for r in healthy for v in r.ready_versions}, key=int)
        live = any(r.last_state is not None and r.last_state.live for r in self.replicas)
        errors = [
            f"{r.url}: {r.last_state.error}"
            for r in self.replicas
            if r.last_state is not None and r.last_state.error
        ]
        return EndpointState(
            url=",".join(r.url for r in self.replicas),
            protocol=self.replicas[0].last_state.protocol if self.replicas[0].last_state else "",
            live=live,
            ready_versions=versions,
            error="; ".join(errors) or None,
        )

    def endpoint_states(self) -> list[EndpointState]:
        return [
            r.last_state or EndpointState(r.url, "", False, [], "not checked yet")
            for r in self.replicas
        ]

    def mark_down(self, url: str, reason: str) -> None:
        """Out of the pool now (its process is known dead); the health checker takes it
        back once it reports ready again."""
        for replica in self.replicas:
            if replica.url == url:
                protocol = replica.last_state.protocol if replica.last_state else ""
                replica.healthy = False
                replica.ready_versions = []
                replica.last_state = EndpointState(url, protocol, False, [], reason)
                log.warning("replica %s left the pool: %s", url, reason)

    def _pick(self, version: str, tried: set[int]) -> int | None:
        n = len(self.replicas)
        candidates = [i for i in range(n) if i not in tried]
        preferred = [
            i
            for i in candidates
            if self.replicas[i].healthy and version in self.replicas[i].ready_versions
        ]
        # With no healthy candidate left, still try the others: a health check may be stale.
        pool = preferred or candidates
        if not pool:
            return None
        for step in range(n):
            index = (self._next + step) % n
            if index in pool:
                self._next = index + 1
                return index
        return pool[0]

    async def infer(
        self,
        input_ids: np.ndarray,
        attention_mask: np.ndarray,
        *,
        version: str,
        timeout_s: float,
        request_id: str,
    ) -> dict[str, np.ndarray]:
        deadline = time.monotonic() + timeout_s
        tried: set[int] = set()
        last_error: GatewayError = ModelUnavailable("no model server is available")
        while (index := self._pick(version, tried)) is not None:
            tried.add(index)
            replica = self.replicas[index]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeadlineExceeded("the request deadline passed before inference")
            try:
                return await replica.runner.infer(
                    input_ids,
                    attention_mask,
                    version=version,
                    timeout_s=remaining,
                    request_id=request_id,
                )
            except ModelUnavailable as exc:
                replica.healthy = False
                replica.failures += 1
                log.warning(
                    "replica %s failed request_id=%s; trying another", replica.url, request_id
                )
                last_error = exc
            except Overloaded as exc:
                last_error = exc  # this replica's queue is full; another may have room
        raise last_error

    async def close(self) -> None:
        if self._checker is not None:
            self._checker.cancel()
            await asyncio.gather(self._checker, return_exceptions=True)
        await asyncio.gather(*(r.runner.close() for r in self.replicas))
