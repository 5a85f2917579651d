"""`make serve`: the whole stack on this machine, offline, no GPU, no Docker.

1. makes sure the model repository has a version (builds the embedded default once);
2. starts the local tritonserver (Python backend + ONNX Runtime) on loopback;
3. serves the gateway on 127.0.0.1:8123 until Ctrl-C / SIGTERM, then stops Triton.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

from client.serve import configure_logging, run_gateway
from client.settings import GatewaySettings
from export.launcher import LocalTriton, TritonOptions
from export.repository import latest_version

log = logging.getLogger("triage.local")


def ensure_model(repository: Path, model_name: str) -> int:
    version = latest_version(repository, model_name)
    if version is not None:
        return version
    from export.embedded_default import build_embedded_default

    print(">> no model version yet: building the embedded default (first run only)", flush=True)
    return build_embedded_default(repository, model_name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--triton-http-port", type=int, default=8000)
    parser.add_argument("--triton-grpc-port", type=int, default=8001)
    parser.add_argument("--triton-metrics-port", type=int, default=8002)
    args = parser.parse_args(argv)

    settings = GatewaySettings(triton_urls=[f"127.0.0.1:{args.triton_grpc_port}"], protocol="grpc")
    configure_logging(settings.log_level)
    version = ensure_model(settings.model_repository, settings.model_name)
    print(f">> model {settings.model_name} version {version}; starting tritonserver", flush=True)
    triton = LocalTriton(
        TritonOptions(
            repository=settings.model_repository.resolve(),
            http_port=args.triton_http_port,
            grpc_port=args.triton_grpc_port,
            metrics_port=args.triton_metrics_port,
            log_file=settings.model_repository.parent / "artifacts" / "logs" / "triton.log",
        )
    ).start()
    # uvicorn re-raises SIGTERM after its graceful shutdown; with the default handler that
    # would kill this process before Triton is stopped. Exit normally instead.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        triton.wait_ready(180)
        print(f">> triton ready; gateway on http://{settings.host}:{settings.port}", flush=True)
        run_gateway(settings)
    finally:
        triton.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
