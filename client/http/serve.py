"""Run the gateway alone (`python -m client.http.serve`), configured by TRIAGE_* variables."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sys
import threading
from collections.abc import Callable
from types import FrameType

import uvicorn
from fastapi import FastAPI

from client.core.settings import GatewaySettings
from client.http.app import create_app

# At shutdown, how long a connection accepted without a request yet may take to send it.
FRESH_CONNECTION_GRACE_S = 1.0


class DrainingServer(uvicorn.Server):
    """SIGTERM: readiness fails and new work is refused (503) at once; after `drain_delay_s`
    uvicorn's own graceful shutdown starts (stop accepting, finish in-flight requests,
    run the app's shutdown). A second signal skips the delay.

    While draining every answer carries `Connection: close` (client/http/middleware.py), so no
    client reuses a connection that is about to be closed. At shutdown uvicorn would also close
    connections it has accepted but not yet read a request from, and the kernel would
    reset those still queued for accept(): a client that just connected sees its request
    dropped. Here the queued ones are accepted before the listener closes, and every
    connection without a request yet gets `FRESH_CONNECTION_GRACE_S` to send it; it is
    answered (503, draining) like any other.
    """

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

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        accepted = self._close_listeners()
        loop = asyncio.get_running_loop()
        for connection in accepted:
            connection.setblocking(False)
            await loop.connect_accepted_socket(self._protocol, connection)
        deadline = loop.time() + FRESH_CONNECTION_GRACE_S
        while self._fresh_connections() and loop.time() < deadline:
            await asyncio.sleep(0.01)
        await super().shutdown(sockets)

    def _close_listeners(self) -> list[socket.socket]:
        """Closes the listening sockets; returns the connections the kernel had queued."""
        accepted: list[socket.socket] = []
        for server in self.servers:
            for listener in server.sockets:
                # A duplicate of the listening socket: asyncio's copy stays untouched.
                with socket.fromfd(listener.fileno(), listener.family, listener.type) as dup:
                    dup.setblocking(False)
                    while True:
                        try:
                            accepted.append(dup.accept()[0])
                        except OSError:  # BlockingIOError: the queue is empty
                            break
            # No await since the last accept(): no connection can be queued in between.
            server.close()
        return accepted

    def _protocol(self) -> asyncio.Protocol:
        return self.config.http_protocol_class(  # type: ignore[call-arg]
            config=self.config,
            server_state=self.server_state,
            app_state=self.lifespan.state,
        )

    def _fresh_connections(self) -> bool:
        """Connections accepted whose first request has not arrived (HTTP protocols only:
        they have a `cycle`, None until a request is read)."""
        return any(getattr(c, "cycle", ...) is None for c in self.server_state.connections)


# At DEBUG, uvicorn and websockets log every WebSocket frame (transcript text) and the
# handshake's headers (API keys): their loggers stay at INFO or above whatever the level.
_SERVER_LOGGERS = ("uvicorn", "websockets")


def server_log_level(level: str) -> str:
    """The level for the HTTP/WebSocket server's own loggers: `level`, but never below INFO."""
    numeric = logging.getLevelName(level.upper())
    return level.lower() if isinstance(numeric, int) and numeric >= logging.INFO else "info"


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    for name in _SERVER_LOGGERS:
        logging.getLogger(name).setLevel(server_log_level(level).upper())


def run_gateway(settings: GatewaySettings, app: FastAPI | None = None) -> None:
    app = app or create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=server_log_level(settings.log_level),
        ws_max_size=settings.stream_max_message_bytes,
        # Shutdown waits for requests in flight, at most one request deadline.
        timeout_graceful_shutdown=int(settings.request_timeout_s) + 5,
        # Requests are bounded by the app (client/http/middleware.py RequestLimitMiddleware), not by
        # uvicorn's `limit_concurrency`: that one counts idle keep-alive connections too (a
        # balancer's pool could exhaust it) and answers outside the API's error shape.
        backlog=settings.backlog,
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
