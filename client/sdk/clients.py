"""Python SDK for the triage gateway: `TriageClient` (sync) and `AsyncTriageClient` (async).

    with TriageClient("http://127.0.0.1:8123") as client:
        result = client.classify("A 12-year-old girl reported ...")
        print(result["main_category"], result["priority"])

Results are the gateway's JSON bodies as plain dicts (see `client/http/schemas.py`). Failures raise
`TriageAPIError` (the gateway answered with an error) or `TriageConnectionError` (no answer).
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
import json
import re
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping, Sequence
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

DEFAULT_URL = "http://127.0.0.1:8123"
REQUEST_ID_HEADER = "X-Request-ID"
TIMEOUT_HEADER = "X-Request-Timeout"
RETRY_STATUSES = frozenset({429, 503})
# Extra client-side wait past a per-request deadline, so the gateway's structured 504 arrives
# before httpx gives up on its own.
_DEADLINE_GRACE_S = 2.0
_USER_AGENT = "helpline-triage-sdk/0.1"

Narratives = Sequence[str] | Sequence[Mapping[str, Any]]
SPLITS = ("word", "sentence", "line")
# A word and the whitespace after it; a sentence up to its end mark (closing quotes or brackets
# included) and the whitespace after it, or up to a line break, or to the end.
_WORD = re.compile(r"\s*\S+\s*|\s+")
_SENTENCE = re.compile(r"[^\n]*?(?:[.!?…]+[\"')\]’”»]*(?=\s|$)|\n|$)\s*")
# Replies that end the exchange for one segment on the WebSocket.
_SEGMENT_REPLIES = frozenset({"update", "ack", "error"})


def split_transcript(text: str, by: str = "sentence") -> list[str]:
    """Segments of `text` by word, sentence or line; they concatenate back to `text` exactly,
    which is what the gateway classifies."""
    if by == "word":
        pieces = _WORD.findall(text)
    elif by == "sentence":
        pieces = [p for p in _SENTENCE.findall(text) if p]
    elif by == "line":
        pieces = text.splitlines(keepends=True)
    else:
        raise ValueError(f"by must be one of {SPLITS}, got {by!r}")
    if "".join(pieces) != text:  # a guard on the patterns: never stream another text
        raise AssertionError("segments do not concatenate to the transcript")
    return pieces


class TriageError(Exception):
    """Base of every error the SDK raises."""


class TriageConnectionError(TriageError):
    """The gateway could not be reached, or did not answer in time."""


class TriageAPIError(TriageError):
    """The gateway answered with an error status; fields come from its structured error body."""

    def __init__(
        self,
        status: int,
        error_code: str,
        message: str,
        detail: str | None = None,
        field: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.detail = detail
        self.field = field
        self.request_id = request_id
        self.retry_after = retry_after

    @classmethod
    def from_response(cls, response: httpx.Response) -> TriageAPIError:
        """Parses the gateway's error body; a body that is not one (a proxy's HTML page, say)
        still gives an error with the status and a generic code."""
        header_id = response.headers.get(REQUEST_ID_HEADER)
        retry_after = _retry_after(response)
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict) and "error_code" in error:
            return cls(
                response.status_code,
                str(error["error_code"]),
                str(error.get("message") or ""),
                detail=error.get("detail"),
                field=error.get("field"),
                request_id=body.get("request_id") or header_id,
                retry_after=retry_after,
            )
        return cls(
            response.status_code,
            f"HTTP_{response.status_code}",
            response.reason_phrase or "error",
            detail=response.text[:200] or None,
            request_id=header_id,
            retry_after=retry_after,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "error_code": self.error_code,
            "message": self.message,
            "detail": self.detail,
            "field": self.field,
            "request_id": self.request_id,
        }


def _retry_after(response: httpx.Response) -> float | None:
    """Retry-After as seconds (either form HTTP allows: delta-seconds or an HTTP date)."""
    raw = response.headers.get("Retry-After")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(raw).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _batch_items(narratives: Narratives) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for entry in narratives:
        if isinstance(entry, str):
            items.append({"narrative": entry})
        elif isinstance(entry, Mapping) and "narrative" in entry:
            item = {"narrative": entry["narrative"]}
            if entry.get("id") is not None:
                item["id"] = entry["id"]
            items.append(item)
        else:
            raise TypeError("each batch entry must be a str or a mapping with a `narrative` key")
    return items


def _json_body(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 400:
        raise TriageAPIError.from_response(response)
    try:
        body = response.json()
    except ValueError:
        raise TriageAPIError(
            response.status_code,
            "INVALID_RESPONSE",
            "the gateway answered with a body that is not JSON",
            request_id=response.headers.get(REQUEST_ID_HEADER),
        ) from None
    return body


class _ClientBase:
    """Configuration and the parts of a call that do not depend on sync vs async."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        api_key: str | None = None,
        http_timeout_s: float = 60.0,
        max_retries: int = 0,
        max_retry_time_s: float = 60.0,
        backoff_s: float = 0.5,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.base_url = base_url.rstrip("/")
        self.http_timeout_s = http_timeout_s
        self.max_retries = max_retries
        self.max_retry_time_s = max_retry_time_s
        self.backoff_s = backoff_s
        headers = {"User-Agent": _USER_AGENT, "Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._headers = headers
        self._http = self._make_http(headers)

    def _make_http(self, headers: dict[str, str]) -> Any:
        raise NotImplementedError

    def _call_options(
        self, request_id: str | None, timeout_s: float | None
    ) -> tuple[dict[str, str], float]:
        """Headers and client-side timeout for one call."""
        headers: dict[str, str] = {}
        if request_id is not None:
            headers[REQUEST_ID_HEADER] = request_id
        if timeout_s is None:
            return headers, self.http_timeout_s
        if timeout_s <= 0:
            raise ValueError("timeout_s must be > 0")
        headers[TIMEOUT_HEADER] = str(timeout_s)
        return headers, max(self.http_timeout_s, timeout_s + _DEADLINE_GRACE_S)

    def _retry_wait(self, response: httpx.Response, attempt: int, started: float) -> float | None:
        """Seconds to wait before the next attempt, or None to give up with this response."""
        if response.status_code not in RETRY_STATUSES or attempt >= self.max_retries:
            return None
        wait = _retry_after(response)
        if wait is None:
            wait = self.backoff_s * 2**attempt
        # Waiting past the budget only to fail later is worse than failing now.
        if time.monotonic() - started + wait > self.max_retry_time_s:
            return None
        return wait

    @staticmethod
    def _classify_body(narrative: str, include_chunks: bool) -> dict[str, Any]:
        return {"narrative": narrative, "include_chunks": include_chunks}

    @staticmethod
    def _batch_body(narratives: Narratives, include_chunks: bool) -> dict[str, Any]:
        return {"items": _batch_items(narratives), "include_chunks": include_chunks}

    @staticmethod
    def _segment_events(session_id: str, body: dict[str, Any], acks: bool) -> list[dict]:
        """A segment's HTTP answer as the events the WebSocket would have sent."""
        events = [body["alert"]] if body.get("alert") else []
        if body.get("update"):
            events.append(body["update"])
        elif acks:
            events.append(
                {
                    "type": "ack",
                    "session_id": session_id,
                    "seq": body["seq"],
                    "stats": body["stats"],
                }
            )
        return events

    @staticmethod
    def _final_events(final: dict[str, Any]) -> list[dict]:
        alert = final.get("alert")
        # An alert raised only by the final result (seq -1) has not been seen yet.
        return ([alert] if alert and alert.get("seq") == -1 else []) + [final]


def _error_from_event(event: Mapping[str, Any]) -> TriageAPIError:
    error = event.get("error") or {}
    return TriageAPIError(
        int(event.get("http_status") or 0),
        str(error.get("error_code") or "STREAM_ERROR"),
        str(error.get("message") or ""),
        detail=error.get("detail"),
        field=error.get("field"),
        request_id=event.get("request_id"),
        retry_after=event.get("retry_after_s"),
    )


def _websocket_url(base_url: str, include_chunks: bool) -> str:
    scheme, rest = base_url.split("://", 1)
    ws_scheme = {"http": "ws", "https": "wss"}.get(scheme, scheme)
    query = "?include_chunks=true" if include_chunks else ""
    return f"{ws_scheme}://{rest}/classifier/stream{query}"


async def _as_async(segments: Iterable[str] | AsyncIterable[str]) -> AsyncIterator[str]:
    if isinstance(segments, AsyncIterable):
        async for segment in segments:
            yield segment
    else:
        for segment in segments:
            yield segment


class TriageClient(_ClientBase):
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

    def _send(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        request_id: str | None = None,
        timeout_s: float | None = None,
    ) -> httpx.Response:
        headers, http_timeout = self._call_options(request_id, timeout_s)
        started = time.monotonic()
        attempt = 0
        while True:
            try:
                response = self._http.request(
                    method, path, json=body, headers=headers, timeout=http_timeout
                )
            except httpx.TransportError as exc:
                raise TriageConnectionError(f"{method} {path}: {exc!r}") from exc
            wait = self._retry_wait(response, attempt, started)
            if wait is None:
                return response
            time.sleep(wait)
            attempt += 1

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
        response = self._send(
            "POST",
            "/classifier/classify",
            body=self._classify_body(narrative, include_chunks),
            request_id=request_id,
            timeout_s=timeout_s,
        )
        return _json_body(response)

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
        response = self._send(
            "POST",
            "/classifier/classify/batch",
            body=self._batch_body(narratives, include_chunks),
            request_id=request_id,
            timeout_s=timeout_s,
        )
        return _json_body(response)

    def info(self) -> dict[str, Any]:
        """Model, chunking and limits (GET /classifier/info)."""
        return _json_body(self._send("GET", "/classifier/info"))

    def health(self) -> dict[str, Any]:
        """Per-model health (GET /health/models): ``{status: ok|degraded, models: {...}}``."""
        return _json_body(self._send("GET", "/health/models"))

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
        created = _json_body(
            self._send(
                "POST",
                "/classifier/sessions",
                body={"include_chunks": include_chunks},
                request_id=request_id,
            )
        )
        session_id = created["session_id"]
        path = f"/classifier/sessions/{session_id}"
        finished = False
        try:
            yield created
            for seq, text in enumerate(segments):
                body = _json_body(
                    self._send("POST", f"{path}/segments", body={"text": text, "seq": seq})
                )
                yield from self._segment_events(session_id, body, acks)
            final = _json_body(self._send("POST", f"{path}/close"))
            finished = True
            yield from self._final_events(final)
        finally:
            if not finished:
                with contextlib.suppress(TriageError):
                    self._send("DELETE", path)


class AsyncTriageClient(_ClientBase):
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

    async def _send(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        request_id: str | None = None,
        timeout_s: float | None = None,
    ) -> httpx.Response:
        headers, http_timeout = self._call_options(request_id, timeout_s)
        started = time.monotonic()
        attempt = 0
        while True:
            try:
                response = await self._http.request(
                    method, path, json=body, headers=headers, timeout=http_timeout
                )
            except httpx.TransportError as exc:
                raise TriageConnectionError(f"{method} {path}: {exc!r}") from exc
            wait = self._retry_wait(response, attempt, started)
            if wait is None:
                return response
            await asyncio.sleep(wait)
            attempt += 1

    async def classify(
        self,
        narrative: str,
        *,
        include_chunks: bool = False,
        request_id: str | None = None,
        timeout_s: float | None = None,
    ) -> dict[str, Any]:
        """Classifies one narrative; see `TriageClient.classify`."""
        response = await self._send(
            "POST",
            "/classifier/classify",
            body=self._classify_body(narrative, include_chunks),
            request_id=request_id,
            timeout_s=timeout_s,
        )
        return _json_body(response)

    async def classify_batch(
        self,
        narratives: Narratives,
        *,
        include_chunks: bool = False,
        request_id: str | None = None,
        timeout_s: float | None = None,
    ) -> dict[str, Any]:
        """Classifies several narratives in one request; see `TriageClient.classify_batch`."""
        response = await self._send(
            "POST",
            "/classifier/classify/batch",
            body=self._batch_body(narratives, include_chunks),
            request_id=request_id,
            timeout_s=timeout_s,
        )
        return _json_body(response)

    async def info(self) -> dict[str, Any]:
        """Model, chunking and limits (GET /classifier/info)."""
        return _json_body(await self._send("GET", "/classifier/info"))

    async def health(self) -> dict[str, Any]:
        """Per-model health (GET /health/models)."""
        return _json_body(await self._send("GET", "/health/models"))

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
        headers = {k: v for k, v in self._headers.items() if k != "Accept"}
        if request_id is not None:
            headers[REQUEST_ID_HEADER] = request_id
        url = _websocket_url(self.base_url, include_chunks)
        try:
            socket = await connect(
                url, additional_headers=headers, open_timeout=self.http_timeout_s, max_size=None
            )
        except InvalidStatus as exc:
            refusal = exc.response
            raise TriageAPIError.from_response(
                httpx.Response(
                    refusal.status_code,
                    headers=list(refusal.headers.raw_items()),
                    content=refusal.body or b"",
                )
            ) from None
        except (OSError, TimeoutError, WebSocketException) as exc:
            raise TriageConnectionError(f"WebSocket {url}: {exc!r}") from exc

        async def receive() -> dict[str, Any]:
            try:
                raw = await asyncio.wait_for(socket.recv(), self.http_timeout_s)
            except (OSError, TimeoutError, WebSocketException) as exc:
                raise TriageConnectionError(f"WebSocket {url}: {exc!r}") from exc
            event = json.loads(raw)
            if event.get("type") == "error":
                raise _error_from_event(event)
            return event

        async with socket:
            yield await receive()
            seq = 0
            async for text in _as_async(segments):
                await socket.send(json.dumps({"type": "segment", "text": text, "seq": seq}))
                while True:
                    event = await receive()
                    if event["type"] != "ack" or acks:
                        yield event
                    if event["type"] in _SEGMENT_REPLIES:
                        break
                seq += 1
            await socket.send(json.dumps({"type": "close"}))
            while True:
                event = await receive()
                yield event
                if event["type"] == "final":
                    return
