"""Triton (gRPC or HTTP) as the runner of the classification pipeline
(client/core/pipeline.py), plus what the gateway needs around it: health and served
versions per endpoint."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from tritonclient.utils import InferenceServerException

from client.core.errors import (
    DeadlineExceeded,
    GatewayError,
    ModelUnavailable,
    Overloaded,
    UpstreamError,
    VersionUnavailable,
)
from client.core.pipeline import Priority, Runner
from helpline_model.layout import HEADS, INPUT_NAMES, OUTPUT_NAMES

log = logging.getLogger("triage.runner")


@dataclass(frozen=True)
class EndpointState:
    url: str
    protocol: str
    live: bool
    ready_versions: list[str]
    error: str | None = None


class ModelRunner(Runner, Protocol):
    """A pipeline runner that also reports health and the versions it serves: what the
    gateway's service follows. `ReplicaPool` (client/triton/replicas.py) is the one used."""

    async def start(self) -> None: ...

    async def state(self) -> EndpointState: ...

    def endpoint_states(self) -> list[EndpointState]: ...

    def serving_versions(self) -> list[str]:
        """Versions that a healthy model server has ready now, oldest first, from what is
        already known (no new health check): what a request can be served with."""
        ...

    def mark_down(self, url: str, reason: str) -> None:
        """The endpoint at `url` is known to be dead (e.g. its process exited)."""
        ...

    async def close(self) -> None: ...


def map_triton_error(exc: Exception) -> GatewayError:
    """Triton / transport failures -> the gateway's error kinds (never a bare 500)."""
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return DeadlineExceeded("the model did not answer within the request deadline")
    if isinstance(exc, OSError):
        return ModelUnavailable("the model server cannot be reached")
    text = str(exc.message() if isinstance(exc, InferenceServerException) else exc)
    status = str(exc.status() if isinstance(exc, InferenceServerException) else "").lower()
    lowered = text.lower()
    if "exceeds maximum queue size" in lowered:
        return Overloaded("the model server queue is full", retry_after_s=1)
    if "deadline" in status or "deadline" in lowered or "timeout" in lowered:
        return DeadlineExceeded("the model did not answer within the request deadline")
    # Triton's own answer for a version it does not serve ("Request for unknown model: 'm'
    # version 2 is not at ready state" / "is not found"): the server is reachable.
    if "unknown model" in lowered or "not at ready state" in lowered:
        return VersionUnavailable("the model version is not available")
    unavailable_signs = ("unavailable", "not ready", "connect", "not found")
    # No `detail` from Triton's text: it names addresses and file paths (`infer` logs it).
    if "unavailable" in status or any(sign in lowered for sign in unavailable_signs):
        return ModelUnavailable("the model is not available")
    return UpstreamError("the model server rejected the request")


# gRPC waits longer and longer between reconnection attempts to a dead server (up to 120 s
# by default), so a Triton that restarted in seconds would stay unreachable for much longer.
# Reconnecting every second at most costs nothing on an internal network.
GRPC_MAX_RECONNECT_BACKOFF_MS = 1000


def grpc_channel_args() -> list[tuple[str, int]]:
    """tritonclient's default channel options (passing any replaces them all), with the
    reconnection backoff capped. `grpc.min_reconnect_backoff_ms` is left alone: despite its
    name it is the minimum connect timeout, and lowering it would turn a slow handshake with
    a busy server into a failed connection."""
    from tritonclient.grpc import KeepAliveOptions
    from tritonclient.grpc._client import MAX_GRPC_MESSAGE_SIZE

    keepalive = KeepAliveOptions()
    return [
        ("grpc.max_send_message_length", MAX_GRPC_MESSAGE_SIZE),
        ("grpc.max_receive_message_length", MAX_GRPC_MESSAGE_SIZE),
        ("grpc.keepalive_time_ms", keepalive.keepalive_time_ms),
        ("grpc.keepalive_timeout_ms", keepalive.keepalive_timeout_ms),
        ("grpc.keepalive_permit_without_calls", keepalive.keepalive_permit_without_calls),
        ("grpc.http2.max_pings_without_data", keepalive.http2_max_pings_without_data),
        ("grpc.initial_reconnect_backoff_ms", GRPC_MAX_RECONNECT_BACKOFF_MS // 4),
        ("grpc.max_reconnect_backoff_ms", GRPC_MAX_RECONNECT_BACKOFF_MS),
    ]


class TritonRunner:
    """Async tritonclient over one endpoint; the channel is created once and reused.

    The client is created on first use: a grpc.aio channel binds to the event loop that
    is running when it is made, which is the server's loop only after start-up.
    """

    def __init__(
        self, url: str, model_name: str, protocol: str = "grpc", health_timeout_s: float = 2.0
    ) -> None:
        self.url = url
        self.model_name = model_name
        self.protocol = protocol
        self.health_timeout_s = health_timeout_s
        if protocol == "grpc":
            import tritonclient.grpc.aio as module
        else:
            import tritonclient.http.aio as module
        self._module = module
        self._client_instance = None
        self._last_state: EndpointState | None = None
        self._outputs = [OUTPUT_NAMES[h] for h in HEADS]

    @property
    def _client(self):  # -> tritonclient InferenceServerClient (grpc.aio or http.aio)
        if self._client_instance is None:
            kwargs = {"channel_args": grpc_channel_args()} if self.protocol == "grpc" else {}
            self._client_instance = self._module.InferenceServerClient(url=self.url, **kwargs)
        return self._client_instance

    def _inputs(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> list:
        tensors = []
        for name, value in zip(INPUT_NAMES, (input_ids, attention_mask), strict=True):
            tensor = self._module.InferInput(name, list(value.shape), "INT64")
            tensor.set_data_from_numpy(value)
            tensors.append(tensor)
        return tensors

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
        if timeout_s <= 0:
            raise DeadlineExceeded("the request deadline passed before inference")
        kwargs = {
            "model_name": self.model_name,
            "inputs": self._inputs(input_ids, attention_mask),
            "model_version": version,
            "outputs": [self._module.InferRequestedOutput(name) for name in self._outputs],
            "request_id": request_id,
            # Server-side deadline (µs): Triton drops the request from its queue once it
            # has expired instead of spending model time on an answer nobody awaits.
            "timeout": max(1, int(timeout_s * 1e6)),
            "priority": int(priority),
            # Triton hands its "priority" to no Python backend; the local runner orders the
            # requests of one execute call by this copy (export/triton_python_model.py).
            "parameters": {"priority_level": int(priority)},
        }
        if self.protocol == "grpc":
            kwargs["client_timeout"] = timeout_s
        # gRPC ends the call at its own deadline (a clean DEADLINE_EXCEEDED); the margin only
        # guards a stuck client. HTTP has no client deadline: this bound is the deadline.
        grace = 0.5 if self.protocol == "grpc" else 0.0
        try:
            result = await asyncio.wait_for(self._client.infer(**kwargs), timeout_s + grace)
        except Exception as exc:  # noqa: BLE001 - transport libraries raise their own types
            error = map_triton_error(exc)
            log.warning(
                "inference failed url=%s request_id=%s code=%s: %s",
                self.url,
                request_id,
                error.code,
                str(exc)[:500] or type(exc).__name__,
            )
            raise error from None
        return {head: result.as_numpy(OUTPUT_NAMES[head]) for head in HEADS}

    async def start(self) -> None:
        return None

    def endpoint_states(self) -> list[EndpointState]:
        return [self._last_state or EndpointState(self.url, self.protocol, False, [])]

    def serving_versions(self) -> list[str]:
        state = self._last_state
        return list(state.ready_versions) if state is not None and state.live else []

    async def state(self) -> EndpointState:
        self._last_state = await self._probe()
        return self._last_state

    def mark_down(self, url: str, reason: str) -> None:
        if url == self.url:
            self._last_state = EndpointState(self.url, self.protocol, False, [], reason)

    async def _probe(self) -> EndpointState:
        """One health check, bounded as a whole by `health_timeout_s`: a server that accepts
        connections and never answers (stopped, hung) must read as down, not stall the
        checker."""
        try:
            live = bool(
                await asyncio.wait_for(self._client.is_server_live(), self.health_timeout_s)
            )
        except Exception as exc:  # noqa: BLE001 - any failure means "not reachable now"
            return EndpointState(self.url, self.protocol, False, [], self._probe_error(exc))
        try:
            ready = await asyncio.wait_for(self._ready_versions(), self.health_timeout_s)
        except Exception as exc:  # noqa: BLE001 - server up, model not usable
            return EndpointState(self.url, self.protocol, live, [], self._probe_error(exc))
        return EndpointState(self.url, self.protocol, live, ready)

    def _probe_error(self, exc: Exception) -> str:
        if isinstance(exc, asyncio.TimeoutError | TimeoutError):
            return f"no answer to the health check within {self.health_timeout_s:g} s"
        return map_triton_error(exc).message

    async def _ready_versions(self) -> list[str]:
        kwargs = {"as_json": True} if self.protocol == "grpc" else {}
        metadata = await self._client.get_model_metadata(self.model_name, **kwargs)
        ready = [
            str(v)
            for v in metadata.get("versions", [])
            if await self._client.is_model_ready(self.model_name, v)
        ]
        return sorted(ready, key=int)

    async def close(self) -> None:
        if self._client_instance is not None:
            await self._client_instance.close()
            self._client_instance = None
