"""Authentication and backpressure on the real gateway."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from conftest import GatewayProcess

from export.launcher import LocalTriton

pytestmark = pytest.mark.integration
TEXT = {"narrative": "A boy said his teacher beats him at school."}


@pytest.fixture(scope="module")
def guarded_gateway(triton: LocalTriton, model_repository: Path, tmp_path_factory):
    with GatewayProcess.running(
        triton.grpc_url,
        model_repository,
        tmp_path_factory.mktemp("guarded") / "gateway.log",
        TRIAGE_API_KEYS="key-one,key-two",
        TRIAGE_MAX_IN_FLIGHT="1",
    ) as gateway:
        yield gateway


def test_api_key_required_when_configured(guarded_gateway) -> None:
    url = f"{guarded_gateway.url}/classifier/classify"
    missing = httpx.post(url, json=TEXT)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert missing.json()["error"]["error_code"] == "UNAUTHORIZED"
    wrong = httpx.post(url, json=TEXT, headers={"Authorization": "Bearer key-three"})
    assert wrong.status_code == 403 and wrong.json()["status"] == "error"
    assert (
        httpx.post(url, json=TEXT, headers={"Authorization": "Bearer key-two"}).status_code == 200
    )
    assert httpx.post(url, json=TEXT, headers={"X-API-Key": "key-one"}).status_code == 200
    # Probes stay open for the orchestrator.
    assert httpx.get(f"{guarded_gateway.url}/readyz").status_code == 200
    assert httpx.get(f"{guarded_gateway.url}/livez").status_code == 200


def test_over_the_in_flight_limit_is_a_fast_429(guarded_gateway) -> None:
    body = {"items": [TEXT, TEXT]}  # two narratives > the limit of one
    response = httpx.post(
        f"{guarded_gateway.url}/classifier/classify/batch",
        json=body,
        headers={"X-API-Key": "key-one"},
    )
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert response.json()["error"]["error_code"] == "OVERLOADED"
    ok = httpx.post(
        f"{guarded_gateway.url}/classifier/classify", json=TEXT, headers={"X-API-Key": "key-one"}
    )
    assert ok.status_code == 200
