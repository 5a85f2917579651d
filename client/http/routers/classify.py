"""Classification: one narrative, a batch, and the built-in demo narrative."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request

from client.core.errors import InvalidInput, PayloadTooLarge
from client.core.metrics import GatewayMetrics
from client.core.service import Classification, ClassifierService
from client.core.settings import GatewaySettings
from client.http import schemas
from client.http.demo import DEMO_NARRATIVE
from client.http.request_ids import request_id_of
from client.http.responses import answer_body
from client.triton.runner import Priority

TIMEOUT_HEADER = "X-Request-Timeout"

router = APIRouter()

_ERROR_RESPONSES: dict[int | str, dict] = {
    status: {"model": schemas.ErrorResponse} for status in (400, 413, 422, 429, 502, 503, 504)
}


def _deadline(request: Request, settings: GatewaySettings) -> float:
    """Monotonic deadline of this request: the caller's `X-Request-Timeout`, at most (and by
    default) the configured request timeout."""
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


def _body(request: Request, c: Classification, include_chunks: bool) -> schemas.ClassifyResponse:
    metrics: GatewayMetrics = request.app.state.metrics
    metrics.observe_classification(c)
    return answer_body(c, include_chunks)


@router.post(
    "/classifier/classify", response_model=schemas.ClassifyResponse, responses=_ERROR_RESPONSES
)
async def classify(body: schemas.ClassifyRequest, request: Request):
    service: ClassifierService = request.app.state.service
    deadline = _deadline(request, request.app.state.settings)
    c = await service.classify(body.text, request_id_of(request), deadline, field=body.text_field)
    return _body(request, c, body.include_chunks)


@router.post(
    "/classifier/classify/batch",
    response_model=schemas.BatchResponse,
    responses=_ERROR_RESPONSES,
)
async def classify_batch(body: schemas.BatchRequest, request: Request):
    service: ClassifierService = request.app.state.service
    settings: GatewaySettings = request.app.state.settings
    request_id = request_id_of(request)
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
            schemas.BatchResult(id=item.id, result=_body(request, c, body.include_chunks))
            for item, c in zip(body.items, results, strict=True)
        ],
        processing_time=time.perf_counter() - started,
    )


@router.post(
    "/classifier/demo", response_model=schemas.ClassifyResponse, responses=_ERROR_RESPONSES
)
async def demo(request: Request):
    service: ClassifierService = request.app.state.service
    deadline = _deadline(request, request.app.state.settings)
    c = await service.classify(DEMO_NARRATIVE, request_id_of(request), deadline)
    return _body(request, c, include_chunks=True)
