"""No narrative text in any log: canary strings sent through every path (success, batch,
HTTP streaming sessions, WebSocket streaming, and bad requests on each) must not appear in
the gateway's or Triton's logs, even at DEBUG level. Bad requests must be refused with a 4xx:
a 5xx would mean the input reached code that failed on it."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import httpx
import pytest
from conftest import GatewayProcess
from websockets.asyncio.client import connect

from client.http.serve import server_log_level
from export.launcher import LocalTriton

pytestmark = pytest.mark.integration


def _canary() -> str:
    return f"canary{uuid.uuid4().hex}"


def _assert_client_error(response: httpx.Response, what: str) -> None:
    assert 400 <= response.status_code < 500, f"{what}: {response.status_code} {response.text}"
    assert response.json()["status"] == "error", what


def _classify_paths(url: str, canaries: list[str]) -> None:
    sentence = f"The girl said {canaries[0]} hurt her at home. "
    assert httpx.post(f"{url}/classify", json={"narrative": sentence}).status_code == 200
    long_text = (sentence + "She walks to school every day with her brother. ") * 60
    response = httpx.post(f"{url}/classify", json={"narrative": long_text, "include_chunks": True})
    assert response.status_code == 200
    batch = {"items": [{"narrative": f"{canaries[1]} reported abuse"}]}
    assert httpx.post(f"{url}/classify/batch", json=batch).status_code == 200
    bad_requests = [
        {"json": {"narrative": 5, "text_transcript": canaries[2]}},
        {
            "content": f'{{"narrative": "{canaries[3]}'.encode(),
            "headers": {"Content-Type": "application/json"},
        },
        {"json": {"narrative": canaries[4] + " x" * 30_000}},
        {"json": {"narrative": canaries[5], "unknown": canaries[6]}},
        {"json": {"narrative": "x", canaries[11]: "a key is echoed as the field, never logged"}},
        {"json": {"narrative": canaries[7]}, "headers": {"X-Request-Timeout": "0"}},
        {"json": {"narrative": canaries[8]}, "headers": {"X-Request-Timeout": canaries[9]}},
    ]
    for i, kwargs in enumerate(bad_requests):
        _assert_client_error(httpx.post(f"{url}/classify", **kwargs), f"bad request {i}")
    # A deadline too short to meet is a valid request the gateway cannot answer in time:
    # the one 5xx here, by design (504), and its error path must not log the text either.
    late = httpx.post(
        f"{url}/classify",
        json={"narrative": canaries[10]},
        headers={"X-Request-Timeout": "0.00001"},
    )
    assert late.status_code == 504, late.text


def _http_session_paths(url: str, canaries: list[str]) -> None:
    sessions = f"{url}/sessions"
    created = httpx.post(sessions, json={"include_chunks": True})
    assert created.status_code == 201, created.text
    sid = created.json()["session_id"]
    with httpx.Client(base_url=f"{sessions}/{sid}", timeout=60) as http:
        for seq, text in enumerate(
            [
                f"Caller: my friend {canaries[0]} is locked in at home. ",
                "Counsellor: is she safe tonight? ",
                f"Caller: {canaries[1]} says her uncle beats her. " * 40,
            ]
        ):
            response = http.post("/segments", json={"text": text, "seq": seq})
            assert response.status_code == 200, response.text
        assert httpx.get(f"{sessions}/{sid}").status_code == 200
        bad_requests = [
            {"json": {"text": canaries[2], "seq": 0}},  # out of order: 409
            {"json": {"text": canaries[3], "unknown": canaries[4]}},
            {"json": {"text": 5, "seq": canaries[5]}},
            {
                "content": f'{{"text": "{canaries[6]}'.encode(),
                "headers": {"Content-Type": "application/json"},
            },
            {"json": {"text": canaries[7] + " x" * 30_000}},  # over the session's cap
            {"json": {"text": "x", canaries[10]: 1}},
        ]
        for i, kwargs in enumerate(bad_requests):
            _assert_client_error(http.post("/segments", **kwargs), f"bad segment {i}")
        assert http.post("/close").status_code == 200
    unknown = httpx.post(f"{sessions}/nope/segments", json={"text": canaries[8]})
    assert unknown.status_code == 404
    # A session deleted without a final result, with text in it.
    sid = httpx.post(sessions).json()["session_id"]
    added = httpx.post(f"{sessions}/{sid}/segments", json={"text": f"{canaries[9]} cried. "})
    assert added.status_code == 200, added.text
    assert httpx.delete(f"{sessions}/{sid}").status_code == 204


async def _websocket_paths(url: str, canaries: list[str]) -> list[dict]:
    """Good and bad messages on one socket; returns every reply."""
    messages: list[str | bytes] = [
        json.dumps({"type": "segment", "text": f"Caller: {canaries[0]} hit me. ", "seq": 0}),
        json.dumps({"type": "segment", "text": f"{canaries[1]} again. " * 80, "seq": 1}),
        f'{{"type": "segment", "text": "{canaries[2]}',  # not JSON
        json.dumps({"type": "segment", "text": canaries[3], "seq": 0}),  # out of order
        json.dumps({"type": "segment", "text": canaries[4], "unknown": canaries[5]}),
        json.dumps({"type": canaries[6], "text": canaries[7]}),
        f"binary {canaries[8]}".encode(),
        json.dumps({"type": "close"}),
    ]
    replies = []
    async with connect(url.replace("http://", "ws://") + "/stream?include_chunks=true") as ws:
        replies.append(json.loads(await ws.recv()))
        for message in messages:
            await ws.send(message)
            reply = json.loads(await asyncio.wait_for(ws.recv(), 60))
            replies.append(reply)
            if reply["type"] == "alert":  # an alert comes just before the segment's reply
                replies.append(json.loads(await asyncio.wait_for(ws.recv(), 60)))
    return replies


def test_canaries_never_reach_a_log(
    triton: LocalTriton, model_repository: Path, tmp_path: Path
) -> None:
    classify_canaries = [_canary() for _ in range(12)]
    session_canaries = [_canary() for _ in range(11)]
    websocket_canaries = [_canary() for _ in range(9)]
    gateway = GatewayProcess(
        triton.grpc_url, model_repository, tmp_path / "gateway.log", TRIAGE_LOG_LEVEL="DEBUG"
    )
    try:
        gateway.wait_ready()
        url = f"{gateway.url}/classifier"
        _classify_paths(url, classify_canaries)
        _http_session_paths(url, session_canaries)
        replies = asyncio.run(_websocket_paths(url, websocket_canaries))
    finally:
        gateway.stop()

    kinds = [reply["type"] for reply in replies]
    assert kinds[0] == "session" and kinds[-1] == "final", kinds
    errors = [reply for reply in replies if reply["type"] == "error"]
    assert len(errors) == 5, kinds
    assert all(400 <= error["http_status"] < 500 for error in errors), errors
    # Error events never quote what was sent (it may be transcript text).
    for error in errors:
        text = json.dumps(error)
        assert not any(canary in text for canary in websocket_canaries), error

    logs = {
        "gateway": gateway.log_file.read_text(errors="replace"),
        "triton": Path(triton.options.log_file).read_text(errors="replace"),
    }
    # The logs are really being written, streaming included.
    assert "request_id=" in logs["gateway"] and "stream session" in logs["gateway"]
    for name, text in logs.items():
        for canary in classify_canaries + session_canaries + websocket_canaries:
            assert canary not in text, f"narrative text leaked into the {name} log"


def test_server_loggers_never_log_below_info() -> None:
    # At DEBUG, uvicorn logs every WebSocket frame: the transcript itself.
    assert server_log_level("DEBUG") == server_log_level("trace") == "info"
    assert server_log_level("INFO") == "info" and server_log_level("WARNING") == "warning"
