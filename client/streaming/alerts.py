"""Escalation alerts of live calls, and their delivery to an operator's webhook.

A session raises at most one `Alert`: the first newly classified window (closed or tail)
that escalates under the rule of client/core/aggregation.py, or the final result on close.
An alert from a tail window can precede a final result that does not escalate (the window
was later re-chunked); the final result always carries its own escalation. Alerts carry
offsets, never text.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from client.core.settings import GatewaySettings
from client.streaming.metrics import StreamMetrics

log = logging.getLogger("triage.streaming")


@dataclass(frozen=True)
class Alert:
    """An escalation raised while streaming; carries offsets, never text."""

    session_id: str
    request_id: str
    seq: int  # segment that completed the window (-1: raised on close)
    chunk_index: int
    chunk_closed: bool  # False: an interim tail window
    token_start: int
    token_end: int
    char_start: int
    char_end: int
    level: str
    confidence: float
    threshold: float
    model_version: str
    timestamp: str

    def payload(self) -> dict[str, Any]:
        return dict(self.__dict__)


class AlertNotifier:
    """POSTs alerts to a webhook in the background, with retries and a timeout per attempt,
    so a slow receiver never holds up a stream."""

    def __init__(
        self,
        url: str,
        timeout_s: float = 5.0,
        retries: int = 3,
        backoff_s: float = 0.5,
        on_result: Callable[[str], None] | None = None,
    ) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.retries = max(0, retries)
        self.backoff_s = backoff_s
        self.on_result = on_result or (lambda outcome: None)
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task] = set()

    def notify(self, payload: dict[str, Any]) -> None:
        task = asyncio.create_task(self._deliver(payload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, payload: dict[str, Any]) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout_s)
        for attempt in range(self.retries + 1):
            try:
                response = await self._client.post(self.url, json=payload)
                if response.status_code < 300:
                    self.on_result("delivered")
                    return
                problem = f"status {response.status_code}"
            except httpx.HTTPError as exc:
                problem = type(exc).__name__
            log.warning(
                "alert webhook attempt %d/%d failed (%s) session=%s request_id=%s",
                attempt + 1,
                self.retries + 1,
                problem,
                payload.get("session_id"),
                payload.get("request_id"),
            )
            if attempt < self.retries:
                await asyncio.sleep(self.backoff_s * 2**attempt)
        self.on_result("failed")

    async def aclose(self, grace_s: float = 2.0) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=grace_s)
        for task in list(self._tasks):
            task.cancel()
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def build_notifier(
    settings: GatewaySettings, metrics: StreamMetrics | None
) -> AlertNotifier | None:
    if not settings.alert_webhook_url:
        return None
    on_result = (lambda outcome: metrics.webhook.labels(outcome).inc()) if metrics else None
    return AlertNotifier(
        settings.alert_webhook_url,
        timeout_s=settings.alert_webhook_timeout_s,
        retries=settings.alert_webhook_retries,
        on_result=on_result,
    )
