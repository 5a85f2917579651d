"""Live-call streaming over HTTP: a WebSocket session, and a plain-HTTP fallback.

WebSocket `/classifier/stream` (`?include_chunks=true` adds per-chunk predictions):

* server first sends `{"type": "session", "session_id", "request_id", ...}`;
* client sends `{"type": "segment", "text": str, "seq"?: int}`: the transcript is the exact
  concatenation of the segment texts, so a segment carries its own spaces and line breaks.
  Each segment gets exactly one reply, `update` (the windows classified changed) or `ack`
  (appended, no model work), or `error`; an `alert` may come just before it;
* client sends `{"type": "close"}`: server sends `final` (an `alert` first when only the
  final result escalates) and closes the socket with 1000.

Errors are events in the gateway's error shape plus `type: "error"` and `http_status`; a
refused segment is not applied (send it again), and the session stays open. Refused before
the handshake (HTTP status, standard error body): 403 an `Origin` not in
`TRIAGE_ALLOWED_ORIGINS`, 401/403 API key, 429 too many sessions, 503 draining. An idle
session gets an error event `SESSION_EXPIRED` and the socket closes. Closing the socket, or
losing it, ends the session and frees its state.

HTTP fallback: POST /classifier/sessions -> 201 {session_id}; POST .../{id}/segments
{"text", "seq"?} -> the update (or null) and any alert; POST .../{id}/close -> final;
GET .../{id} -> latest state; DELETE .../{id} -> 204. A closed session stays (transcript
freed) until DELETE or idle expiry: close again returns the same final, a segment gets 409.
With API keys on, a session answers only the key that opened it (another key gets 404, as for
an unknown id).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import Body, FastAPI, Query, Request, WebSocket
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
)
from starlette.websockets import WebSocketDisconnect, WebSocketState

from client.core.errors import GatewayError, InvalidInput, PayloadTooLarge, ValidationFailed
from client.core.metrics import GatewayMetrics
from client.core.security import api_key_valid, origin_allowed, owner_digest, presented_api_key
from client.core.service import Classification, ClassifierService
from client.core.settings import GatewaySettings
from client.http import schemas
from client.http.app import REQUEST_ID_HEADER, _request_id_from, error_response
from client.http.responses import answer_body, now_iso
from client.streaming.alerts import Alert, build_notifier
from client.streaming.metrics import StreamMetrics
from client.streaming.sessions import SessionManager, StepResult, StreamingSession, StreamStats

# --- bodies and events ----------------------------------------------------------------------


class StreamStatsBody(BaseModel):
    segments: int
    chars: int
    tokens: int
    chunks_closed: int = Field(..., description="Chunk windows that can no longer change.")
    chunks_tail: int = Field(..., description="Open tail windows in the latest update.")
    chunks_inferred: int = Field(..., description="Windows this session sent to the model.")
    chunks_reused: int = Field(..., description="Final windows taken from the session cache.")
    inference_calls: int
    padded_tokens_inferred: int


class AlertEvent(BaseModel):
    type: Literal["alert"] = "alert"
    session_id: str
    request_id: str
    seq: int = Field(..., description="Segment that raised it; -1 when raised on close.")
    chunk_index: int
    chunk_closed: bool = Field(..., description="False: an interim window of the open tail.")
    token_start: int
    token_end: int
    char_start: int
    char_end: int
    level: str
    confidence: float
    threshold: float
    model_version: str
    timestamp: str


class UpdateEvent(BaseModel):
    type: Literal["update"] = "update"
    session_id: str
    seq: int
    result: schemas.ClassifyResponse
    stats: StreamStatsBody


class AckEvent(BaseModel):
    type: Literal["ack"] = "ack"
    session_id: str
    seq: int
    stats: StreamStatsBody


class FinalEvent(BaseModel):
    type: Literal["final"] = "final"
    session_id: str
    result: schemas.ClassifyResponse
    alert: AlertEvent | None = Field(None, description="The session's alert, if any.")
    stats: StreamStatsBody


class SessionEvent(BaseModel):
    type: Literal["session"] = "session"
    session_id: str
    request_id: str
    include_chunks: bool
    idle_timeout_s: float
    max_chars: int


class ErrorEvent(schemas.ErrorResponse):
    type: Literal["error"] = "error"
    http_status: int
    retry_after_s: int | None = None


class SessionCreateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    include_chunks: StrictBool = Field(False, description="Per-chunk predictions in results.")


def _whole_number(value: object) -> object:
    # JSON Schema's `integer` includes 3.0, so the API takes it too; 3.5, "3" and true are
    # still refused by the strict integer after this.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


SegmentSeq = Annotated[StrictInt, Field(ge=0), BeforeValidator(_whole_number)]


class SegmentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: StrictStr = Field(..., description="Appended verbatim to the transcript.")
    seq: SegmentSeq | None = Field(
        None, description="Number of segments sent before; a mismatch is refused (409)."
    )


class SegmentResponse(BaseModel):
    session_id: str
    seq: int
    update: UpdateEvent | None = Field(None, description="Null when no window changed.")
    alert: AlertEvent | None = Field(None, description="Set when this segment raised it.")
    stats: StreamStatsBody


class SessionStateResponse(BaseModel):
    session_id: str
    request_id: str
    include_chunks: bool
    closed: bool = Field(..., description="Closed: POST .../close returns its final result.")
    idle_s: float
    latest: UpdateEvent | None
    alert: AlertEvent | None
    stats: StreamStatsBody


class _SegmentMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["segment"]
    text: StrictStr
    seq: SegmentSeq | None = None


class _CloseMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["close"]


_MESSAGE = TypeAdapter(Annotated[_SegmentMessage | _CloseMessage, Field(discriminator="type")])

SessionId = Annotated[str, PathParam(max_length=64, description="From POST /classifier/sessions")]

# --- conversions ----------------------------------------------------------------------------


class _Bodies:
    """Core results -> events; knows the service for the model fields of results."""

    def __init__(self, service: ClassifierService, metrics: GatewayMetrics) -> None:
        self.service = service
        self.metrics = metrics

    def result(self, c: Classification, include_chunks: bool) -> schemas.ClassifyResponse:
        return answer_body(c, include_chunks)

    @staticmethod
    def stats(stats: StreamStats) -> StreamStatsBody:
        return StreamStatsBody(**stats.__dict__)

    @staticmethod
    def alert(alert: Alert | None) -> AlertEvent | None:
        return AlertEvent(**alert.payload()) if alert is not None else None

    def update(self, session: StreamingSession, seq: int, c: Classification) -> UpdateEvent:
        return UpdateEvent(
            session_id=session.session_id,
            seq=seq,
            result=self.result(c, session.include_chunks),
            stats=self.stats(session.stats),
        )

    def step(self, session: StreamingSession, step: StepResult) -> SegmentResponse:
        update = None
        if step.update is not None:
            update = UpdateEvent(
                session_id=session.session_id,
                seq=step.seq,
                result=self.result(step.update, session.include_chunks),
                stats=self.stats(step.stats),
            )
        return SegmentResponse(
            session_id=session.session_id,
            seq=step.seq,
            update=update,
            alert=self.alert(step.alert),
            stats=self.stats(step.stats),
        )

    def final(
        self,
        session: StreamingSession,
        c: Classification,
        alert: Alert | None,
        stats: StreamStats,
        *,
        record: bool = True,
    ) -> FinalEvent:
        if record:  # once per session, not again for a repeated close
            self.metrics.observe_classification(c)
        return FinalEvent(
            session_id=session.session_id,
            result=self.result(c, session.include_chunks),
            alert=self.alert(alert or session.alert),
            stats=self.stats(stats),
        )

    def state(self, session: StreamingSession) -> SessionStateResponse:
        latest = None
        if session.latest is not None and session.latest_seq is not None:
            latest = self.update(session, session.latest_seq, session.latest)
        return SessionStateResponse(
            session_id=session.session_id,
            request_id=session.request_id,
            include_chunks=session.include_chunks,
            closed=session.final is not None,
            idle_s=session.idle_s(),
            latest=latest,
            alert=self.alert(session.alert),
            stats=self.stats(session.stats),
        )


def _error_event(exc: GatewayError, request_id: str) -> dict[str, Any]:
    return ErrorEvent(
        error=schemas.ErrorDetail(
            error_code=exc.code,
            message=exc.message,
            detail=exc.detail,
            field=exc.field,
            timestamp=now_iso(),
        ),
        request_id=request_id,
        http_status=exc.status,
        retry_after_s=exc.retry_after_s,
    ).model_dump(mode="json")


class SessionExpired(GatewayError):
    status = 408
    code = "SESSION_EXPIRED"


class _Unauthorized(GatewayError):
    status = 401
    code = "UNAUTHORIZED"


class _Forbidden(GatewayError):
    status = 403
    code = "FORBIDDEN"


class _OriginNotAllowed(GatewayError):
    status = 403
    code = "ORIGIN_NOT_ALLOWED"


def _auth_error(headers: dict[bytes, bytes], keys: list[str]) -> GatewayError | None:
    """The API-key rules of `ApiKeyMiddleware`, which only sees HTTP scopes: `Authorization:
    Bearer KEY` or `X-API-Key: KEY`, every key compared in constant time."""
    if not keys:
        return None
    presented = presented_api_key(headers)
    if not presented:
        return _Unauthorized("an API key is required")
    valid = api_key_valid(presented, [key.encode() for key in keys])
    return None if valid else _Forbidden("the API key is not valid")


# pydantic quotes the offending value in these messages: replaced, as the value may be text.
_QUOTING_ERRORS = {"union_tag_invalid": ("type must be 'segment' or 'close'", "type")}


def _validation_error(exc: ValidationError) -> GatewayError:
    first = exc.errors()[0] if exc.errors() else {}
    field = ".".join(str(p) for p in first.get("loc", ())) or None
    message = str(first.get("msg", "invalid message"))
    message, field = _QUOTING_ERRORS.get(str(first.get("type")), (message, field))
    # Never echo `input`: it may be transcript text.
    return ValidationFailed(message, field=field)


# --- routes ---------------------------------------------------------------------------------


def register_streaming_routes(
    app: FastAPI,
    service: ClassifierService,
    settings: GatewaySettings,
    metrics: GatewayMetrics,
) -> SessionManager:
    stream_metrics = StreamMetrics(metrics.registry)
    manager = SessionManager(
        service,
        settings,
        metrics=stream_metrics,
        notifier=build_notifier(settings, stream_metrics),
    )
    bodies = _Bodies(service, metrics)
    app.state.stream_sessions = manager

    inner_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[Any]:
        async with inner_lifespan(a) as state:
            manager.start()
            try:
                yield state
            finally:
                await manager.stop()  # before the service stops: ends and frees all sessions

    app.router.lifespan_context = lifespan

    def request_id_of(request: Request) -> str:
        return (request.scope.get("state") or {}).get("request_id") or _request_id_from(None)

    def owner_of(request: Request) -> str | None:
        # Authentication already passed (ApiKeyMiddleware); None when it is off.
        if not settings.api_keys:
            return None
        return owner_digest(presented_api_key(dict(request.scope.get("headers") or [])))

    error_responses = {
        status: {"model": schemas.ErrorResponse}
        for status in (400, 404, 409, 413, 422, 429, 502, 503, 504)
    }

    # 422 too: a malformed id is answered in the error shape, not FastAPI's default one.
    by_id_responses = {status: {"model": schemas.ErrorResponse} for status in (404, 422)}

    @app.post(
        "/classifier/sessions",
        status_code=201,
        response_model=SessionEvent,
        responses=error_responses,
        summary="Open a streaming session (HTTP fallback of /classifier/stream)",
    )
    async def create_session(
        request: Request, body: Annotated[SessionCreateRequest | None, Body()] = None
    ):
        include_chunks = body.include_chunks if body is not None else False
        session = manager.open(request_id_of(request), include_chunks, owner_of(request))
        return _session_event(session, settings)

    @app.post(
        "/classifier/sessions/{session_id}/segments",
        response_model=SegmentResponse,
        responses=error_responses,
        summary="Append a transcript segment; returns the update it caused, if any",
    )
    async def add_segment(session_id: SessionId, body: SegmentRequest, request: Request):
        session = manager.get(session_id, owner_of(request))
        step = await manager.segment(session_id, body.text, body.seq)
        return bodies.step(session, step)

    @app.post(
        "/classifier/sessions/{session_id}/close",
        response_model=FinalEvent,
        responses=error_responses,
        summary="Final classification of the whole transcript; closes the session",
    )
    async def close_session(session_id: SessionId, request: Request):
        session = manager.get(session_id, owner_of(request))
        repeated = session.final is not None
        final, alert, stats = await manager.close(session_id)
        return bodies.final(session, final, alert, stats, record=not repeated)

    @app.get(
        "/classifier/sessions/{session_id}",
        response_model=SessionStateResponse,
        responses=by_id_responses,
        summary="Latest update, alert and counters of a session",
    )
    async def session_state(session_id: SessionId, request: Request):
        return bodies.state(manager.get(session_id, owner_of(request)))

    @app.delete(
        "/classifier/sessions/{session_id}",
        status_code=204,
        response_class=Response,
        responses=by_id_responses,
        summary="End a session without a final result; frees its state",
    )
    async def delete_session(session_id: SessionId, request: Request):
        manager.get(session_id, owner_of(request))
        manager.end(session_id, "deleted")
        return Response(status_code=204)

    @app.websocket("/classifier/stream")
    async def stream(
        websocket: WebSocket, include_chunks: Annotated[bool, Query()] = False
    ) -> None:
        headers = dict(websocket.scope.get("headers") or [])
        request_id = _request_id_from(headers.get(REQUEST_ID_HEADER.lower().encode()))
        try:
            if not origin_allowed(headers.get(b"origin"), settings.allowed_origins):
                raise _OriginNotAllowed("this origin may not open streams (TRIAGE_ALLOWED_ORIGINS)")
            refused = _auth_error(headers, settings.api_keys)
            if refused is not None:
                raise refused
            owner = owner_digest(presented_api_key(headers)) if settings.api_keys else None
            session = manager.open(request_id, include_chunks, owner)
        except GatewayError as exc:
            await _deny(websocket, exc, request_id)
            return
        await _StreamConnection(websocket, session, manager, bodies, settings).run()

    return manager


def _session_event(session: StreamingSession, settings: GatewaySettings) -> SessionEvent:
    return SessionEvent(
        session_id=session.session_id,
        request_id=session.request_id,
        include_chunks=session.include_chunks,
        idle_timeout_s=settings.stream_idle_timeout_s,
        max_chars=settings.stream_max_chars,
    )


async def _deny(websocket: WebSocket, exc: GatewayError, request_id: str) -> None:
    """Refuses the handshake with an HTTP status and the standard error body."""
    headers = {REQUEST_ID_HEADER: request_id}
    if exc.retry_after_s:
        headers["Retry-After"] = str(exc.retry_after_s)
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    response = error_response(
        exc.status, exc.code, exc.message, request_id, detail=exc.detail, headers=headers
    )
    try:
        await websocket.send_denial_response(response)
    except RuntimeError:  # a server without the denial-response extension
        await websocket.close(code=1008 if exc.status in (401, 403) else 1013)


class _StreamConnection:
    """One WebSocket: reads client messages in order and answers each one."""

    def __init__(
        self,
        websocket: WebSocket,
        session: StreamingSession,
        manager: SessionManager,
        bodies: _Bodies,
        settings: GatewaySettings,
    ) -> None:
        self.websocket = websocket
        self.session = session
        self.manager = manager
        self.bodies = bodies
        self.settings = settings
        self._send_lock = asyncio.Lock()

    async def send(self, event: BaseModel | dict[str, Any]) -> None:
        data = event.model_dump(mode="json") if isinstance(event, BaseModel) else event
        async with self._send_lock:
            await self.websocket.send_text(json.dumps(data, ensure_ascii=False))

    async def send_error(self, exc: GatewayError) -> None:
        await self.send(_error_event(exc, self.session.request_id))

    async def _on_expire(self) -> None:
        expired = SessionExpired(
            f"no message for {self.settings.stream_idle_timeout_s:g} s; the session has ended"
        )
        with contextlib.suppress(Exception):
            await self.send_error(expired)
            await self.websocket.close(code=1000)

    async def run(self) -> None:
        session_id = self.session.session_id
        reason = "dropped"
        try:
            await self.websocket.accept()
            self.session.on_expire = self._on_expire
            await self.send(_session_event(self.session, self.settings))
            while True:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if await self._handle(message.get("text"), message.get("bytes")):
                    reason = "closed"
                    break
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass  # the client went away (or the socket was closed on expiry)
        finally:
            self.manager.end(session_id, reason)
            if self.websocket.client_state == WebSocketState.CONNECTED and reason != "closed":
                with contextlib.suppress(Exception):
                    await self.websocket.close(code=1000)

    async def _handle(self, text: str | None, data: bytes | None) -> bool:
        """Answers one message; True once the session is closed with its final result."""
        if text is None:
            await self.send_error(InvalidInput("send JSON text messages, not binary"))
            return False
        if len(text) > self.settings.max_body_bytes:
            await self.send_error(
                PayloadTooLarge(f"message is larger than {self.settings.max_body_bytes} bytes")
            )
            return False
        try:
            message = _MESSAGE.validate_python(json.loads(text))
        except json.JSONDecodeError:
            await self.send_error(_InvalidJson("message is not valid JSON"))
            return False
        except ValidationError as exc:
            await self.send_error(_validation_error(exc))
            return False
        try:
            if isinstance(message, _CloseMessage):
                final, alert, stats = await self.manager.close(self.session.session_id)
                if alert is not None:
                    await self.send(self.bodies.alert(alert))  # type: ignore[arg-type]
                await self.send(self.bodies.final(self.session, final, alert, stats))
                await self.websocket.close(code=1000)
                return True
            step = await self.manager.segment(self.session.session_id, message.text, message.seq)
        except GatewayError as exc:
            await self.send_error(exc)
            if self.session.ended:
                await self.websocket.close(code=1000)
                return True
            return False
        if step.alert is not None:
            await self.send(self.bodies.alert(step.alert))  # type: ignore[arg-type]
        response = self.bodies.step(self.session, step)
        if response.update is not None:
            await self.send(response.update)
        else:
            await self.send(
                AckEvent(session_id=response.session_id, seq=step.seq, stats=response.stats)
            )
        return False


class _InvalidJson(GatewayError):
    status = 400
    code = "INVALID_JSON"
