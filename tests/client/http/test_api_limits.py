"""Size limits against the real gateway process: a body over TRIAGE_MAX_BODY_BYTES is a 413
in the error shape whether its length is declared or it is chunked, refused without waiting
for (or reading) the rest; a WebSocket message over TRIAGE_STREAM_MAX_MESSAGE_BYTES closes
that socket with 1009 and the gateway keeps serving."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from client.core.settings import GatewaySettings

pytestmark = pytest.mark.integration

# The shared `gateway` fixture runs with the default settings.
LIMITS = GatewaySettings()
CHUNK = 64 * 1024


def _raw_request(gateway, head: str, body_parts: list[bytes]) -> tuple[int, dict, bytes, bool]:
    """Sends a request head and body parts on a raw socket, never finishing the body, then
    reads the answer. Returns status, headers, body, and whether the server then closed."""
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=15) as sock:
        sock.sendall(head.encode("latin-1"))
        for part in body_parts:
            sock.sendall(part)
        data = b""
        while b"\r\n\r\n" not in data:
            received = sock.recv(65536)
            assert received, f"connection closed before an answer: {data!r}"
            data += received
        head_bytes, _, rest = data.partition(b"\r\n\r\n")
        lines = head_bytes.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:])}
        length = int(headers["content-length"])
        while len(rest) < length:
            received = sock.recv(65536)
            assert received, "connection closed inside the answer"
            rest += received
        try:
            closed = sock.recv(65536) == b""
        except ConnectionResetError:
            # A server that closes with part of the body still unread in its socket buffer
            # makes the kernel send a reset instead of a FIN (RFC 2525 2.17): closed all the same.
            closed = True
        except TimeoutError:
            closed = False
        return status, headers, rest[:length], closed


def _head(gateway, framing: str) -> str:
    return (
        "POST /classifier/classify HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{gateway.port}\r\n"
        "Content-Type: application/json\r\n"
        f"{framing}\r\n"
        "\r\n"
    )


def _assert_413(status: int, headers: dict, body: bytes) -> None:
    assert status == 413, body
    error = json.loads(body)
    assert error["status"] == "error" and error["request_id"] == headers["x-request-id"]
    assert set(error["error"]) == {"error_code", "message", "detail", "field", "timestamp"}
    assert error["error"]["error_code"] == "PAYLOAD_TOO_LARGE"
    assert headers.get("connection") == "close"


def test_chunked_body_over_the_limit_is_a_413_before_the_body_ends(gateway) -> None:
    """Chunks just past the limit and no terminating chunk: the answer cannot have waited
    for the end of the body, and the connection (body unread) is closed."""
    parts, sent = [b'{"narrative": "'], 15
    while sent <= LIMITS.max_body_bytes:
        parts.append(b"a" * CHUNK)
        sent += CHUNK
    framed = [b"%x\r\n%s\r\n" % (len(p), p) for p in parts]
    status, headers, body, closed = _raw_request(
        gateway, _head(gateway, "Transfer-Encoding: chunked"), framed
    )
    _assert_413(status, headers, body)
    assert closed


def test_declared_length_over_the_limit_is_a_413_before_any_body(gateway) -> None:
    framing = f"Content-Length: {LIMITS.max_body_bytes + 1}"
    status, headers, body, closed = _raw_request(gateway, _head(gateway, framing), [])
    _assert_413(status, headers, body)
    assert closed


def test_chunked_body_within_the_limit_is_served(gateway) -> None:
    def body():
        yield b'{"narrative": "The girl said her uncle '
        yield b'beats her and she is afraid to go home."}'

    response = httpx.post(
        f"{gateway.url}/classifier/classify",
        content=body(),
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert response.request.headers.get("transfer-encoding") == "chunked"


def _segment(text: str) -> str:
    return json.dumps({"type": "segment", "text": text})


def _segment_of_size(size: int) -> str:
    message = _segment("")
    return _segment("a" * (size - len(message)))


def test_websocket_message_over_the_limit_closes_with_1009(gateway) -> None:
    ws_url = gateway.url.replace("http://", "ws://") + "/classifier/stream"
    limit = LIMITS.stream_max_message_bytes
    longest_segment = json.dumps({"type": "segment", "text": "\u00e9" * LIMITS.stream_max_chars})
    # The default admits a segment of `stream_max_chars` characters, each one \u-escaped.
    assert len(longest_segment) <= limit < 16 * 1024 * 1024

    async def scenario() -> tuple[dict, int | None, dict]:
        async with connect(ws_url, max_size=None) as ws:
            await ws.recv()
            # At the limit: read and answered (413 from the session's character cap).
            await ws.send(_segment_of_size(limit))
            at_limit = json.loads(await asyncio.wait_for(ws.recv(), 30))
            await ws.send(_segment_of_size(limit + 1))
            with contextlib.suppress(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 30)
            code = ws.close_code
        async with connect(ws_url) as ws:  # the gateway still serves
            await ws.recv()
            await ws.send(_segment("The caller is safe now. "))
            after = json.loads(await asyncio.wait_for(ws.recv(), 30))
        return at_limit, code, after

    at_limit, code, after = asyncio.run(scenario())
    assert at_limit["type"] == "error" and at_limit["http_status"] == 413
    assert code == 1009
    assert after["type"] in ("ack", "update")
    assert httpx.get(f"{gateway.url}/livez", timeout=10).status_code == 200
