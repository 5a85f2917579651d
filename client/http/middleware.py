"""Middleware around every REST request: request limit, body limit and request id, and the
observation of each request (metrics, request id header, unexpected errors). API-key
authentication, which the WebSocket shares, is in `client.http.auth`.

Order, outermost first (`client.http.app.create_app` adds them): `RequestLimitMiddleware`,
`BodyLimitMiddleware`, `ApiKeyMiddleware`, `observe`, `StreamedBodyLimitMiddleware`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from fastapi import Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from client.http.errors import error_response
from client.http.request_ids import REQUEST_ID_HEADER, request_id_from_headers, request_id_of

log = logging.getLogger("triage.api")

# Orchestrator probes and Prometheus: never refused for load, never asked for a key.
PROBE_PATHS = frozenset({"/livez", "/readyz", "/metrics"})


def headers_of(scope: Scope) -> dict[bytes, bytes]:
    """The scope's raw headers by lower-case name (ASGI sends them lower-cased)."""
    return dict(scope.get("headers") or [])


class HttpMiddleware:
    """Pure ASGI middleware that acts on HTTP requests only: WebSocket and lifespan scopes,
    requests to `PASS_PATHS`, and everything while `active()` is false go straight to the
    app. Subclasses implement `handle`."""

    PASS_PATHS: frozenset[str] = frozenset()

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def active(self) -> bool:
        return True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.PASS_PATHS or not self.active():
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class BodyLimitMiddleware(HttpMiddleware):
    """413 before reading a body whose declared Content-Length is over the limit (before
    authentication); also puts the request id in the scope. Bodies without a length
    (`Transfer-Encoding: chunked`) are counted by `StreamedBodyLimitMiddleware`."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = headers_of(scope)
        declared = headers.get(b"content-length")
        request_id = request_id_from_headers(headers)
        scope.setdefault("state", {})["request_id"] = request_id
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                too_big = True
            if too_big:
                response = error_response(
                    413,
                    "PAYLOAD_TOO_LARGE",
                    _too_large_message(self.max_bytes),
                    request_id,
                    headers={REQUEST_ID_HEADER: request_id, "Connection": "close"},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class StreamedBodyLimitMiddleware(HttpMiddleware):
    """Counts the body as the app reads it; the read that passes the limit raises
    `BodyTooLarge`, so nothing past it is read and the route answers 413.

    It must sit inside `observe` (the innermost user middleware): that one reads `receive`
    in a task group, which would wrap the exception in an ExceptionGroup, and FastAPI
    answers any body-reading error but an HTTPException with 400."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, counting_receive, send)


class BodyTooLarge(StarletteHTTPException):
    """An HTTPException so that FastAPI's body parsing lets it through to the app's handler
    (error shape, 413). The rest of the body is never read, so the connection is closed."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, _too_large_message(max_bytes), headers={"Connection": "close"})


def _too_large_message(max_bytes: int) -> str:
    return f"request body is larger than {max_bytes} bytes"


class RequestLimitMiddleware(HttpMiddleware):
    """At most `max_requests` HTTP requests inside the gateway at once; beyond it a fast 429
    before the body is read, so that the work waiting in front of the service stays bounded
    and an overloaded gateway answers quickly instead of late. Probes and metrics pass."""

    PASS_PATHS = PROBE_PATHS

    def __init__(
        self, app: ASGIApp, max_requests: int, on_reject: Callable[[], None] = lambda: None
    ) -> None:
        super().__init__(app)
        self.max_requests = max_requests
        self.on_reject = on_reject
        self.active_requests = 0  # one event loop: a plain int

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.active_requests >= self.max_requests:
            self.on_reject()
            request_id = request_id_from_headers(headers_of(scope))
            response = error_response(
                429,
                "OVERLOADED",
                f"{self.active_requests} requests in progress (limit {self.max_requests})",
                request_id,
                headers={REQUEST_ID_HEADER: request_id, "Retry-After": "1"},
            )
            await response(scope, receive, send)
            return
        self.active_requests += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active_requests -= 1


async def observe(request: Request, call_next: Callable[[Request], Awaitable[Response]]):
    """Counts and times every request by route, answers an unexpected exception with a 500 in
    the error shape (and logs only its type), and sets the request id header."""
    metrics = request.app.state.metrics
    request_id = request_id_of(request)
    started = time.perf_counter()
    metrics.in_flight.inc()
    try:
        response = await call_next(request)
    except Exception as exc:  # noqa: BLE001 - answered here so no traceback is logged
        # Type only: a traceback or message could quote narrative text.
        log.error("request_id=%s unexpected %s", request_id, type(exc).__name__)
        metrics.errors.labels("INTERNAL_ERROR").inc()
        response = error_response(500, "INTERNAL_ERROR", "unexpected error", request_id)
    finally:
        metrics.in_flight.dec()
    route = request.scope.get("route")
    endpoint = route.path if route is not None else "unmatched"
    metrics.requests.labels(endpoint, str(response.status_code)).inc()
    metrics.latency.labels(endpoint).observe(time.perf_counter() - started)
    response.headers[REQUEST_ID_HEADER] = request_id
    if request.app.state.service.draining:
        # Stop clients reusing this connection: at shutdown an idle keep-alive
        # connection is closed, and a request racing onto it would see a reset.
        response.headers["Connection"] = "close"
    if response.status_code >= 400:
        log.info("request_id=%s endpoint=%s status=%d", request_id, endpoint, response.status_code)
    return response
