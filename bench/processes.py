"""Start and stop the servers a comparison measures: Triton, gateways, the baseline.

Every server binds 127.0.0.1 on a free port and logs to a file under the run's folder.
Only processes started here are ever stopped, by their own pid.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from export.launcher import LocalTriton, TritonOptions
from export.repository import PROJECT_ROOT

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """A Python child process serving HTTP on a free loopback port."""

    def __init__(self, name: str, args: list[str], log_file: Path, env: dict[str, str]) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.log_file = log_file
        log_file.parent.mkdir(parents=True, exist_ok=True)
        self._log = log_file.open("ab")
        # "{port}" in arguments and environment values stands for the port chosen here.
        port = str(self.port)
        environment = {**os.environ, **{k: v.replace("{port}", port) for k, v in env.items()}}
        self.process = subprocess.Popen(
            [sys.executable, *[a.replace("{port}", port) for a in args]],
            env=environment,
            cwd=PROJECT_ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self, path: str, timeout_s: float = 180.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with code {self.process.returncode}; see {self.log_file}"
                )
            try:
                if httpx.get(f"{self.url}{path}", timeout=2, trust_env=False).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"{self.name} not ready after {timeout_s:.0f} s; see {self.log_file}")

    def stop(self, timeout_s: float = 30.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def start_baseline(checkpoint: Path, log_file: Path, threads: int = 0) -> ServerProcess:
    args = ["-m", "bench.baseline_server", "--checkpoint", str(checkpoint), "--port", "{port}"]
    return ServerProcess("baseline", [*args, "--threads", str(threads)], log_file, {})


def start_gateway(
    name: str, triton_grpc_url: str, repository: Path, version: int, log_file: Path, **env: str
) -> ServerProcess:
    """The real gateway, pinned to one model version of the repository."""
    settings = {
        "TRIAGE_HOST": HOST,
        "TRIAGE_PORT": "{port}",
        "TRIAGE_TRITON_URLS": triton_grpc_url,
        "TRIAGE_PROTOCOL": "grpc",
        "TRIAGE_MODEL_REPOSITORY": str(repository),
        "TRIAGE_MODEL_VERSION": str(version),
        "TRIAGE_DRAIN_DELAY_S": "0",
        **env,
    }
    return ServerProcess(name, ["-m", "client.http.serve"], log_file, settings)


def start_triton(repository: Path, log_file: Path) -> LocalTriton:
    options = TritonOptions(
        repository=repository,
        http_port=free_port(),
        grpc_port=free_port(),
        metrics_port=free_port(),
        log_file=log_file,
    )
    return LocalTriton(options).start()
