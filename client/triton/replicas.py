"""Several Triton replicas behind one `ModelRunner`.

Requests go round-robin over healthy replicas that have the wanted version ready. A replica
is taken out on a failed call (unreachable, model not ready), on an attempt that timed out,
or on a failed health check, and taken back when a health check finds it ready again. An
inference is idempotent, so a call that fails on one replica is retried on another while the
request's deadline allows.

A replica can also hang: accept the connection and never answer (a stopped process, a stuck
GPU). So while another healthy replica could take the call, an attempt gets only a fraction
of the remaining deadline; the last candidate gets all of it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

import numpy as np

from client.core.errors import (
    DeadlineExceeded,
    GatewayError,
    ModelUnavailable,
    Overloaded,
    VersionUnavailable,
)
from client.core.settings import GatewaySettings
from client.triton.runner import EndpointState, ModelRunner, Priority, TritonRunner

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
    def __init__(
        self,
        runners: list[tuple[str, ModelRunner]],
        check_interval_s: float = 1.0,
        *,
        attempt_fraction: float = 0.5,
        attempt_min_s: float = 1.0,
    ):
        if not runners:
            raise ValueError("at least one Triton endpoint is needed")
        if not 0 < attempt_fraction <= 1:
            raise ValueError("attempt_fraction must be in (0, 1]")
        self.replicas = [Replica(runner=r, url=url) for url, r in runners]
        self.check_interval_s = check_interval_s
        self.attempt_fraction = attempt_fraction
        self.attempt_min_s = attempt_min_s
        self._next = 0
        self._checker: asyncio.Task | None = None

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> ReplicaPool:
        runners: list[tuple[str, ModelRunner]] = [
            (
                url,
                TritonRunner(
                    url,
                    settings.model_name,
                    settings.protocol,
                    health_timeout_s=settings.health_check_timeout_s,
                ),
            )
            for url in settings.triton_urls
        ]
        return cls(
            runners,
            check_interval_s=settings.health_check_interval_s,
            attempt_fraction=settings.attempt_timeout_fraction,
            attempt_min_s=settings.attempt_timeout_min_s,
        )

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

    def serving_versions(self) -> list[str]:
        """Versions ready on a replica in the pool now (no new health check)."""
        return sorted({v for r in self.replicas if r.healthy for v in r.ready_versions}, key=int)

    def _serves(self, index: int, version: str) -> bool:
        replica = self.replicas[index]
        return replica.healthy and version in replica.ready_versions

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
        preferred = [i for i in candidates if self._serves(i, version)]
        # With no healthy candidate left, still try the replicas that are out: their health
        # check may be stale. A healthy replica that reported not serving the version is no
        # candidate (its answer would be "unknown version", and it would be taken out).
        pool = preferred or [i for i in candidates if not self.replicas[i].healthy]
        if not pool:
            return None
        for step in range(n):
            index = (self._next + step) % n
            if index in pool:
                self._next = index + 1
                return index
        return pool[0]

    def _attempt_budget(self, index: int, version: str, tried: set[int], remaining: float) -> float:
        """Seconds for one attempt: a share of what is left while another healthy replica
        could still take the call, so that a hung replica cannot use up the deadline; all
        of it for the last candidate."""
        alternatives = [
            i
            for i in range(len(self.replicas))
            if i != index and i not in tried and self._serves(i, version)
        ]
        if not alternatives:
            return remaining
        return min(remaining, max(self.attempt_min_s, self.attempt_fraction * remaining))

    def _take_out(self, replica: Replica, why: str, request_id: str) -> None:
        replica.healthy = False
        replica.failures += 1
        log.warning("replica %s %s request_id=%s; trying another", replica.url, why, request_id)

    async def infer(
        self,
        input_ids: np.ndarray,
        attention_mask: np.ndarray,
        *,
        version: str,
        timeout_s: float,
        request_id: str,
        priority: Priority = Priority.HIGH,
    ) -> dict[str, np.ndarray]:
        deadline = time.monotonic() + timeout_s
        tried: set[int] = set()
        last_error: GatewayError = ModelUnavailable(f"no model server serves version {version} now")
        while (index := self._pick(version, tried)) is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeadlineExceeded("the request deadline passed before inference")
            budget = self._attempt_budget(index, version, tried, remaining)
            tried.add(index)
            replica = self.replicas[index]
            try:
                return await replica.runner.infer(
                    input_ids,
                    attention_mask,
                    version=version,
                    timeout_s=budget,
                    request_id=request_id,
                    priority=priority,
                )
            except DeadlineExceeded as exc:
                if budget >= remaining:
                    raise  # the request's own deadline passed: nothing is left to retry with
                # Only this attempt's share ran out: the replica is slow or hung.
                self._take_out(replica, f"did not answer within {budget:.2f} s", request_id)
                last_error = exc
            except VersionUnavailable as exc:
                # A live server that no longer serves this version (a rollback unloading it):
                # it stays in the pool for the versions it does serve, and requests fall back
                # to those (client/core/service.py) until the next health check says otherwise.
                replica.ready_versions = [v for v in replica.ready_versions if v != version]
                log.warning(
                    "replica %s does not serve version %s request_id=%s",
                    replica.url,
                    version,
                    request_id,
                )
                last_error = exc
            except ModelUnavailable as exc:
                self._take_out(replica, "failed", request_id)
                last_error = exc
            except Overloaded as exc:
                last_error = exc  # this replica's queue is full; another may have room
        raise last_error

    async def close(self) -> None:
        if self._checker is not None:
            self._checker.cancel()
            await asyncio.gather(self._checker, return_exceptions=True)
        await asyncio.gather(*(r.runner.close() for r in self.replicas))
