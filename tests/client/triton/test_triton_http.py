"""The gateway talking to Triton over HTTP (`TRIAGE_PROTOCOL=http`), and following a live
rollback (`export.triton_admin.pin_versions`) within `TRIAGE_VERSION_REFRESH_S`.

Both use a Triton of their own: the rollback unloads version 2, which the shared session
`triton` (and every test on it) must keep serving."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import MODEL, GatewayProcess, start_triton

from export.launcher import LocalTriton
from export.triton_admin import follow_latest, pin_versions, served_versions

pytestmark = pytest.mark.integration

REFRESH_S = 2.0
HEALTH_CHECK_S = 1.0
# The gateway sees the versions on its next health check and switches on its next refresh;
# the margin covers loading the version's tokenizer and a slow shared CI machine.
FOLLOW_BOUND_S = REFRESH_S + HEALTH_CHECK_S + 5.0

NARRATIVES = {
    "short": "The girl said her uncle hurt her at home and she is afraid to go back tonight.",
    "long": (
        "The caller is a boy of twelve whose father drinks and beats his mother at night. "
        "He has not been to school for two weeks because there is no money for fees. "
    )
    * 40,
}


@pytest.fixture(scope="module")
def own_triton(
    model_repository: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalTriton]:
    server = start_triton(model_repository, tmp_path_factory.mktemp("own-triton") / "triton.log")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def http_gateway(
    own_triton: LocalTriton, model_repository: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    process = GatewayProcess(
        own_triton.http_url,
        model_repository,
        tmp_path_factory.mktemp("http-gateway") / "gateway.log",
        TRIAGE_PROTOCOL="http",
        TRIAGE_VERSION_REFRESH_S=str(REFRESH_S),
        TRIAGE_HEALTH_CHECK_INTERVAL_S=str(HEALTH_CHECK_S),
    )
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


def classify(gateway: GatewayProcess, narrative: str) -> httpx.Response:
    return httpx.post(
        f"{gateway.url}/classifier/classify",
        json={"narrative": narrative, "include_chunks": True},
        timeout=60,
    )


def _labels(result: dict) -> tuple:
    return tuple(result[k] for k in ("main_category", "sub_category", "intervention", "priority"))


def assert_same_classification(got: dict, expected: dict) -> None:
    assert _labels(got) == _labels(expected)
    assert got["model_info"]["version"] == expected["model_info"]["version"]
    assert got["chunks_processed"] == expected["chunks_processed"]
    assert got["confidence_scores"] == pytest.approx(expected["confidence_scores"], abs=1e-5)
    assert got["escalation"]["escalated"] == expected["escalation"]["escalated"]
    assert got["needs_review"] == expected["needs_review"]
    for head, prediction in expected["predictions"].items():
        assert got["predictions"][head]["label"] == prediction["label"], head
    for mine, theirs in zip(got["chunk_predictions"], expected["chunk_predictions"], strict=True):
        assert mine["labels"] == theirs["labels"]
        assert mine["confidences"] == pytest.approx(theirs["confidences"], abs=1e-5)


def test_gateway_over_triton_http_matches_the_grpc_gateway(
    http_gateway: GatewayProcess, gateway: GatewayProcess
) -> None:
    info = httpx.get(f"{http_gateway.url}/classifier/info", timeout=10).json()
    assert [e["protocol"] for e in info["endpoints"]] == ["http"], info["endpoints"]
    assert info["status"] == "ready"
    for name, narrative in NARRATIVES.items():
        over_http, over_grpc = classify(http_gateway, narrative), classify(gateway, narrative)
        assert over_http.status_code == 200, (name, over_http.text)
        assert over_grpc.status_code == 200, (name, over_grpc.text)
        assert_same_classification(over_http.json(), over_grpc.json())
    assert classify(http_gateway, NARRATIVES["long"]).json()["chunks_processed"] > 1

    batch = {"items": [{"id": name, "narrative": text} for name, text in NARRATIVES.items()]}
    over_http = httpx.post(f"{http_gateway.url}/classifier/classify/batch", json=batch, timeout=60)
    over_grpc = httpx.post(f"{gateway.url}/classifier/classify/batch", json=batch, timeout=60)
    assert over_http.status_code == over_grpc.status_code == 200
    for mine, theirs in zip(over_http.json()["results"], over_grpc.json()["results"], strict=True):
        assert mine["id"] == theirs["id"]
        assert _labels(mine["result"]) == _labels(theirs["result"])
        assert mine["result"]["confidence_scores"] == pytest.approx(
            theirs["result"]["confidence_scores"], abs=1e-5
        )


def _info(gateway: GatewayProcess) -> dict:
    return httpx.get(f"{gateway.url}/classifier/info", timeout=10).json()


def _wait_for_version(
    gateway: GatewayProcess, version: str, bound_s: float
) -> tuple[float, dict, dict[int, int]]:
    """Seconds until the gateway answers from `version`, the answer, and the statuses seen."""
    started = time.monotonic()
    statuses: dict[int, int] = {}
    while (elapsed := time.monotonic() - started) < bound_s:
        response = classify(gateway, NARRATIVES["short"])
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        if response.status_code == 200 and response.json()["model_info"]["version"] == version:
            print(f"version {version} after {elapsed:.2f} s; statuses meanwhile: {statuses}")
            return elapsed, response.json(), statuses
        time.sleep(0.1)
    raise AssertionError(
        f"gateway still not on version {version} after {bound_s:.1f} s (statuses {statuses})"
    )


def test_live_rollback_is_followed_within_the_refresh_interval(
    own_triton: LocalTriton, http_gateway: GatewayProcess
) -> None:
    before = classify(http_gateway, NARRATIVES["short"]).json()
    assert before["model_info"]["version"] == "2"
    assert served_versions(own_triton.http_url, MODEL) == [1, 2]
    try:
        assert pin_versions(own_triton.http_url, MODEL, [1]) == [1]
        _, rolled_back, statuses = _wait_for_version(http_gateway, "1", FOLLOW_BOUND_S)
        # While Triton unloads version 2 the gateway answers from version 1, which is still
        # served: a rollback costs no request.
        assert set(statuses) == {200}, statuses
        # Really the other model (its own checkpoint), not only the version string.
        assert rolled_back["confidence_scores"] != pytest.approx(
            before["confidence_scores"], abs=1e-4
        )
        # Answers fall back at once; the version the gateway follows (what /classifier/info
        # reports) moves at its next refresh.
        deadline = time.monotonic() + FOLLOW_BOUND_S
        while (info := _info(http_gateway))["model_version"] != "1":
            assert time.monotonic() < deadline, info["model_version"]
            time.sleep(0.2)
        assert info["endpoints"][0]["ready_versions"] == ["1"]
    finally:
        assert follow_latest(own_triton.http_url, MODEL) == [1, 2]
    # Rolling forward again is followed the same way.
    _, forward, statuses = _wait_for_version(http_gateway, "2", FOLLOW_BOUND_S)
    assert set(statuses) == {200}, statuses
    assert forward["confidence_scores"] == pytest.approx(before["confidence_scores"], abs=1e-5)
