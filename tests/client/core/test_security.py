"""Security defaults on the real gateway: streaming sessions belong to the API key that opened
them, WebSocket origins can be limited, error bodies name no internal address or file path,
and narrative hashes in the log are keyed."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import GatewayProcess, free_port
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from client.core.security import text_fingerprint
from export.launcher import LocalTriton

pytestmark = pytest.mark.integration

KEY_A, KEY_B = "owner-key-a", "other-key-b"
ALLOWED_ORIGIN = "https://console.example.org"
LOG_HASH_KEY = "deployment-log-secret"
NARRATIVE = "A girl said her uncle locks her in the house and she is hungry."


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def keyed_gateway(
    triton: LocalTriton, model_repository: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    process = GatewayProcess(
        triton.grpc_url,
        model_repository,
        tmp_path_factory.mktemp("keyed-gateway") / "gateway.log",
        TRIAGE_API_KEYS=f"{KEY_A},{KEY_B}",
        TRIAGE_ALLOWED_ORIGINS=f"{ALLOWED_ORIGIN}, https://other.example.org",
        TRIAGE_LOG_HASH_KEY=LOG_HASH_KEY,
    )
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


# --- session ownership ----------------------------------------------------------------------


def _not_found_shape(response: httpx.Response) -> tuple[int, str, str]:
    error = response.json()["error"]
    return response.status_code, error["error_code"], error["message"]


def test_http_session_answers_only_the_key_that_opened_it(keyed_gateway) -> None:
    url = f"{keyed_gateway.url}/classifier/sessions"
    sid = httpx.post(url, headers=auth(KEY_A)).json()["session_id"]
    unknown = _not_found_shape(httpx.get(f"{url}/{sid[:-2]}xx", headers=auth(KEY_A)))
    assert unknown[0] == 404

    other = auth(KEY_B)
    calls = [
        httpx.get(f"{url}/{sid}", headers=other),
        httpx.post(f"{url}/{sid}/segments", json={"text": "Hello? "}, headers=other),
        httpx.post(f"{url}/{sid}/close", headers=other),
        httpx.delete(f"{url}/{sid}", headers=other),
    ]
    # Exactly what an unknown id gets: another key cannot even confirm that the id exists.
    assert [_not_found_shape(r) for r in calls] == [unknown] * len(calls)

    owner = auth(KEY_A)
    segment = httpx.post(f"{url}/{sid}/segments", json={"text": "Hello? "}, headers=owner)
    assert segment.status_code == 200, segment.text
    state = httpx.get(f"{url}/{sid}", headers={"X-API-Key": KEY_A})  # either header form
    assert state.status_code == 200 and state.json()["stats"]["segments"] == 1
    assert httpx.delete(f"{url}/{sid}", headers=owner).status_code == 204


def test_websocket_session_is_not_addressable_with_another_key(keyed_gateway) -> None:
    sessions = f"{keyed_gateway.url}/classifier/sessions"
    ws_url = keyed_gateway.url.replace("http://", "ws://") + "/classifier/stream"

    async def run() -> None:
        async with connect(ws_url, additional_headers=auth(KEY_A)) as ws:
            sid = json.loads(await ws.recv())["session_id"]
            async with httpx.AsyncClient(timeout=10) as client:
                other = await client.get(f"{sessions}/{sid}", headers=auth(KEY_B))
                assert other.status_code == 404
                deleted = await client.delete(f"{sessions}/{sid}", headers=auth(KEY_B))
                assert deleted.status_code == 404
                mine = await client.get(f"{sessions}/{sid}", headers=auth(KEY_A))
                assert mine.status_code == 200
            await ws.send(json.dumps({"type": "segment", "text": "Hello? "}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 30))["type"] in ("ack", "update")

    asyncio.run(run())


# --- WebSocket origins ----------------------------------------------------------------------


async def _handshake(url: str, headers: dict[str, str]) -> tuple[int, dict | None]:
    try:
        async with connect(url, additional_headers=headers) as ws:
            assert json.loads(await ws.recv())["type"] == "session"
            return 101, None
    except InvalidStatus as exc:
        return exc.response.status_code, json.loads(exc.response.body)


def test_websocket_upgrade_from_a_foreign_origin_is_refused(keyed_gateway) -> None:
    url = keyed_gateway.url.replace("http://", "ws://") + "/classifier/stream"
    status, body = asyncio.run(
        _handshake(url, {**auth(KEY_A), "Origin": "https://evil.example.com"})
    )
    assert status == 403
    assert body["status"] == "error" and body["error"]["error_code"] == "ORIGIN_NOT_ALLOWED"
    # Listed origins (compared without case or trailing slash) and non-browser clients
    # (no Origin header) get through.
    for origin in (ALLOWED_ORIGIN, "HTTPS://Other.Example.org/", None):
        headers = {**auth(KEY_A), **({"Origin": origin} if origin else {})}
        assert asyncio.run(_handshake(url, headers))[0] == 101, origin


# --- keyed log hashes -----------------------------------------------------------------------


def test_log_hashes_are_keyed_with_the_deployment_secret(keyed_gateway) -> None:
    text = f"{NARRATIVE} ({keyed_gateway.port})"  # not sent by any other test
    response = httpx.post(
        f"{keyed_gateway.url}/classifier/classify",
        json={"narrative": text},
        headers={**auth(KEY_A), "X-Request-ID": "hash-check-1"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    log_text = keyed_gateway.log_file.read_text(errors="replace")
    (line,) = [ln for ln in log_text.splitlines() if "request_id=hash-check-1 " in ln]
    logged = re.search(r"\bhash=([0-9a-f]+)\b", line).group(1)
    keyed = hmac.new(LOG_HASH_KEY.encode(), text.encode(), hashlib.sha256).hexdigest()
    assert logged == keyed[:16]
    # A known text cannot be confirmed from the log by hashing it without the secret.
    plain = hashlib.sha256(text.encode()).hexdigest()
    assert plain[:16] not in log_text and plain[:8] not in log_text


def test_fingerprints_depend_on_the_key_and_default_to_a_secret_per_process() -> None:
    assert text_fingerprint(NARRATIVE, b"one") != text_fingerprint(NARRATIVE, b"two")
    assert text_fingerprint(NARRATIVE, b"one") == text_fingerprint(NARRATIVE, b"one")
    script = (
        "from client.core.security import log_hash_key, text_fingerprint;"
        "from client.core.settings import GatewaySettings as S;"
        f"print(text_fingerprint({NARRATIVE!r}, log_hash_key(S())))"
    )
    env = {"PATH": "/usr/bin:/bin", "TRIAGE_LOG_HASH_KEY": ""}
    cwd = Path(__file__).resolve().parents[3]
    runs = [
        subprocess.run(
            [sys.executable, "-c", script], env=env, cwd=cwd, capture_output=True, text=True
        )
        for _ in range(2)
    ]
    hashes = [r.stdout.strip() for r in runs]
    assert all(r.returncode == 0 for r in runs), [r.stderr for r in runs]
    assert hashes[0] != hashes[1]  # no secret set: each process draws its own
    assert hashlib.sha256(NARRATIVE.encode()).hexdigest()[:16] not in hashes


# --- error bodies ---------------------------------------------------------------------------

# An IPv4 address, a host:port, or a path of two or more components.
_LEAKS = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}|localhost|:\d{2,5}\b|(?:/[\w.-]+){2,}")


def assert_no_internals(response: httpx.Response, *secrets: str) -> None:
    body = response.json()
    if "error" in body:
        body["error"].pop("timestamp")  # "12:34:56.789+00:00" is not a port
    text = json.dumps(body)
    assert not _LEAKS.search(text), f"{response.request.url.path}: {text}"
    for secret in secrets:
        assert secret not in text


def test_error_bodies_name_no_address_or_path(model_repository: Path, tmp_path: Path) -> None:
    """Two gateways whose Triton is down, pinned to version 1 so that they do not wait for
    Triton to name it: one has the version's files and gets as far as calling Triton (whose
    client errors name the address), the other cannot load them (errors name the path)."""
    dead = f"127.0.0.1:{free_port()}"
    empty = tmp_path / "empty_repository"
    empty.mkdir()
    reaches_triton = GatewayProcess(
        dead, model_repository, tmp_path / "a.log", TRIAGE_MODEL_VERSION="1"
    )
    no_files = GatewayProcess(dead, empty, tmp_path / "b.log", TRIAGE_MODEL_VERSION="1")
    try:
        for gateway in (reaches_triton, no_files):
            gateway.wait_live()
        classify = f"{reaches_triton.url}/classifier/classify"
        unavailable = httpx.post(classify, json={"narrative": NARRATIVE}, timeout=30)
        assert unavailable.status_code == 503, unavailable.text
        assert unavailable.json()["error"]["error_code"] == "MODEL_UNAVAILABLE"
        assert_no_internals(unavailable, dead)
        for path in ("/readyz", "/health/models"):
            assert_no_internals(httpx.get(f"{reaches_triton.url}{path}", timeout=10), dead)

        not_loaded = httpx.post(
            f"{no_files.url}/classifier/classify", json={"narrative": NARRATIVE}, timeout=30
        )
        assert not_loaded.status_code == 503, not_loaded.text
        assert not_loaded.json()["error"]["detail"]  # says which version, not where
        ready = httpx.get(f"{no_files.url}/readyz", timeout=10)
        assert ready.status_code == 503
        for response in (not_loaded, ready, httpx.get(f"{no_files.url}/health/models")):
            assert_no_internals(response, str(empty))
    finally:
        reaches_triton.stop()
        no_files.stop()
    # The details an operator needs stay in the server logs.
    assert dead in reaches_triton.log_file.read_text(errors="replace")
    assert str(empty) in no_files.log_file.read_text(errors="replace")
