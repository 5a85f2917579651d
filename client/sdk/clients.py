"""Python SDK for the triage gateway: `TriageClient` (sync) and `AsyncTriageClient` (async).

    with TriageClient("http://127.0.0.1:8123") as client:
        result = client.classify("A 12-year-old girl reported ...")
        print(result["main_category"], result["priority"])

Results are the gateway's JSON bodies as plain dicts (fields as in its OpenAPI document,
`client/http/openapi.json`). Failures raise `TriageAPIError` (the gateway answered with an
error) or `TriageConnectionError` (no answer).
Retries are off by default; when enabled they cover only 429 and 503, which the gateway sends
for overload and an unavailable model, and they honour Retry-After.

Live calls: `stream(segments)` sends a transcript segment by segment and yields the gateway's
events as they come (`session`, `alert`, `update`, `final`; `ack` too with ``acks=True``):

    with TriageClient(url) as client:
        for event in client.stream(split_transcript(text, by="sentence")):
            print(event["type"])

`TriageClient.stream` uses the plain-HTTP session API; `AsyncTriageClient.stream` holds one
WebSocket (needs the `websockets` package). The transcript is the exact concatenation of the
segments; `split_transcript` cuts a text into words, sentences or lines that keep their spaces.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Any

import httpx

from client.sdk._requests import (
    CLOSE_MESSAGE,
    DEFAULT_URL,
    REQUEST_ID_HEADER,
    RETRY_STATUSES,
    SEGMENT_REPLIES,
    TIMEOUT_HEADER,
    Call,
    ClientBase,
    Narratives,
    final_events,
    json_body,
    refusal_error,
    segment_events,
    segment_message,
    stream_event,
)
from client.sdk.errors import TriageAPIError, TriageConnectionError, TriageError
from client.sdk.transcripts import SPLITS, split_transcript

__all__ = [
    "DEFAULT_URL",
    "REQUEST_ID_HEADER",
    "RETRY_STATUSES",
    "SPLITS",
    "TIMEOUT_HEADER",
    "AsyncTriageClient",
    "Narratives",
    "TriageAPIError",
    "TriageClient",
    "TriageConnectionError",
    "TriageError",
    "split_transcript",
]


async def _as_async(segments: Iterable[str] | AsyncIterable[str]) -> AsyncIterator[str]:
    if isinstance(segments, AsyncIterable):
        async for segment in segments:
            yield segment
    else:
        for segment in segments:
            yield segment


class TriageClient(ClientBase):
    """Synchronous client over one connection pool; use as a context manager or call `close()`.

    Args:
        base_url: the gateway, e.g. ``http://127.0.0.1:8123``.
        api_key: sent as ``Authorization: Bearer <key>`` when given.
        http_timeout_s: client-side limit for one HTTP attempt.
        max_retries: extra attempts after a 429/503 (0: no retries).
        max_retry_time_s: bound on the total time spent on one call including retry waits.
        backoff_s: first wait when the gateway sends no Retry-After (doubles each attempt).
    """

    _http: httpx.Client

    def _make_http(self, headers: dict[str, str]) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=self.http_timeout_s)

    def __enter__(self) -> TriageClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _send(self, call: Call) -> httpx.Response:
        started = time.monotonic()
        attempt = 0
        while True:
            try:
                response = self._http.request(
                    call.method,
                    call.path,
                    json=call.body,
                    headers=call.headers,
                    timeout=call.timeout_s,
                )
            except httpx.TransportError as exc:
                raise call.connection_error(exc) from exc
            wait = self._retry_wait(response, attempt, started)
            if wait is None:
                return response
            time.sleep(wait)
            attempt += 1

    def _result(self, call: Call) -> dict[str, Any]:
        return json_body(self._send(call))

    def classify(
        self,
        narrative: str,
        *,
        include_chunks: bool = False,
        request_id: str | None = None,
        timeout_s: float | None = None,
    ) -> dict[str, Any]:
        """Classifies one narrative (POST /classifier/classify).

        Args:
            narrative: the case narrative or transcript.
            include_chunks: also return per-chunk predictions (`chunk_predictions`).
            request_id: sent as X-Request-ID (letters, digits, ``._-``, up to 64) and echoed.
            timeout_s: deadline for the gateway, sent as X-Request-Timeout.

        Returns:
            The ClassifyResponse body as a dict.
        """
        return self._result(self._classify_call(narrative, include_chunks, request_id, timeout_s))

    def classify_batch(
        self,
        narratives: Narratives,
        *,
        include_chunks: bool = False,
        request_id: str | None = None,
        timeout_s: float | None = None,
    ) -> dict[str, Any]:
        """Classifies several narratives in one request (POST /classifier/classify/batch).

        Args:
            narratives: strings, or mappings with ``narrative`` and an optional ``id`` that the
                gateway echoes in each result.

        Returns:
            The BatchResponse body: ``{request_id, count, results: [{id, result}], ...}``, with
            results in input order. One invalid item fails the whole batch.
        """
        return self._result(self._batch_call(narratives, include_chunks, request_id, timeout_s))

    def info(self) -> dict[str, Any]:
        """Model, chunking and limits (GET /classifier/info)."""
        return self._result(self._info_call())

    def health(self) -> dict[str, Any]:
        """Per-model health (GET /health/models): ``{status: ok|degraded, models: {...}}``."""
        return self._result(self._health_call())

    def ready(self) -> bool:
        """True when the gateway can classify now (GET /readyz answers 200). A gateway that
        cannot be reached is not ready: False, no exception."""
        try:
            response = self._http.get("/readyz")
        except httpx.TransportError:
            return False
        return response.status_code == 200

    def stream(
        self,
        segments: Iterable[str],
        *,
        include_chunks: bool = False,
        request_id: str | None = None,
        acks: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """Streams a live-call transcript over the HTTP session API, segment by segment
        (POST /classifier/sessions, .../segments, .../close).

        Yields events as they come: ``session`` first, then per segment an ``alert`` (the
        session's single escalation alert, when raised) and an ``update`` when the classified
        windows changed (an ``ack`` otherwise, with ``acks=True``), and ``final`` last: the
        result of the whole transcript, equal to `classify` on it. Segments carry their own
        spaces; `split_transcript` makes them. Stopping early, or an error, deletes the session.
        """
        created = self._result(self._open_session_call(include_chunks, request_id))
        session_id = created["session_id"]
        finished = False
        try:
            yield created
            for seq, text in enumerate(segments):
                body = self._result(self._segment_call(session_id, seq, text))
                yield from segment_events(session_id, body, acks)
            final = self._result(self._close_session_call(session_id))
            finished = True
            yield from final_events(final)
        finally:
            if not finished:
                with contextlib.suppress(TriageError):
                    self._send(self._delete_session_call(session_id))


class AsyncTriageClient(ClientBase):
    """Asynchronous client with the same methods and options as `TriageClient`; use as an async
    context manager or await `close()`."""

    _http: httpx.AsyncClient

    def _make_http(self, headers: dict[str, str]) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base_url, headers=headers, timeout=self.http_timeout_s
        )

    async def __aenter__(self) -> AsyncTriageClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def _send(self, call: Call) -> httpx.Response:
        started = time.monotonic()
        attempt = 0
        while True:
            try:
                response = await self._http.request(
                    call.method,
                    call.path,
                    json=call.body,
                    headers=call.headers,
                    timeout=call.timeout_s,
                )
            except httpx.TransportError as exc:
                raise call.connection_error(exc) from exc
            wait = self._retry_wait(response, attempt, started)
            if wait is None:
                return response
            await asyncio.sleep(wait)
            attempt += 1

    async def _result(self, call: Call) -> dict[str, Any]:
        return json_body(await self._send(call))

    async def classify(
        self,
        narrative: str,
        *,
        include_chunks: bool = False,
        request_id: str | None = None,
        timeout_s: float | None = None,
    ) -> dict[str, Any]:
        """Classifies one narrative; see `TriageClient.classify`."""
        call = self._classify_call(narrative, include_chunks, request_id, timeout_s)
        return await self._result(call)

    async def classify_batch(
        self,
        narratives: Narratives,
        *,
        include_chunks: bool = False,
        request_id: str | None = None,
        timeout_s: float | None = None,
    ) -> dict[str, Any]:
        """Classifies several narratives in one request; see `TriageClient.classify_batch`."""
        call = self._batch_call(narratives, include_chunks, request_id, timeout_s)
        return await self._result(call)

    async def info(self) -> dict[str, Any]:
        """Model, chunking and limits (GET /classifier/info)."""
        return await self._result(self._info_call())

    async def health(self) -> dict[str, Any]:
        """Per-model health (GET /health/models)."""
        return await self._result(self._health_call())

    async def ready(self) -> bool:
        """True when GET /readyz answers 200; False otherwise, including when unreachable."""
        try:
            response = await self._http.get("/readyz")
        except httpx.TransportError:
            return False
        return response.status_code == 200

    async def stream(
        self,
        segments: Iterable[str] | AsyncIterable[str],
        *,
        include_chunks: bool = False,
        request_id: str | None = None,
        acks: bool = False,
    ) -> AsyncIterator[dict[str, Any]]:
        """Streams a live-call transcript over one WebSocket (/classifier/stream); segments may
        come from an async iterator (e.g. an ASR feed). Yields the same events as
        `TriageClient.stream`; an error event raises `TriageAPIError` and ends the session.
        """
        try:
            from websockets.asyncio.client import connect
            from websockets.exceptions import InvalidStatus, WebSocketException
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise TriageError("streaming over WebSocket needs the `websockets` package") from exc
        url = self._websocket_url(include_chunks)
        try:
            socket = await connect(
                url,
                additional_headers=self._websocket_headers(request_id),
                open_timeout=self.http_timeout_s,
                max_size=None,
            )
        except InvalidStatus as exc:
            refusal = exc.response
            raise refusal_error(
                refusal.status_code, list(refusal.headers.raw_items()), refusal.body or b""
            ) from None
        except (OSError, TimeoutError, WebSocketException) as exc:
            raise TriageConnectionError(f"WebSocket {url}: {exc!r}") from exc

        async def receive() -> dict[str, Any]:
            try:
                raw = await asyncio.wait_for(socket.recv(), self.http_timeout_s)
            except (OSError, TimeoutError, WebSocketException) as exc:
                raise TriageConnectionError(f"WebSocket {url}: {exc!r}") from exc
            return stream_event(raw)

        async with socket:
            yield await receive()
            seq = 0
            async for text in _as_async(segments):
                await socket.send(segment_message(seq, text))
                while True:
                    event = await receive()
                    if event["type"] != "ack" or acks:
                        yield event
                    if event["type"] in SEGMENT_REPLIES:
                        break
                seq += 1
            await socket.send(CLOSE_MESSAGE)
            while True:
                event = await receive()
                yield event
                if event["type"] == "final":
                    return
