"""Keeps a local `tritonserver` alive: reaps it when it dies, restarts it with backoff on the
same ports, and gives up loudly after repeated fast crashes.

`make serve` (stack/local.py) runs Triton as its child. Without a supervisor a crashed
or killed Triton stays a zombie and the gateway answers 503 until someone restarts the whole
stack. Giving up matters as much as restarting: a server that dies on every start (a broken
model version, a port taken by another program) must not be restarted forever in silence.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger("triage.supervisor")


class Supervised(Protocol):
    """What the supervisor needs of a server: `LocalTriton` is the implementation."""

    process: subprocess.Popen | None

    def start(self) -> object: ...

    def wait_ready(self, timeout_s: float) -> None: ...

    def stop(self, timeout_s: float | None = None) -> int | None: ...


@dataclass
class RestartPolicy:
    """Exponential backoff between restarts; give up after `max_crashes` within `window_s`.

    Crashes older than the window are forgotten, so a server that ran stably for a while
    starts again from the shortest delay.
    """

    max_crashes: int = 5
    window_s: float = 60.0
    initial_backoff_s: float = 0.5
    max_backoff_s: float = 10.0

    def __post_init__(self) -> None:
        if self.max_crashes < 1:
            raise ValueError("max_crashes must be at least 1")
        self._crashes: deque[float] = deque()

    def recent_crashes(self, now: float) -> int:
        while self._crashes and now - self._crashes[0] > self.window_s:
            self._crashes.popleft()
        return len(self._crashes)

    def record_crash(self, now: float) -> float | None:
        """The delay before the next start, or None: give up."""
        self._crashes.append(now)
        count = self.recent_crashes(now)
        if count >= self.max_crashes:
            return None
        return min(self.max_backoff_s, self.initial_backoff_s * 2 ** (count - 1))


def kill_process_group(pid: int) -> None:
    """The server ran in its own session: its helper processes (Triton's Python backend
    stubs) outlive a SIGKILLed parent unless the whole group is killed."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


class Supervisor:
    """Watches a started, ready server from a background thread.

    `on_down(returncode)` is called as soon as the process is reaped (before any restart);
    `on_give_up(message)` once, when the policy says to stop restarting. Both run on the
    supervisor's thread.
    """

    def __init__(
        self,
        server: Supervised,
        policy: RestartPolicy | None = None,
        *,
        ready_timeout_s: float = 180.0,
        on_down: Callable[[int], None] | None = None,
        on_give_up: Callable[[str], None] | None = None,
        name: str = "tritonserver",
    ) -> None:
        self.server = server
        self.policy = policy or RestartPolicy()
        self.ready_timeout_s = ready_timeout_s
        self.on_down = on_down or (lambda _code: None)
        self.on_give_up = on_give_up or (lambda _message: None)
        self.name = name
        self.restarts = 0
        self.gave_up: str | None = None
        self._stopping = threading.Event()
        # Held while a process is being started, so that stop() never races a restart.
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> Supervisor:
        self._thread = threading.Thread(target=self._watch, name=f"{self.name}-supervisor")
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self, timeout_s: float | None = None) -> int | None:
        """No more restarts; the server is stopped gracefully (its own stop())."""
        self._stopping.set()
        with self._lock:
            code = self.server.stop(timeout_s)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(10)
        return code

    def _watch(self) -> None:
        while not self._stopping.is_set():
            process = self.server.process
            if process is None:
                return
            code = process.wait()  # reaps: no zombie is left behind
            if self._stopping.is_set():
                return
            kill_process_group(process.pid)
            log.error("%s (pid %d) exited with code %d", self.name, process.pid, code)
            self._call(self.on_down, code)
            if not self._restart_after_crash():
                return

    def _restart_after_crash(self) -> bool:
        """Restarts until a start reaches readiness; False when giving up or stopping."""
        while True:
            delay = self.policy.record_crash(time.monotonic())
            if delay is None:
                self._give_up()
                return False
            log.warning("restarting %s in %.1f s", self.name, delay)
            if self._stopping.wait(delay):
                return False
            try:
                with self._lock:
                    if self._stopping.is_set():
                        return False
                    self.restarts += 1
                    self.server.start()
                self.server.wait_ready(self.ready_timeout_s)
            except Exception as exc:  # noqa: BLE001 - a failed start is one more crash
                if self._stopping.is_set():
                    return False
                process = self.server.process
                if process is not None:
                    kill_process_group(process.pid)
                    process.wait()
                log.error("%s restart failed: %s", self.name, exc)
                self._call(self.on_down, process.returncode if process else -1)
                continue
            log.warning("%s restarted and ready (restart %d)", self.name, self.restarts)
            return True

    def _give_up(self) -> None:
        self.gave_up = (
            f"{self.name} crashed {self.policy.max_crashes} times within "
            f"{self.policy.window_s:g} s; not restarting it again"
        )
        log.critical("GIVING UP: %s", self.gave_up)
        self._call(self.on_give_up, self.gave_up)

    def _call(self, callback: Callable[..., None], *args: object) -> None:
        try:
            callback(*args)
        except Exception:  # noqa: BLE001 - a failing hook must not stop the supervision
            log.exception("%s supervisor callback failed", self.name)
