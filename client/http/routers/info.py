"""What is served and whether it works: model info, per-model health, orchestrator probes
and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from client.core.service import ClassifierService
from client.http import schemas
from client.http.errors import error_response
from client.http.request_ids import request_id_of
from client.http.responses import health_body, info_body

router = APIRouter()


@router.get("/classifier/info", response_model=schemas.InfoResponse)
async def info(request: Request):
    return info_body(request.app.state.service)


@router.get("/health/models", response_model=schemas.HealthResponse)
async def health_models(request: Request):
    service: ClassifierService = request.app.state.service
    await service.refresh()
    return health_body(service)


@router.get("/livez")
async def livez():
    return {"status": "alive"}


@router.get("/readyz", responses={503: {"model": schemas.ErrorResponse}})
async def readyz(request: Request):
    service: ClassifierService = request.app.state.service
    if not service.is_ready():
        await service.refresh()
    if service.is_ready():
        return {"status": "ready", "model_version": service.bundle.version}
    return error_response(
        503,
        "NOT_READY",
        "the model is not ready",
        request_id_of(request),
        detail=service.bundle_error,
        headers={"Retry-After": "5"},
    )


@router.get("/metrics", response_class=PlainTextResponse)
async def prometheus_metrics(request: Request):
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
