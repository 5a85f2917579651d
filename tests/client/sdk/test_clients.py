"""The SDK against the real gateway (and a real tritonserver): every method, sync and async,
and errors raised as `TriageAPIError` with the gateway's fields."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import GatewayProcess, free_port

from client.sdk import (
    AsyncTriageClient,
    TriageAPIError,
    TriageClient,
    TriageConnectionError,
)

pytestmark = pytest.mark.integration

SHORT = "A 12-year-old girl reported that her stepfather beats her when her mother is away."
LONG = (
    "The caller explained that the family moved to the village last year and the children "
    "walk a long way to school every morning. "
) * 40 + "Yesterday the boy was beaten badly by his uncle and has a broken arm."
HEADS = ("main_category", "sub_category", "intervention", "priority")


def assert_classification(result: dict) -> None:
    for head in HEADS:
        assert isinstance(result[head], str) and result[head]
    assert result["request_id"]
    assert set(result["predictions"]) == {"main", "sub", "intervention", "priority"}


def test_classify(gateway) -> None:
    with TriageClient(gateway.url, api_key="not-checked-yet") as client:
        result = client.classify(SHORT, request_id="sdk-case-1", timeout_s=10)
        assert_classification(result)
        assert result["request_id"] == "sdk-case-1"
        assert result["chunk_predictions"] is None

        chunked = client.classify(LONG, include_chunks=True)
        assert chunked["chunks_processed"] >= 2
        assert len(chunked["chunk_predictions"]) == chunked["chunks_processed"]


def test_classify_batch(gateway) -> None:
    with TriageClient(gateway.url) as client:
        plain = client.classify_batch([SHORT, LONG])
        assert plain["count"] == 2 and [r["id"] for r in plain["results"]] == [None, None]
        with_ids = client.classify_batch(
            [{"narrative": SHORT, "id": "a"}, {"narrative": LONG, "id": "b"}],
            include_chunks=True,
            request_id="sdk-batch",
        )
        single = client.classify(LONG)
    assert with_ids["request_id"] == "sdk-batch"
    assert [r["id"] for r in with_ids["results"]] == ["a", "b"]
    assert with_ids["results"][0]["result"]["chunk_predictions"]
    assert with_ids["results"][1]["result"]["main_category"] == single["main_category"]
    first_plain, first_with_id = plain["results"][0], with_ids["results"][0]
    assert first_plain["result"]["main_category"] == first_with_id["result"]["main_category"]


def test_info_health_ready(gateway) -> None:
    with TriageClient(gateway.url) as client:
        info = client.info()
        health = client.health()
        assert client.ready() is True
    assert info["status"] == "ready"
    assert info["limits"]["max_batch_items"] == 64
    assert health["status"] == "ok"
    assert health["models"]["helpline_classifier"]["state"] == "ready"


def test_async_client(gateway) -> None:
    async def scenario() -> tuple:
        async with AsyncTriageClient(gateway.url) as client:
            return await asyncio.gather(
                client.classify(SHORT, request_id="async-1", timeout_s=10),
                client.classify(LONG, include_chunks=True),
                client.classify_batch([SHORT, {"narrative": LONG, "id": "x"}]),
                client.info(),
                client.health(),
                client.ready(),
            )

    one, chunked, batch, info, health, ready = asyncio.run(scenario())
    assert_classification(one)
    assert one["request_id"] == "async-1"
    assert chunked["chunk_predictions"]
    assert batch["count"] == 2 and batch["results"][1]["id"] == "x"
    assert batch["results"][1]["result"]["main_category"] == chunked["main_category"]
    assert info["status"] == "ready" and health["status"] == "ok" and ready is True


def test_async_errors(gateway) -> None:
    async def scenario() -> TriageAPIError:
        async with AsyncTriageClient(gateway.url) as client:
            with pytest.raises(TriageAPIError) as caught:
                await client.classify_batch([SHORT, " "])
            return caught.value

    error = asyncio.run(scenario())
    assert (error.status, error.error_code, error.field) == (400, "INVALID_INPUT", "items[1]")


def test_empty_narrative_is_a_400(gateway) -> None:
    with TriageClient(gateway.url) as client, pytest.raises(TriageAPIError) as caught:
        client.classify("", request_id="sdk-empty")
    error = caught.value
    assert error.status == 400
    assert error.error_code == "INVALID_INPUT"
    assert error.message == "narrative is empty"
    assert error.field == "narrative"
    assert error.detail is None
    assert error.request_id == "sdk-empty"
    assert error.retry_after is None
    assert error.to_dict()["error_code"] == "INVALID_INPUT"


def test_validation_error_is_a_422(gateway) -> None:
    with TriageClient(gateway.url) as client, pytest.raises(TriageAPIError) as caught:
        client.classify(12)  # type: ignore[arg-type]
    assert (caught.value.status, caught.value.error_code) == (422, "VALIDATION_ERROR")
    assert caught.value.field == "narrative"


def test_too_large_is_a_413(gateway) -> None:
    with TriageClient(gateway.url) as client:
        with pytest.raises(TriageAPIError) as too_long:
            client.classify("word " * 12_000)
        with pytest.raises(TriageAPIError) as too_many:
            client.classify_batch(["x"] * 65)
        with pytest.raises(TriageAPIError) as too_big:
            client.classify("a" * 1_100_000)
        # The connection that was closed after the refusal does not break the next call.
        assert_classification(client.classify(SHORT))
    assert (too_long.value.status, too_long.value.field) == (413, "narrative")
    assert (too_many.value.status, too_many.value.field) == (413, "items")
    assert too_big.value.status == 413
    for error in (too_long.value, too_many.value, too_big.value):
        assert error.error_code == "PAYLOAD_TOO_LARGE"
        assert error.request_id


def test_deadline_is_sent(gateway) -> None:
    with TriageClient(gateway.url) as client:
        with pytest.raises(TriageAPIError) as caught:
            client.classify(LONG, timeout_s=0.0001)
        assert (caught.value.status, caught.value.error_code) == (504, "DEADLINE_EXCEEDED")
        # Over the gateway's maximum (30 s): refused by the gateway, not silently capped.
        with pytest.raises(TriageAPIError) as too_long:
            client.classify(SHORT, timeout_s=3600)
        assert too_long.value.status == 400
        with pytest.raises(ValueError):
            client.classify(SHORT, timeout_s=0)


def test_unreachable_gateway() -> None:
    with TriageClient(f"http://127.0.0.1:{free_port()}", max_retries=3) as client:
        assert client.ready() is False
        with pytest.raises(TriageConnectionError):
            client.classify(SHORT)


def test_error_body_that_is_not_json() -> None:
    response = httpx.Response(
        502, text="<html>bad gateway</html>", headers={"X-Request-ID": "r1", "Retry-After": "3"}
    )
    error = TriageAPIError.from_response(response)
    assert (error.status, error.error_code, error.message) == (502, "HTTP_502", "Bad Gateway")
    assert error.detail == "<html>bad gateway</html>"
    assert (error.request_id, error.retry_after) == ("r1", 3.0)


def test_retry_decisions() -> None:
    """Which answers are retried and for how long (the timing rule, without waiting on it)."""
    client = TriageClient(max_retries=2, max_retry_time_s=10, backoff_s=0.5)
    now = time.monotonic()
    try:
        for status in (400, 413, 500, 502, 504):
            assert client._retry_wait(httpx.Response(status), 0, now) is None
        assert client._retry_wait(httpx.Response(429, headers={"Retry-After": "2"}), 0, now) == 2
        assert client._retry_wait(httpx.Response(503), 0, now) == 0.5
        assert client._retry_wait(httpx.Response(503), 1, now) == 1.0
        assert client._retry_wait(httpx.Response(503), 2, now) is None  # attempts used up
        late = httpx.Response(503, headers={"Retry-After": "5"})
        assert client._retry_wait(late, 0, now - 6) is None  # would end past the budget
        assert TriageClient()._retry_wait(httpx.Response(503), 0, now) is None  # off by default
    finally:
        client.close()


@pytest.fixture(scope="module")
def gateway_without_triton(model_repository: Path, tmp_path_factory) -> Iterator[GatewayProcess]:
    """A live gateway whose Triton is down: every classification answers 503 + Retry-After."""
    with GatewayProcess.running(
        f"127.0.0.1:{free_port()}",
        model_repository,
        tmp_path_factory.mktemp("gateway-down") / "gateway.log",
        wait_path="/livez",
    ) as process:
        yield process


def count_503(url: str) -> float:
    metric = 'triage_requests_total{endpoint="/classifier/classify",status="503"}'
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if line.startswith(metric):
            return float(line.split()[-1])
    return 0.0


def test_model_unavailable(gateway_without_triton: GatewayProcess) -> None:
    url = gateway_without_triton.url
    with TriageClient(url) as client:
        assert client.ready() is False
        assert client.health()["status"] == "degraded"
        with pytest.raises(TriageAPIError) as caught:
            client.classify(SHORT)
    error = caught.value
    assert (error.status, error.error_code) == (503, "MODEL_UNAVAILABLE")
    assert error.retry_after == 5

    # Retry-After (5 s) is longer than the retry budget: one attempt, no waiting.
    before = count_503(url)
    started = time.monotonic()
    with (
        TriageClient(url, max_retries=3, max_retry_time_s=1) as client,
        pytest.raises(TriageAPIError),
    ):
        client.classify(SHORT)
    assert time.monotonic() - started < 1
    assert count_503(url) == before + 1
