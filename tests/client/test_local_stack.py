"""`make serve`'s program: builds a model when the repository has none, brings up Triton and
the gateway, serves, and on SIGTERM stops both cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import free_port, make_checkpoint

from export.pipeline import export_checkpoint

pytestmark = pytest.mark.integration


def test_local_stack_serves_and_stops_cleanly(tmp_path: Path) -> None:
    repository = tmp_path / "model_repository"
    export_checkpoint(
        str(make_checkpoint(tmp_path / "ckpt", seed=3)), repository, "helpline_classifier", "fp32"
    )
    port, grpc_port = free_port(), free_port()
    log_file = (tmp_path / "stack.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "client.local_stack",
            "--triton-http-port",
            str(free_port()),
            "--triton-grpc-port",
            str(grpc_port),
            "--triton-metrics-port",
            str(free_port()),
        ],
        env={
            **os.environ,
            "TRIAGE_PORT": str(port),
            "TRIAGE_MODEL_REPOSITORY": str(repository),
            "TRIAGE_DRAIN_DELAY_S": "0.5",
        },
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert process.poll() is None, (tmp_path / "stack.log").read_text()[-2000:]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        response = httpx.post(f"http://127.0.0.1:{port}/classifier/demo", timeout=30)
        assert response.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(60)
        log_file.close()
    assert code == 0
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{port}/livez", timeout=2)
    # Triton was stopped too: its gRPC port is free again.
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", grpc_port))
