"""The REST API: a thin HTTP layer over `ClassifierService`.

Every error leaves in one shape: {error: {error_code, message, detail, field, timestamp},
status: "error", request_id}. Bodies over the limit are refused before they are read.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from client.core.errors import GatewayError, InvalidInput, PayloadTooLarge
from client.core.metrics import GatewayMetrics
from client.core.security import api_key_valid, presented_api_key
from client.core.service import Classification, ClassifierService
from client.core.settings import GatewaySettings
from client.http import schemas
from client.http.demo import DEMO_NARRATIVE
from client.http.responses import answer_body, health_body, info_body, now_iso
from client.triton.replicas import ReplicaPool
from client.triton.runner import ModelRunner, Priority

log = logging.getLogger("triage.api")
REQUEST_ID_HEADER = "X-Request-ID"
TIMEOUT_HEADER = "X-Request-Timeout"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def error_response(
    status: int,
    code: str,
    message: str,
    request_id: str,
    *,
    detail: str | None = None,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = schemas.ErrorResponse(
        error=schemas.ErrorDetail(
            error_code=code, message=message, detail=detail, field=field, timestamp=now_iso()
        ),
        request_id=request_id,
    )
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


class BodyLimitMiddleware:
    """413 before reading a body whose declared Content-Length is over the limit (first of
    all middleware, before authentication); also puts the request id in the scope.
    Bodies without a length (`Transfer-Encoding: chunked`) are counted by
    `StreamedBodyLimitMiddleware`."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        request_id = _request_id_from(headers.get(REQUEST_ID_HEADER.lower().encode()))
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


class StreamedBodyLimitMiddleware:
    """Counts the body as the app reads it; the read that passes the limit raises
    `BodyTooLarge`, so nothing past it is read and the route answers 413.

    It must sit inside the `http` middleware (the innermost user middleware): that one
    reads `receive` in a task group, which would wrap the exception in an ExceptionGroup,
    and FastAPI answers any body-reading error but an HTTPException with 400."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
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


class RequestLimitMiddleware:
    """At most `max_requests` HTTP requests inside the gateway at once; beyond it a fast 429
    before the body is read, so that the work waiting in front of the service stays bounded
    and an overloaded gateway answers quickly instead of late. Probes and metrics pass."""

    EXEMPT_PATHS = frozenset({"/livez", "/readyz", "/metrics"})

    def __init__(
        self, app: ASGIApp, max_requests: int, on_reject: Callable[[], None] = lambda: None
    ) -> None:
        self.app = app
        self.max_requests = max_requests
        self.on_reject = on_reject
        self.active = 0  # one event loop: a plain int

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        if self.active >= self.max_requests:
            self.on_reject()
            headers = dict(scope.get("headers") or [])
            request_id = _request_id_from(headers.get(REQUEST_ID_HEADER.lower().encode()))
            response = error_response(
                429,
                "OVERLOADED",
                f"{self.active} requests in progress (limit {self.max_requests})",
                request_id,
                headers={REQUEST_ID_HEADER: request_id, "Retry-After": "1"},
            )
            await response(scope, receive, send)
            return
        self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1


class ApiKeyMiddleware:
    """Optional authentication: `Authorization: Bearer KEY` or `X-API-Key: KEY`.

    401 when no key is sent, 403 for a wrong one (`client.core.security.api_key_valid`: constant
    time). Probes and metrics stay open for the orchestrator and Prometheus on the internal network.
    """

    OPEN_PATHS = frozenset({"/livez", "/readyz", "/metrics"})

    def __init__(self, app: ASGIApp, keys: list[str]) -> None:
        self.app = app
        self.keys = [k.encode() for k in keys]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.keys or scope["path"] in self.OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        presented = presented_api_key(headers)
        if presented and api_key_valid(presented, self.keys):
            await self.app(scope, receive, send)
            return
        request_id = (scope.get("state") or {}).get("request_id") or uuid.uuid4().hex
        if presented:
            response = error_response(403, "FORBIDDEN", "the API key is not valid", request_id)
        else:
            response = error_response(
                401,
                "UNAUTHORIZED",
                "an API key is required",
                request_id,
                headers={"WWW-Authenticate": "Bearer"},
            )
        await response(scope, receive, send)


def build_runner(settings: GatewaySettings) -> ReplicaPool:
    return ReplicaPool.from_settings(settings)


def _request_id_from(raw: bytes | None) -> str:
    if raw:
        candidate = raw.decode("latin-1")
        if _SAFE_ID.match(candidate):
            return candidate
    return uuid.uuid4().hex


def _request_id(request: Request) -> str:
    state = request.scope.get("state") or {}
    return state.get("request_id") or uuid.uuid4().hex


def _deadline(request: Request, settings: GatewaySettings) -> float:
    raw = request.headers.get(TIMEOUT_HEADER)
    timeout = settings.request_timeout_s
    if raw is not None:
        try:
            timeout = float(raw)
        except ValueError:
            raise InvalidInput(f"{TIMEOUT_HEADER} must be a number of seconds") from None
        if not 0 < timeout <= settings.request_timeout_s:
            raise InvalidInput(
                f"{TIMEOUT_HEADER} must be in (0, {settings.request_timeout_s:g}] seconds"
            )
    return time.monotonic() + timeout


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None, str]:
    errors = exc.errors()
    first = errors[0] if errors else {}
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    field = ".".join(loc) or None
    kind = first.get("type", "")
    if kind == "json_invalid":
        return "request body is not valid JSON", None, "INVALID_JSON"
    message = str(first.get("msg", "invalid request"))
    # Never echo `input`: it may be narrative text.
    return message, field, "VALIDATION_ERROR"


def create_app(
    settings: GatewaySettings | None = None, runner: ModelRunner | None = None
) -> FastAPI:
    settings = settings or GatewaySettings()
    metrics = GatewayMetrics()
    runner = runner or build_runner(settings)
    service = ClassifierService(settings, runner)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    app = FastAPI(
        title="Helpline triage gateway",
        version="1.0.0",
        description=(
            "Classifies child-helpline case narratives (main category, sub-category, "
            "intervention, priority) with a multi-task DistilBERT served by Triton."
        ),
        lifespan=lifespan,
    )
    metrics.narratives_in_flight.set_function(lambda: service.in_flight)
    app.state.service = service
    app.state.metrics = metrics
    app.state.settings = settings

    # Added first = innermost, below `observe` (StreamedBodyLimitMiddleware says why).
    app.add_middleware(StreamedBodyLimitMiddleware, max_bytes=settings.max_body_bytes)

    @app.middleware("http")
    async def observe(request: Request, call_next: Callable[[Request], Awaitable[Response]]):
        request_id = _request_id(request)
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
        if service.draining:
            # Stop clients reusing this connection: at shutdown an idle keep-alive
            # connection is closed, and a request racing onto it would see a reset.
            response.headers["Connection"] = "close"
        if response.status_code >= 400:
            log.info(
                "request_id=%s endpoint=%s status=%d", request_id, endpoint, response.status_code
            )
        return response

    @app.exception_handler(GatewayError)
    async def gateway_error(request: Request, exc: GatewayError) -> JSONResponse:
        metrics.errors.labels(exc.code).inc()
        headers = {"Retry-After": str(exc.retry_after_s)} if exc.retry_after_s else None
        return error_response(
            exc.status,
            exc.code,
            exc.message,
            _request_id(request),
            detail=exc.detail,
            field=exc.field,
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        message, field, code = _validation_message(exc)
        metrics.errors.labels(code).inc()
        status = 400 if code == "INVALID_JSON" else 422
        return error_response(status, code, message, _request_id(request), field=field)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
            404: "NOT_FOUND",
            405: "METHOD_NOT_ALLOWED",
            413: "PAYLOAD_TOO_LARGE",
        }.get(exc.status_code, "HTTP_ERROR")
        metrics.errors.labels(code).inc()
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(app, request.scope)
        return error_response(
            exc.status_code,
            code,
            str(exc.detail),
            _request_id(request),
            headers=headers or None,
        )

    def body_for(c: Classification, include_chunks: bool) -> schemas.ClassifyResponse:
        metrics.observe_classification(c)
        return answer_body(c, include_chunks)

    error_responses = {
        status: {"model": schemas.ErrorResponse} for status in (400, 413, 422, 429, 502, 503, 504)
    }

    @app.post(
        "/classifier/classify", response_model=schemas.ClassifyResponse, responses=error_responses
    )
    async def classify(body: schemas.ClassifyRequest, request: Request):
        request_id = _request_id(request)
        deadline = _deadline(request, settings)
        c = await service.classify(body.text, request_id, deadline, field=body.text_field)
        return body_for(c, body.include_chunks)

    @app.post(
        "/classifier/classify/batch",
        response_model=schemas.BatchResponse,
        responses=error_responses,
    )
    async def classify_batch(body: schemas.BatchRequest, request: Request):
        request_id = _request_id(request)
        if len(body.items) > settings.max_batch_items:
            raise PayloadTooLarge(
                f"batch has {len(body.items)} items; the limit is {settings.max_batch_items}",
                field="items",
            )
        deadline = _deadline(request, settings)
        started = time.perf_counter()
        # Bulk work (the CLI's file classification too): behind single classifications.
        results = await service.classify_many(
            [item.narrative for item in body.items],
            request_id,
            deadline,
            field="items",
            priority=Priority.LOW,
        )
        return schemas.BatchResponse(
            request_id=request_id,
            count=len(results),
            results=[
                schemas.BatchResult(id=item.id, result=body_for(c, body.include_chunks))
                for item, c in zip(body.items, results, strict=True)
            ],
            processing_time=time.perf_counter() - started,
        )

    @app.post(
        "/classifier/demo", response_model=schemas.ClassifyResponse, responses=error_responses
    )
    async def demo(request: Request):
        c = await service.classify(
            DEMO_NARRATIVE, _request_id(request), _deadline(request, settings)
        )
        return body_for(c, include_chunks=True)

    @app.get("/classifier/info", response_model=schemas.InfoResponse)
    async def info():
        return info_body(service)

    @app.get("/health/models", response_model=schemas.HealthResponse)
    async def health_models():
        await service.refresh()
        return health_body(service)

    @app.get("/livez")
    async def livez():
        return {"status": "alive"}

    @app.get("/readyz", responses={503: {"model": schemas.ErrorResponse}})
    async def readyz(request: Request):
        if not service.is_ready():
            await service.refresh()
        if service.is_ready():
            return {"status": "ready", "model_version": service.bundle.version}
        return error_response(
            503,
            "NOT_READY",
            "the model is not ready",
            _request_id(request),
            detail=service.bundle_error,
            headers={"Retry-After": "5"},
        )

    @app.get("/metrics", response_class=PlainTextResponse)
    async def prometheus_metrics():
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    # Imported here: client.http.streaming imports this module.
    from client.http.streaming import register_streaming_routes

    register_streaming_routes(app, service, settings, metrics)
    _document_limits_of(app, settings)

    # Added last = runs first: the body limit and request id come before authentication.
    app.add_middleware(ApiKeyMiddleware, keys=settings.api_keys)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        RequestLimitMiddleware,
        max_requests=settings.max_requests,
        on_reject=metrics.errors.labels("OVERLOADED").inc,
    )
    return app


def _allowed_methods(app: FastAPI, scope: Scope) -> str:
    """Every method of every route on this path: Starlette's 405 names only the first
    route's (GET and DELETE of one path are two routes)."""
    methods: set[str] = set()
    for route in app.router.routes:
        match, _ = route.matches(scope)
        if match == Match.PARTIAL and isinstance(route, BaseRoute):
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


def document_limits(document: dict[str, Any], settings: GatewaySettings) -> None:
    """Writes this gateway's size limits into its OpenAPI document, so that the document
    says exactly what is accepted (past a limit the answer is 413)."""
    components = document["components"]["schemas"]
    for model, field in (
        ("ClassifyRequest", "narrative"),
        ("ClassifyRequest", "text_transcript"),
        ("BatchItem", "narrative"),
    ):
        components[model]["properties"][field]["maxLength"] = settings.max_narrative_chars
    components["BatchRequest"]["properties"]["items"]["maxItems"] = settings.max_batch_items
    components["SegmentRequest"]["properties"]["text"]["maxLength"] = settings.stream_max_chars


def _document_limits_of(app: FastAPI, settings: GatewaySettings) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document_limits(generate(), settings)  # `generate` caches it on the app
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


def openapi_document(app: FastAPI) -> str:
    return json.dumps(app.openapi(), indent=2, sort_keys=True) + "\n"
