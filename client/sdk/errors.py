"""The SDK's errors: `TriageAPIError` (the gateway answered with an error) and
`TriageConnectionError` (no answer), both `TriageError`."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

REQUEST_ID_HEADER = "X-Request-ID"


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
        retry_after = retry_after_s(response)
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

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> TriageAPIError:
        """A WebSocket error event (the error body plus `http_status` and `retry_after_s`)."""
        error = event.get("error") or {}
        return cls(
            int(event.get("http_status") or 0),
            str(error.get("error_code") or "STREAM_ERROR"),
            str(error.get("message") or ""),
            detail=error.get("detail"),
            field=error.get("field"),
            request_id=event.get("request_id"),
            retry_after=event.get("retry_after_s"),
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


def retry_after_s(response: httpx.Response) -> float | None:
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
