"""The one error shape, for REST answers and WebSocket events:
{error: {error_code, message, detail, field, timestamp}, status: "error", request_id}
(WebSocket events add `type: "error"`, `http_status` and `retry_after_s`).

Messages never echo the input that was refused: it may be narrative text.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Scope

from client.core.errors import GatewayError, ValidationFailed
from client.core.timestamps import now_iso
from client.http import schemas
from client.http.request_ids import request_id_of

# Starlette's HTTP errors -> the API's error codes.
_HTTP_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE"}
_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
# pydantic quotes the offending value in these messages: replaced, as the value may be text.
_QUOTING_ERRORS = {"union_tag_invalid": ("type must be 'segment' or 'close'", "type")}


class InvalidJson(GatewayError):
    status = 400
    code = "INVALID_JSON"


def error_detail(
    code: str, message: str, *, detail: str | None = None, field: str | None = None
) -> schemas.ErrorDetail:
    return schemas.ErrorDetail(
        error_code=code, message=message, detail=detail, field=field, timestamp=now_iso()
    )


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
        error=error_detail(code, message, detail=detail, field=field), request_id=request_id
    )
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def gateway_error_response(
    exc: GatewayError, request_id: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """`exc` as an HTTP answer: its status and code, Retry-After when it has one, and the
    Bearer challenge on a 401."""
    headers = dict(headers or {})
    if exc.retry_after_s:
        headers["Retry-After"] = str(exc.retry_after_s)
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return error_response(
        exc.status,
        exc.code,
        exc.message,
        request_id,
        detail=exc.detail,
        field=exc.field,
        headers=headers or None,
    )


def error_event(exc: GatewayError, request_id: str) -> dict[str, Any]:
    """`exc` as a WebSocket event."""
    return schemas.ErrorEvent(
        error=error_detail(exc.code, exc.message, detail=exc.detail, field=exc.field),
        request_id=request_id,
        http_status=exc.status,
        retry_after_s=exc.retry_after_s,
    ).model_dump(mode="json")


def message_validation_error(exc: ValidationError) -> GatewayError:
    """A WebSocket message that does not validate, as a 422 error event."""
    first = exc.errors()[0] if exc.errors() else {}
    field = ".".join(str(p) for p in first.get("loc", ())) or None
    message = str(first.get("msg", "invalid message"))
    message, field = _QUOTING_ERRORS.get(str(first.get("type")), (message, field))
    return ValidationFailed(message, field=field)


def _request_validation_message(exc: RequestValidationError) -> tuple[str, str | None, str]:
    errors = exc.errors()
    first = errors[0] if errors else {}
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    field = ".".join(loc) or None
    kind = first.get("type", "")
    if kind == "json_invalid":
        return "request body is not valid JSON", None, "INVALID_JSON"
    message = str(first.get("msg", "invalid request"))
    return message, field, "VALIDATION_ERROR"


def _allowed_methods(app: FastAPI, scope: Scope) -> str:
    """Every method some route takes on this path: Starlette's 405 names only the first
    route's (GET and DELETE of one path are two routes). Each method is tried against the
    app's routes, included routers too."""
    allowed = []
    for method in _METHODS:
        probe = {**scope, "method": method}
        if any(route.matches(probe)[0] == Match.FULL for route in app.router.routes):
            allowed.append(method)
    return ", ".join(allowed)


async def _gateway_error(request: Request, exc: GatewayError) -> JSONResponse:
    request.app.state.metrics.errors.labels(exc.code).inc()
    return gateway_error_response(exc, request_id_of(request))


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    message, field, code = _request_validation_message(exc)
    request.app.state.metrics.errors.labels(code).inc()
    status = 400 if code == "INVALID_JSON" else 422
    return error_response(status, code, message, request_id_of(request), field=field)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = _HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
    request.app.state.metrics.errors.labels(code).inc()
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request.app, request.scope)
    return error_response(
        exc.status_code, code, str(exc.detail), request_id_of(request), headers=headers or None
    )


def install_error_handlers(app: FastAPI) -> None:
    """Core errors, request validation and Starlette's own HTTP errors all leave in the one
    shape, each counted in `errors` by code (the metrics are `app.state.metrics`)."""
    app.add_exception_handler(GatewayError, _gateway_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
