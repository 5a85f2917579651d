"""Shared fixtures: tiny production-format checkpoints, a model repository exported from
them, and a real `tritonserver` on free loopback ports."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from export.launcher import LocalTriton, TritonOptions
from export.pipeline import export_checkpoint
from export.repository import DEFAULT_MODEL_NAME
from export.tiny import make_tiny_checkpoint, production_labels, production_sub_to_main

MODEL = DEFAULT_MODEL_NAME


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_checkpoint(folder: Path, seed: int) -> Path:
    return make_tiny_checkpoint(
        folder,
        production_labels(),
        seed=seed,
        sub_to_main=production_sub_to_main(),
        severity_order=["1", "2", "3"],
    )


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_checkpoint(tmp_path_factory.mktemp("ckpt-v1"), seed=0)


@pytest.fixture(scope="session")
def tiny_checkpoint_v2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_checkpoint(tmp_path_factory.mktemp("ckpt-v2"), seed=1)


@pytest.fixture(scope="session")
def model_repository(
    tmp_path_factory: pytest.TempPathFactory, tiny_checkpoint: Path, tiny_checkpoint_v2: Path
) -> Path:
    """Version 1 (fp32) from one checkpoint, version 2 (fused fp32) from another."""
    repo = tmp_path_factory.mktemp("model_repository")
    export_checkpoint(str(tiny_checkpoint), repo, MODEL, "fp32")
    export_checkpoint(str(tiny_checkpoint_v2), repo, MODEL, "fp32-opt")
    return repo


def start_triton(repository: Path, log_file: Path, grpc_port: int | None = None) -> LocalTriton:
    options = TritonOptions(
        repository=repository,
        http_port=free_port(),
        grpc_port=grpc_port or free_port(),
        metrics_port=free_port(),
        log_file=log_file,
    )
    triton = LocalTriton(options).start()
    try:
        triton.wait_ready(120)
    except Exception:
        triton.stop()
        raise
    return triton


@pytest.fixture(scope="session")
def triton(
    model_repository: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalTriton]:
    server = start_triton(model_repository, tmp_path_factory.mktemp("logs") / "triton.log")
    yield server
    server.stop()


class GatewayProcess:
    """The real gateway (`python -m client.http.serve`) as a child process on a free port."""

    def __init__(self, triton_url: str, repository: Path, log_file: Path, **env: str):
        import os
        import subprocess
        import sys

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_file = log_file
        environment = {
            **os.environ,
            "TRIAGE_PORT": str(self.port),
            "TRIAGE_TRITON_URLS": triton_url,
            "TRIAGE_MODEL_REPOSITORY": str(repository),
            "TRIAGE_VERSION_REFRESH_S": "1",
            "TRIAGE_DRAIN_DELAY_S": "0.2",
            **env,
        }
        self._log = log_file.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "client.http.serve"],
            env=environment,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_live(self, timeout_s: float = 60) -> None:
        self.wait_ready(timeout_s, path="/livez")

    def wait_ready(self, timeout_s: float = 60, path: str = "/readyz") -> None:
        import time

        import httpx

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gateway exited: {self.log_file.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}{path}", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("gateway not ready")

    def stop(self) -> None:
        import signal

        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(30)
        self._log.close()

    @classmethod
    @contextmanager
    def running(
        cls,
        triton_url: str,
        repository: Path,
        log_file: Path,
        *,
        wait_path: str = "/readyz",
        **env: str,
    ) -> Iterator[GatewayProcess]:
        """Started and answering `wait_path` (`/livez` for a gateway whose Triton is down);
        stopped on leaving, whatever happened."""
        process = cls(triton_url, repository, log_file, **env)
        try:
            process.wait_ready(path=wait_path)
            yield process
        finally:
            process.stop()


@pytest.fixture(scope="session")
def gateway(
    triton: LocalTriton, model_repository: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    log_file = tmp_path_factory.mktemp("gateway-logs") / "gateway.log"
    with GatewayProcess.running(triton.grpc_url, model_repository, log_file) as process:
        yield process
