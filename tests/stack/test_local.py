"""`make serve`'s program: builds a model when the repository has none, brings up Triton and
the gateway, serves, and on SIGTERM stops both cleanly; when Triton dies it is reaped and
restarted, and after repeated crashes the stack gives up with exit code 3."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx
import pytest
from conftest import free_port, make_checkpoint

from export.pipeline import export_checkpoint

pytestmark = pytest.mark.integration


def start_stack(
    port: int,
    triton_http_port: int,
    triton_grpc_port: int,
    repository: Path,
    log_file: IO[bytes],
    *args: str,
) -> subprocess.Popen:
    """`python -m stack.local` (what `make serve` runs) on free loopback ports."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stack.local",
            "--triton-http-port",
            str(triton_http_port),
            "--triton-grpc-port",
            str(triton_grpc_port),
            "--triton-metrics-port",
            str(free_port()),
            *args,
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


def test_local_stack_serves_and_stops_cleanly(tmp_path: Path) -> None:
    repository = tmp_path / "model_repository"
    export_checkpoint(
        str(make_checkpoint(tmp_path / "ckpt", seed=3)), repository, "helpline_classifier", "fp32"
    )
    port, grpc_port = free_port(), free_port()
    log_file = (tmp_path / "stack.log").open("wb")
    process = start_stack(port, free_port(), grpc_port, repository, log_file)
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


def _children(pid: int) -> dict[int, tuple[str, str]]:
    """{child pid: (command name, state letter)} from /proc (no psutil in the project)."""
    found: dict[int, tuple[str, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces, so split after the last ')'.
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
        if int(ppid) == pid:
            found[int(entry.name)] = (comm, state)
    return found


def _triton_child(pid: int, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        running = [
            child
            for child, (comm, state) in _children(pid).items()
            if comm == "tritonserver" and state != "Z"
        ]
        if running:
            return running[0]
        time.sleep(0.1)
    raise AssertionError(f"no running tritonserver child of {pid}: {_children(pid)}")


def _status(url: str, method: str = "GET", timeout_s: float = 5) -> int | str:
    try:
        return httpx.request(method, url, timeout=timeout_s).status_code
    except httpx.HTTPError as exc:
        return type(exc).__name__


def test_local_stack_restarts_a_killed_triton_then_gives_up(
    model_repository: Path, tmp_path: Path
) -> None:
    """SIGKILL Triton under `make serve`: readiness fails at once, the child is reaped (no
    zombie), Triton comes back on the same ports and the same gateway serves again within
    20 s. With --max-crashes 2 the second kill is one too many: exit code 3."""
    port, triton_http_port = free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    triton_ready_url = f"http://127.0.0.1:{triton_http_port}/v2/health/ready"
    log_path = tmp_path / "stack.log"
    log_file = log_path.open("wb")
    process = start_stack(
        port,
        triton_http_port,
        free_port(),
        model_repository,
        log_file,
        "--max-crashes",
        "2",
        "--crash-window-s",
        "600",
    )
    try:
        deadline = time.monotonic() + 120
        while _status(f"{url}/readyz") != 200:
            assert process.poll() is None, log_path.read_text()[-2000:]
            assert time.monotonic() < deadline, "the stack never became ready"
            time.sleep(0.3)
        first = _triton_child(process.pid, 5)

        os.kill(first, signal.SIGKILL)
        killed_at = time.monotonic()
        while (status := _status(f"{url}/readyz")) != 503:
            assert time.monotonic() - killed_at < 1.0, f"/readyz still {status} after 1 s"
            time.sleep(0.02)
        triton_ready_at: float | None = None
        while (status := _status(f"{url}/classifier/demo", "POST", 10)) != 200:
            assert time.monotonic() - killed_at < 20, f"still {status} 20 s after the kill"
            if triton_ready_at is None and _status(triton_ready_url, timeout_s=1) == 200:
                triton_ready_at = time.monotonic()
            time.sleep(0.1)
        served_at = time.monotonic()
        # The gateway's gRPC channel reconnects within about a second of Triton being back
        # (its reconnection backoff is capped), not after a backoff grown during the outage.
        lag = served_at - (triton_ready_at or served_at)
        assert lag < 2.0, f"served {lag:.1f} s after Triton was ready again"
        assert _status(f"{url}/readyz") == 200
        second = _triton_child(process.pid, 5)
        assert second != first
        # Reaped: the killed child is neither running nor a zombie of the stack.
        assert first not in _children(process.pid), _children(process.pid)
        assert all(state != "Z" for _, state in _children(process.pid).values())

        os.kill(second, signal.SIGKILL)
        code = process.wait(60)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                for child in _children(process.pid):  # Triton runs in its own session
                    os.killpg(child, signal.SIGKILL)
                process.kill()
                process.wait(10)
        log_file.close()
    log = log_path.read_text()
    assert code == 3, log[-2000:]
    assert "GIVING UP: tritonserver crashed 2 times within 600 s" in log
