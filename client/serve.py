"""Run the gateway alone (`python -m client.serve`), configured by TRIAGE_* variables."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

import uvicorn
from fastapi import FastAPI

from client.api import create_app
from client.settings import GatewaySettings


class DrainingServer(uvicorn.Server):
    """SIGTERM: readiness fails and new work is refused (503) at once; after `drain_delay_s`
    uvicorn's own graceful shutdown starts (stop accepting, finish in-flight requests,
    run the app's shutdown). A second signal skips the delay."""

    def __init__(self, config: uvicorn.Config, on_drain: Callable[[], None], drain_delay_s: float):
        super().__init__(config)
        self.on_drain = on_drain
        self.drain_delay_s = drain_delay_s
        self._drain_timer: threading.Timer | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig == signal.SIGTERM and self._drain_timer is None and self.drain_delay_s > 0:
            self.on_drain()
            logging.getLogger("triage.serve").info(
                "SIGTERM: draining for %.1f s before shutdown", self.drain_delay_s
            )
            self._drain_timer = threading.Timer(
                self.drain_delay_s, super().handle_exit, (sig, None)
            )
            self._drain_timer.daemon = True
            self._drain_timer.start()
            return
        self.on_drain()
        super().handle_exit(sig, frame)


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )


def run_gateway(settings: GatewaySettings, app: FastAPI | None = None) -> None:
    app = app or create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        # Shutdown waits for requests in flight, at most one request deadline.
        timeout_graceful_shutdown=int(settings.request_timeout_s) + 5,
    )
    DrainingServer(config, app.state.service.start_draining, settings.drain_delay_s).run()


def main() -> None:
    settings = GatewaySettings()
    configure_logging(settings.log_level)
    # uvicorn re-raises the signal after its graceful shutdown; exit 0 instead of dying
    # of SIGTERM, so orchestrators see a clean stop.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    run_gateway(settings)


if __name__ == "__main__":
    main()
