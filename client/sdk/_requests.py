"""What the sync and async clients share (as tritonclient's `http/` and `http/aio/` share
`_utils`): options, one request builder per API call, the retry rule, and one mapping from
answers to results or errors. The clients in `client.sdk.clients` only move bytes."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from client.sdk.errors import (
    REQUEST_ID_HEADER,
    TriageAPIError,
    TriageConnectionError,
    retry_after_s,
)

DEFAULT_URL = "http://127.0.0.1:8123"
TIMEOUT_HEADER = "X-Request-Timeout"
RETRY_STATUSES = frozenset({429, 503})
# Extra client-side wait past a per-request deadline, so the gateway's structured 504 arrives
# before httpx gives up on its own.
_DEADLINE_GRACE_S = 2.0
_USER_AGENT = "helpline-triage-sdk/0.1"
# Replies that end the exchange for one segment on the WebSocket.
SEGMENT_REPLIES = frozenset({"update", "ack", "error"})

Narratives = Sequence[str] | Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class Call:
    """One HTTP request, ready for either transport."""

    method: str
    path: str
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    timeout_s: float | None = None  # client-side limit of one attempt; None: the client's

    def connection_error(self, exc: Exception) -> TriageConnectionError:
        return TriageConnectionError(f"{self.method} {self.path}: {exc!r}")


class ClientBase:
    """Configuration and every part of a call that does not depend on sync vs async."""

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

    # --- requests ----------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        request_id: str | None = None,
        timeout_s: float | None = None,
    ) -> Call:
        """A request with its per-call headers (request id, gateway deadline) and the
        client-side timeout that leaves the gateway time to answer past its deadline."""
        headers: dict[str, str] = {}
        if request_id is not None:
            headers[REQUEST_ID_HEADER] = request_id
        if timeout_s is None:
            return Call(method, path, body, headers, self.http_timeout_s)
        if timeout_s <= 0:
            raise ValueError("timeout_s must be > 0")
        headers[TIMEOUT_HEADER] = str(timeout_s)
        return Call(
            method, path, body, headers, max(self.http_timeout_s, timeout_s + _DEADLINE_GRACE_S)
        )

    def _classify_call(
        self,
        narrative: str,
        include_chunks: bool,
        request_id: str | None,
        timeout_s: float | None,
    ) -> Call:
        body = {"narrative": narrative, "include_chunks": include_chunks}
        return self._call(
            "POST", "/classifier/classify", body, request_id=request_id, timeout_s=timeout_s
        )

    def _batch_call(
        self,
        narratives: Narratives,
        include_chunks: bool,
        request_id: str | None,
        timeout_s: float | None,
    ) -> Call:
        body = {"items": _batch_items(narratives), "include_chunks": include_chunks}
        return self._call(
            "POST", "/classifier/classify/batch", body, request_id=request_id, timeout_s=timeout_s
        )

    def _info_call(self) -> Call:
        return self._call("GET", "/classifier/info")

    def _health_call(self) -> Call:
        return self._call("GET", "/health/models")

    def _open_session_call(self, include_chunks: bool, request_id: str | None) -> Call:
        body = {"include_chunks": include_chunks}
        return self._call("POST", "/classifier/sessions", body, request_id=request_id)

    def _segment_call(self, session_id: str, seq: int, text: str) -> Call:
        body = {"text": text, "seq": seq}
        return self._call("POST", f"{_session_path(session_id)}/segments", body)

    def _close_session_call(self, session_id: str) -> Call:
        return self._call("POST", f"{_session_path(session_id)}/close")

    def _delete_session_call(self, session_id: str) -> Call:
        return self._call("DELETE", _session_path(session_id))

    def _websocket_url(self, include_chunks: bool) -> str:
        scheme, rest = self.base_url.split("://", 1)
        ws_scheme = {"http": "ws", "https": "wss"}.get(scheme, scheme)
        query = "?include_chunks=true" if include_chunks else ""
        return f"{ws_scheme}://{rest}/classifier/stream{query}"

    def _websocket_headers(self, request_id: str | None) -> dict[str, str]:
        headers = {k: v for k, v in self._headers.items() if k != "Accept"}
        if request_id is not None:
            headers[REQUEST_ID_HEADER] = request_id
        return headers

    # --- answers -----------------------------------------------------------------------

    def _retry_wait(self, response: httpx.Response, attempt: int, started: float) -> float | None:
        """Seconds to wait before the next attempt, or None to give up with this response."""
        if response.status_code not in RETRY_STATUSES or attempt >= self.max_retries:
            return None
        wait = retry_after_s(response)
        if wait is None:
            wait = self.backoff_s * 2**attempt
        # Waiting past the budget only to fail later is worse than failing now.
        if time.monotonic() - started + wait > self.max_retry_time_s:
            return None
        return wait


def _session_path(session_id: str) -> str:
    return f"/classifier/sessions/{session_id}"


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


def json_body(response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON body, or the error it carries."""
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


def segment_events(session_id: str, body: dict[str, Any], acks: bool) -> list[dict]:
    """A segment's HTTP answer as the events the WebSocket would have sent."""
    events = [body["alert"]] if body.get("alert") else []
    if body.get("update"):
        events.append(body["update"])
    elif acks:
        events.append(
            {"type": "ack", "session_id": session_id, "seq": body["seq"], "stats": body["stats"]}
        )
    return events


def final_events(final: dict[str, Any]) -> list[dict]:
    alert = final.get("alert")
    # An alert raised only by the final result (seq -1) has not been seen yet.
    return ([alert] if alert and alert.get("seq") == -1 else []) + [final]


def segment_message(seq: int, text: str) -> str:
    return json.dumps({"type": "segment", "text": text, "seq": seq})


CLOSE_MESSAGE = json.dumps({"type": "close"})


def stream_event(raw: str | bytes) -> dict[str, Any]:
    """A WebSocket message as an event; an error event raises its `TriageAPIError`."""
    event = json.loads(raw)
    if event.get("type") == "error":
        raise TriageAPIError.from_event(event)
    return event


def refusal_error(status: int, headers: list[tuple[str, str]], body: bytes) -> TriageAPIError:
    """A refused WebSocket handshake (an HTTP answer with the error body)."""
    return TriageAPIError.from_response(httpx.Response(status, headers=headers, content=body))
