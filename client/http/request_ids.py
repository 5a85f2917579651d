"""Request ids: `X-Request-ID` in and out, for REST and WebSocket alike.

A caller's id is kept when it is safe to log and echo (letters, digits, `._-`, at most 64);
any other value, or none, gets a fresh random id. `BodyLimitMiddleware` (the outermost that
reads headers) puts the id in the scope's state, where every later layer finds it.
"""

from __future__ import annotations

import re
import uuid

from starlette.requests import HTTPConnection
from starlette.types import Scope

REQUEST_ID_HEADER = "X-Request-ID"
_HEADER_KEY = REQUEST_ID_HEADER.lower().encode()
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def new_request_id() -> str:
    return uuid.uuid4().hex


def request_id_from(raw: bytes | None) -> str:
    """The caller's id from a raw header value if it is safe, a fresh one otherwise."""
    if raw:
        candidate = raw.decode("latin-1")
        if _SAFE_ID.match(candidate):
            return candidate
    return new_request_id()


def request_id_from_headers(headers: dict[bytes, bytes]) -> str:
    return request_id_from(headers.get(_HEADER_KEY))


def scope_request_id(scope: Scope) -> str:
    """The id already placed in the scope's state; a fresh one where none was."""
    return (scope.get("state") or {}).get("request_id") or new_request_id()


def request_id_of(connection: HTTPConnection) -> str:
    return scope_request_id(connection.scope)
