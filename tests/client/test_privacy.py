"""No narrative text in any log: canary strings sent through every path (success, batch,
errors) must not appear in the gateway's or Triton's logs, even at DEBUG level."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from conftest import GatewayProcess

from export.launcher import LocalTriton

pytestmark = pytest.mark.integration


def test_canaries_never_reach_a_log(
    triton: LocalTriton, model_repository: Path, tmp_path: Path
) -> None:
    canaries = [f"canary{uuid.uuid4().hex}" for _ in range(8)]
    gateway = GatewayProcess(
        triton.grpc_url, model_repository, tmp_path / "gateway.log", TRIAGE_LOG_LEVEL="DEBUG"
    )
    try:
        gateway.wait_ready()
        url = f"{gateway.url}/classifier"
        sentence = f"The girl said {canaries[0]} hurt her at home. "
        assert httpx.post(f"{url}/classify", json={"narrative": sentence}).status_code == 200
        long_text = (sentence + "She walks to school every day with her brother. ") * 60
        response = httpx.post(
            f"{url}/classify", json={"narrative": long_text, "include_chunks": True}
        )
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
            {"json": {"narrative": f"{canaries[7]}"}, "headers": {"X-Request-Timeout": "0.00001"}},
        ]
        for kwargs in bad_requests:
            assert 400 <= httpx.post(f"{url}/classify", **kwargs).status_code < 600
    finally:
        gateway.stop()
    logs = {
        "gateway": gateway.log_file.read_text(errors="replace"),
        "triton": Path(triton.options.log_file).read_text(errors="replace"),
    }
    assert "request_id=" in logs["gateway"]  # the log is really being written
    for name, text in logs.items():
        for canary in canaries:
            assert canary not in text, f"narrative text leaked into the {name} log"
