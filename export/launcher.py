"""Starts the real `tritonserver` shipped in the nvidia-pytriton wheel, without Docker.

Handles the traps of running that binary by hand:
- the Python backend needs a backend folder holding `python/libtriton_python.so` and the
  `triton_python_backend_stub` built for the running Python version;
- the stub links libpython: this interpreter's LIBDIR must come first on LD_LIBRARY_PATH,
  otherwise Debian's older libpython is picked and models fail to load;
- the stub needs libcudart from `nvidia_pytriton.libs` even on a CPU-only machine;
- the stub runs model.py with the venv's packages (onnxruntime, numpy) on its path.
"""

from __future__ import annotations

import os
import shutil
import signal
import site
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from export.repository import PROJECT_ROOT


class TritonStartError(RuntimeError):
    pass


def _pytriton_dir() -> Path:
    import pytriton

    return Path(pytriton.__file__).resolve().parent


def tritonserver_binary() -> Path:
    return _pytriton_dir() / "tritonserver" / "bin" / "tritonserver"


def prepare_backend_dir(cache_dir: Path) -> Path:
    """A backend directory with the Python backend and the stub for this Python."""
    dist = _pytriton_dir() / "tritonserver"
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    stub = dist / "python_backend_stubs" / version / "triton_python_backend_stub"
    if not stub.is_file():
        raise TritonStartError(f"nvidia-pytriton ships no Python backend stub for {version}")
    backend = cache_dir / f"backends-py{version}" / "python"
    backend.mkdir(parents=True, exist_ok=True)
    for src in [dist / "backends" / "python" / "libtriton_python.so", stub]:
        dest = backend / src.name
        if not dest.exists() or dest.stat().st_size != src.stat().st_size:
            shutil.copy2(src, dest)
    shutil.copy2(dist / "backends" / "python" / "triton_python_backend_utils.py", backend)
    return backend.parent


def server_environment() -> dict[str, str]:
    env = os.environ.copy()
    libs = _pytriton_dir().parent / "nvidia_pytriton.libs"
    paths = [sysconfig.get_config_var("LIBDIR"), str(libs), env.get("LD_LIBRARY_PATH", "")]
    env["LD_LIBRARY_PATH"] = ":".join(p for p in paths if p)
    python_paths = [*site.getsitepackages(), str(PROJECT_ROOT), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = ":".join(p for p in python_paths if p)
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    # ONNX Runtime threads are set per model in config.pbtxt; keep OpenMP from
    # oversubscribing the same cores.
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


@dataclass
class TritonOptions:
    repository: Path
    host: str = "127.0.0.1"
    http_port: int = 8000
    grpc_port: int = 8001
    metrics_port: int = 8002
    model_config_name: str = "local"
    # explicit + load all at start: models can later be loaded with a config override
    # (the rollback path) without restarting the server.
    model_control_mode: str = "explicit"
    log_file: Path | None = None
    exit_timeout_s: int = 30
    extra_args: list[str] = field(default_factory=list)
    cache_dir: Path = PROJECT_ROOT / ".cache"

    def command(self, backend_dir: Path) -> list[str]:
        args = [
            str(tritonserver_binary()),
            f"--model-repository={self.repository}",
            f"--backend-directory={backend_dir}",
            f"--model-config-name={self.model_config_name}",
            f"--model-control-mode={self.model_control_mode}",
            f"--http-address={self.host}",
            f"--http-port={self.http_port}",
            f"--grpc-address={self.host}",
            f"--grpc-port={self.grpc_port}",
            f"--metrics-address={self.host}",
            f"--metrics-port={self.metrics_port}",
            "--allow-metrics=true",
            "--allow-gpu-metrics=false",
            "--strict-readiness=true",
            f"--exit-timeout-secs={self.exit_timeout_s}",
            "--log-verbose=0",
        ]
        if self.model_control_mode == "explicit":
            args.append("--load-model=*")
        return [*args, *self.extra_args]


class LocalTriton:
    """A tritonserver child process: start, wait until ready, stop gracefully."""

    def __init__(self, options: TritonOptions) -> None:
        self.options = options
        self.process: subprocess.Popen | None = None
        self._log_handle = None

    @property
    def http_url(self) -> str:
        return f"{self.options.host}:{self.options.http_port}"

    @property
    def grpc_url(self) -> str:
        return f"{self.options.host}:{self.options.grpc_port}"

    def start(self) -> LocalTriton:
        backend_dir = prepare_backend_dir(self.options.cache_dir)
        if self._log_handle is not None:  # a restart: the previous run's handle
            self._log_handle.close()
            self._log_handle = None
        if self.options.log_file is not None:
            self.options.log_file.parent.mkdir(parents=True, exist_ok=True)
            self._log_handle = self.options.log_file.open("ab")
        self.process = subprocess.Popen(
            self.options.command(backend_dir),
            env=server_environment(),
            stdout=self._log_handle or None,
            stderr=subprocess.STDOUT if self._log_handle else None,
            start_new_session=True,
        )
        return self

    def is_ready(self) -> bool:
        try:
            url = f"http://{self.http_url}/v2/health/ready"
            with urllib.request.urlopen(url, timeout=1) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def wait_ready(self, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise TritonStartError(
                    f"tritonserver exited with code {self.process.returncode} before ready"
                    + (f"; see {self.options.log_file}" if self.options.log_file else "")
                )
            if self.is_ready():
                return
            time.sleep(0.2)
        raise TritonStartError(f"tritonserver not ready after {timeout_s:.0f} s")

    def stop(self, timeout_s: float | None = None) -> int | None:
        """SIGTERM (Triton stops accepting, finishes in-flight work), then SIGKILL."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s or self.options.exit_timeout_s + 5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None
        return self.process.returncode

    def kill(self) -> None:
        """Abrupt death (fault tests): no drain, like a crashed replica."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def __enter__(self) -> LocalTriton:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
