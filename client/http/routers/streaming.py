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
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, WebSocket
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from starlette.requests import HTTPConnection
from starlette.websockets import WebSocketDisconnect, WebSocketState

from client.core.errors import GatewayError, InvalidInput, PayloadTooLarge
from client.core.metrics import GatewayMetrics
from client.core.security import origin_allowed
from client.core.service import Classification, ClassifierService
from client.core.settings import GatewaySettings
from client.http import schemas
from client.http.auth import api_key_refusal, connection_owner, owner_of
from client.http.errors import (
    InvalidJson,
    error_event,
    gateway_error_response,
    message_validation_error,
)
from client.http.middleware import headers_of
from client.http.request_ids import REQUEST_ID_HEADER, request_id_from_headers, request_id_of
from client.http.responses import answer_body
from client.streaming.alerts import Alert
from client.streaming.sessions import SessionManager, StepResult, StreamingSession, StreamStats

router = APIRouter()

SessionId = Annotated[str, PathParam(max_length=64, description="From POST /classifier/sessions")]

_ERROR_RESPONSES: dict[int | str, dict] = {
    status: {"model": schemas.ErrorResponse}
    for status in (400, 404, 409, 413, 422, 429, 502, 503, 504)
}
# 422 too: a malformed id is answered in the error shape, not FastAPI's default one.
_BY_ID_RESPONSES: dict[int | str, dict] = {
    status: {"model": schemas.ErrorResponse} for status in (404, 422)
}


class SessionExpired(GatewayError):
    status = 408
    code = "SESSION_EXPIRED"


class OriginNotAllowed(GatewayError):
    status = 403
    code = "ORIGIN_NOT_ALLOWED"


# --- conversions ----------------------------------------------------------------------------


class _Bodies:
    """Core results -> events; knows the service for the model fields of results."""

    def __init__(self, service: ClassifierService, metrics: GatewayMetrics) -> None:
        self.service = service
        self.metrics = metrics

    @classmethod
    def of(cls, connection: HTTPConnection) -> _Bodies:
        return cls(connection.app.state.service, connection.app.state.metrics)

    def result(self, c: Classification, include_chunks: bool) -> schemas.ClassifyResponse:
        return answer_body(c, include_chunks)

    @staticmethod
    def stats(stats: StreamStats) -> schemas.StreamStatsBody:
        return schemas.StreamStatsBody(**stats.__dict__)

    @staticmethod
    def alert(alert: Alert | None) -> schemas.AlertEvent | None:
        return schemas.AlertEvent(**alert.payload()) if alert is not None else None

    def update(self, session: StreamingSession, seq: int, c: Classification) -> schemas.UpdateEvent:
        return schemas.UpdateEvent(
            session_id=session.session_id,
            seq=seq,
            result=self.result(c, session.include_chunks),
            stats=self.stats(session.stats),
        )

    def step(self, session: StreamingSession, step: StepResult) -> schemas.SegmentResponse:
        update = None
        if step.update is not None:
            update = schemas.UpdateEvent(
                session_id=session.session_id,
                seq=step.seq,
                result=self.result(step.update, session.include_chunks),
                stats=self.stats(step.stats),
            )
        return schemas.SegmentResponse(
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
    ) -> schemas.FinalEvent:
        if record:  # once per session, not again for a repeated close
            self.metrics.observe_classification(c)
        return schemas.FinalEvent(
            session_id=session.session_id,
            result=self.result(c, session.include_chunks),
            alert=self.alert(alert or session.alert),
            stats=self.stats(stats),
        )

    def state(self, session: StreamingSession) -> schemas.SessionStateResponse:
        latest = None
        if session.latest is not None and session.latest_seq is not None:
            latest = self.update(session, session.latest_seq, session.latest)
        return schemas.SessionStateResponse(
            session_id=session.session_id,
            request_id=session.request_id,
            include_chunks=session.include_chunks,
            closed=session.final is not None,
            idle_s=session.idle_s(),
            latest=latest,
            alert=self.alert(session.alert),
            stats=self.stats(session.stats),
        )


def _sessions(connection: HTTPConnection) -> SessionManager:
    return connection.app.state.stream_sessions


def _session_event(session: StreamingSession, settings: GatewaySettings) -> schemas.SessionEvent:
    return schemas.SessionEvent(
        session_id=session.session_id,
        request_id=session.request_id,
        include_chunks=session.include_chunks,
        idle_timeout_s=settings.stream_idle_timeout_s,
        max_chars=settings.stream_max_chars,
    )


# --- HTTP fallback --------------------------------------------------------------------------


@router.post(
    "/classifier/sessions",
    status_code=201,
    response_model=schemas.SessionEvent,
    responses=_ERROR_RESPONSES,
    summary="Open a streaming session (HTTP fallback of /classifier/stream)",
)
async def create_session(
    request: Request, body: Annotated[schemas.SessionCreateRequest | None, Body()] = None
):
    include_chunks = body.include_chunks if body is not None else False
    # Authentication already passed (ApiKeyMiddleware).
    session = _sessions(request).open(
        request_id_of(request), include_chunks, connection_owner(request)
    )
    return _session_event(session, request.app.state.settings)


@router.post(
    "/classifier/sessions/{session_id}/segments",
    response_model=schemas.SegmentResponse,
    responses=_ERROR_RESPONSES,
    summary="Append a transcript segment; returns the update it caused, if any",
)
async def add_segment(session_id: SessionId, body: schemas.SegmentRequest, request: Request):
    manager = _sessions(request)
    session = manager.get(session_id, connection_owner(request))
    step = await manager.segment(session_id, body.text, body.seq)
    return _Bodies.of(request).step(session, step)


@router.post(
    "/classifier/sessions/{session_id}/close",
    response_model=schemas.FinalEvent,
    responses=_ERROR_RESPONSES,
    summary="Final classification of the whole transcript; closes the session",
)
async def close_session(session_id: SessionId, request: Request):
    manager = _sessions(request)
    session = manager.get(session_id, connection_owner(request))
    repeated = session.final is not None
    final, alert, stats = await manager.close(session_id)
    return _Bodies.of(request).final(session, final, alert, stats, record=not repeated)


@router.get(
    "/classifier/sessions/{session_id}",
    response_model=schemas.SessionStateResponse,
    responses=_BY_ID_RESPONSES,
    summary="Latest update, alert and counters of a session",
)
async def session_state(session_id: SessionId, request: Request):
    session = _sessions(request).get(session_id, connection_owner(request))
    return _Bodies.of(request).state(session)


@router.delete(
    "/classifier/sessions/{session_id}",
    status_code=204,
    response_class=Response,
    responses=_BY_ID_RESPONSES,
    summary="End a session without a final result; frees its state",
)
async def delete_session(session_id: SessionId, request: Request):
    manager = _sessions(request)
    manager.get(session_id, connection_owner(request))
    manager.end(session_id, "deleted")
    return Response(status_code=204)


# --- WebSocket ------------------------------------------------------------------------------


@router.websocket("/classifier/stream")
async def stream(websocket: WebSocket, include_chunks: Annotated[bool, Query()] = False) -> None:
    settings: GatewaySettings = websocket.app.state.settings
    manager = _sessions(websocket)
    headers = headers_of(websocket.scope)
    request_id = request_id_from_headers(headers)
    try:
        if not origin_allowed(headers.get(b"origin"), settings.allowed_origins):
            raise OriginNotAllowed("this origin may not open streams (TRIAGE_ALLOWED_ORIGINS)")
        refused = api_key_refusal(headers, settings.api_keys)
        if refused is not None:
            raise refused
        session = manager.open(request_id, include_chunks, owner_of(headers, settings.api_keys))
    except GatewayError as exc:
        await _deny(websocket, exc, request_id)
        return
    await _StreamConnection(websocket, session, manager, _Bodies.of(websocket), settings).run()


async def _deny(websocket: WebSocket, exc: GatewayError, request_id: str) -> None:
    """Refuses the handshake with an HTTP status and the standard error body."""
    response = gateway_error_response(exc, request_id, headers={REQUEST_ID_HEADER: request_id})
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
        await self.send(error_event(exc, self.session.request_id))

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
            message = schemas.STREAM_MESSAGE.validate_python(json.loads(text))
        except json.JSONDecodeError:
            await self.send_error(InvalidJson("message is not valid JSON"))
            return False
        except ValidationError as exc:
            await self.send_error(message_validation_error(exc))
            return False
        try:
            if isinstance(message, schemas.CloseMessage):
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
                schemas.AckEvent(session_id=response.session_id, seq=step.seq, stats=response.stats)
            )
        return False
