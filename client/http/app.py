"""The app factory: one `ClassifierService` (and the live-call session manager) over a model
runner, the routers of `client.http.routers`, middleware and error handlers.

Routers find the service, settings and metrics in `app.state`; nothing imports this module
but the entry points (`client.http.serve`, `client.http.openapi`, `stack.local`) and tests.
Every error leaves in one shape (`client.http.errors`). Bodies over the limit are refused
before they are read (`client.http.middleware`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from client.core.metrics import GatewayMetrics
from client.core.service import ClassifierService
from client.core.settings import GatewaySettings
from client.http.auth import ApiKeyMiddleware
from client.http.errors import install_error_handlers
from client.http.middleware import (
    BodyLimitMiddleware,
    RequestLimitMiddleware,
    StreamedBodyLimitMiddleware,
    observe,
)
from client.http.routers import classify, info, streaming
from client.streaming.alerts import build_notifier
from client.streaming.metrics import StreamMetrics
from client.streaming.sessions import SessionManager
from client.triton.replicas import ReplicaPool
from client.triton.runner import ModelRunner


def build_runner(settings: GatewaySettings) -> ReplicaPool:
    return ReplicaPool.from_settings(settings)


def create_app(
    settings: GatewaySettings | None = None, runner: ModelRunner | None = None
) -> FastAPI:
    settings = settings or GatewaySettings()
    metrics = GatewayMetrics()
    runner = runner or build_runner(settings)
    service = ClassifierService(settings, runner)
    stream_metrics = StreamMetrics(metrics.registry)
    sessions = SessionManager(
        service,
        settings,
        metrics=stream_metrics,
        notifier=build_notifier(settings, stream_metrics),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await service.start()
        try:
            sessions.start()
            try:
                yield
            finally:
                await sessions.stop()  # before the service stops: ends and frees all sessions
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
    app.state.stream_sessions = sessions

    for router in (classify.router, info.router, streaming.router):
        app.include_router(router)
    install_error_handlers(app)
    _document_limits_of(app, settings)

    # Added first = innermost, below `observe` (StreamedBodyLimitMiddleware says why).
    app.add_middleware(StreamedBodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.middleware("http")(observe)
    # Added last = runs first: the body limit and request id come before authentication.
    app.add_middleware(ApiKeyMiddleware, keys=settings.api_keys)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        RequestLimitMiddleware,
        max_requests=settings.max_requests,
        on_reject=metrics.errors.labels("OVERLOADED").inc,
    )
    return app


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
