"""Run the gateway alone (`python -m client.serve`), configured by TRIAGE_* variables."""

from __future__ import annotations

import logging

import uvicorn

from client.api import create_app
from client.settings import GatewaySettings


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )


def run_gateway(settings: GatewaySettings) -> None:
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        # Shutdown waits for requests in flight (uvicorn stops accepting first).
        timeout_graceful_shutdown=int(settings.request_timeout_s) + 5,
    )
    uvicorn.Server(config).run()


def main() -> None:
    settings = GatewaySettings()
    configure_logging(settings.log_level)
    run_gateway(settings)


if __name__ == "__main__":
    main()
