"""API keys, one rule for REST and WebSocket: `Authorization: Bearer KEY` or `X-API-Key: KEY`,
401 when no key is sent, 403 for a wrong one, every key compared in constant time
(`client.core.security.api_key_valid`). Off when `TRIAGE_API_KEYS` is empty.

REST requests pass `ApiKeyMiddleware`; a WebSocket handshake is checked by its route
(`client.http.routers.streaming`), which the middleware (HTTP scopes only) never sees.
A streaming session belongs to the key that opened it (`owner_of`).
"""

from __future__ import annotations

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from client.core.errors import GatewayError
from client.core.security import api_key_valid, owner_digest, presented_api_key
from client.http.errors import gateway_error_response
from client.http.middleware import PROBE_PATHS, HttpMiddleware, headers_of
from client.http.request_ids import scope_request_id


class Unauthorized(GatewayError):
    status = 401
    code = "UNAUTHORIZED"


class Forbidden(GatewayError):
    status = 403
    code = "FORBIDDEN"


def api_key_refusal(headers: dict[bytes, bytes], keys: list[str]) -> GatewayError | None:
    """Why a request with these headers is refused; None when it may pass (or keys are off)."""
    if not keys:
        return None
    presented = presented_api_key(headers)
    if not presented:
        return Unauthorized("an API key is required")
    valid = api_key_valid(presented, [key.encode() for key in keys])
    return None if valid else Forbidden("the API key is not valid")


def owner_of(headers: dict[bytes, bytes], keys: list[str]) -> str | None:
    """Keyed digest of the presented key, for a request that passed authentication; None
    when keys are off."""
    return owner_digest(presented_api_key(headers)) if keys else None


def connection_owner(connection: HTTPConnection) -> str | None:
    return owner_of(headers_of(connection.scope), connection.app.state.settings.api_keys)


class ApiKeyMiddleware(HttpMiddleware):
    """Authentication of REST requests. Probes and metrics stay open for the orchestrator and
    Prometheus on the internal network."""

    PASS_PATHS = PROBE_PATHS

    def __init__(self, app: ASGIApp, keys: list[str]) -> None:
        super().__init__(app)
        self.keys = keys

    def active(self) -> bool:
        return bool(self.keys)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        refused = api_key_refusal(headers_of(scope), self.keys)
        if refused is None:
            await self.app(scope, receive, send)
            return
        response = gateway_error_response(refused, scope_request_id(scope))
        await response(scope, receive, send)
