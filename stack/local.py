"""`make serve`: the whole stack on this machine, offline, no GPU, no Docker.

1. makes sure the model repository has a version (builds the embedded default once);
2. starts the local tritonserver (Python backend + ONNX Runtime) on loopback;
3. serves the gateway on 127.0.0.1:8123 until Ctrl-C / SIGTERM, then stops Triton.

Triton is supervised (export/supervisor.py): when it dies it is reaped, the gateway's
readiness fails at once, and it is restarted on the same ports with backoff; the gateway
serves again as soon as it is ready. After `--max-crashes` crashes within `--crash-window-s`
the stack gives up: a CRITICAL log line, the gateway drains and the process exits with
code 3 (EXIT_TRITON_GAVE_UP), so that whatever runs `make serve` sees the failure.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path

from client.core.settings import GatewaySettings
from client.http.app import create_app
from client.http.serve import configure_logging, run_gateway
from export.launcher import LocalTriton, TritonOptions
from export.repository import latest_version
from export.supervisor import RestartPolicy, Supervisor

log = logging.getLogger("triage.local")


def ensure_model(repository: Path, model_name: str) -> int:
    version = latest_version(repository, model_name)
    if version is not None:
        return version
    from stack.embedded_default import build_embedded_default

    print(">> no model version yet: building the embedded default (first run only)", flush=True)
    return build_embedded_default(repository, model_name)


EXIT_TRITON_GAVE_UP = 3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--triton-http-port", type=int, default=8000)
    parser.add_argument("--triton-grpc-port", type=int, default=8001)
    parser.add_argument("--triton-metrics-port", type=int, default=8002)
    parser.add_argument(
        "--max-crashes", type=int, default=5, help="give up after this many Triton crashes"
    )
    parser.add_argument(
        "--crash-window-s", type=float, default=60.0, help="within this many seconds"
    )
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
    exit_code = 0

    def give_up(message: str) -> None:
        nonlocal exit_code
        exit_code = EXIT_TRITON_GAVE_UP
        print(f">> {message}: stopping the gateway (exit {exit_code})", flush=True)
        # The same path as an operator's SIGTERM: readiness fails, the gateway drains.
        os.kill(os.getpid(), signal.SIGTERM)

    # uvicorn re-raises SIGTERM after its graceful shutdown; with the default handler that
    # would kill this process before Triton is stopped. Exit normally instead.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(exit_code))
    supervisor: Supervisor | None = None
    try:
        triton.wait_ready(180)
        app = create_app(settings)
        service = app.state.service
        grpc_url = settings.triton_urls[0]
        supervisor = Supervisor(
            triton,
            RestartPolicy(max_crashes=args.max_crashes, window_s=args.crash_window_s),
            on_down=lambda code: service.report_endpoint_down(
                grpc_url, f"the model server process exited (code {code})"
            ),
            on_give_up=give_up,
        ).start()
        print(f">> triton ready; gateway on http://{settings.host}:{settings.port}", flush=True)
        run_gateway(settings, app)
    finally:
        if supervisor is not None:
            supervisor.stop()
        else:
            triton.stop()
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
