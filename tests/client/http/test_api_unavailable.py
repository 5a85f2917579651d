"""A gateway whose Triton is down answers 503 with Retry-After, reports it in health and
readiness, keeps serving, and recovers when Triton comes up (no restart)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from conftest import GatewayProcess, free_port, start_triton

pytestmark = pytest.mark.integration


def test_triton_down_then_up(model_repository: Path, tmp_path: Path) -> None:
    triton_grpc_port = free_port()
    gateway = GatewayProcess(
        f"127.0.0.1:{triton_grpc_port}", model_repository, tmp_path / "gateway.log"
    )
    triton = None
    try:
        gateway.wait_live()
        response = httpx.post(
            f"{gateway.url}/classifier/classify", json={"narrative": "A child called about school."}
        )
        assert response.status_code == 503
        assert response.headers["Retry-After"]
        assert response.json()["error"]["error_code"] == "MODEL_UNAVAILABLE"
        assert httpx.get(f"{gateway.url}/readyz").status_code == 503
        health = httpx.get(f"{gateway.url}/health/models").json()
        assert health["models"]["helpline_classifier"]["state"] == "blocked"
        assert httpx.get(f"{gateway.url}/livez").status_code == 200

        triton = start_triton(model_repository, tmp_path / "triton.log", grpc_port=triton_grpc_port)
        gateway.wait_ready(timeout_s=30)
        response = httpx.post(
            f"{gateway.url}/classifier/classify", json={"narrative": "A child called about school."}
        )
        assert response.status_code == 200
    finally:
        gateway.stop()
        if triton is not None:
            triton.stop()
