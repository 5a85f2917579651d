"""The supervisor's restart and give-up logic, with real (tiny) child processes instead of
Triton: the restart path with the real tritonserver is tests/stack/test_local.py."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from export.supervisor import RestartPolicy, Supervisor, kill_process_group


def test_backoff_doubles_up_to_the_cap_then_gives_up() -> None:
    policy = RestartPolicy(max_crashes=5, window_s=60, initial_backoff_s=0.5, max_backoff_s=1.5)
    assert [policy.record_crash(t) for t in (0.0, 1.0, 2.0, 3.0)] == [0.5, 1.0, 1.5, 1.5]
    assert policy.record_crash(4.0) is None


def test_crashes_older_than_the_window_are_forgotten() -> None:
    policy = RestartPolicy(max_crashes=3, window_s=10, initial_backoff_s=1, max_backoff_s=8)
    assert policy.record_crash(0.0) == 1
    assert policy.record_crash(5.0) == 2
    # The crash at 0 s is out of the window: two recent crashes, not three.
    assert policy.record_crash(10.5) == 2
    assert policy.record_crash(11.0) is None  # 5.0, 10.5, 11.0 within 10 s


def test_a_policy_needs_one_crash_at_least() -> None:
    with pytest.raises(ValueError):
        RestartPolicy(max_crashes=0)


def _state(pid: int) -> str | None:
    """State letter of a process, None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2]


class ScriptServer:
    """A child running a Python one-liner in its own session, like LocalTriton runs Triton:
    ready while it runs, failed when it has exited."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.process: subprocess.Popen | None = None
        self.pids: list[int] = []

    def start(self) -> ScriptServer:
        self.process = subprocess.Popen([sys.executable, "-c", self.code], start_new_session=True)
        self.pids.append(self.process.pid)
        return self

    def wait_ready(self, timeout_s: float) -> None:
        assert self.process is not None
        time.sleep(0.05)
        if self.process.poll() is not None:
            raise RuntimeError(f"exited with code {self.process.returncode} before ready")

    def stop(self, timeout_s: float | None = None) -> int | None:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        kill_process_group(self.process.pid)  # and its helpers, if any
        return self.process.returncode


def test_gives_up_after_repeated_fast_crashes_and_reaps_every_child() -> None:
    server = ScriptServer("import sys, time; time.sleep(0.2); sys.exit(7)").start()
    downs: list[int] = []
    gave_up = threading.Event()
    messages: list[str] = []

    def on_give_up(message: str) -> None:
        messages.append(message)
        gave_up.set()

    supervisor = Supervisor(
        server,
        RestartPolicy(max_crashes=3, window_s=60, initial_backoff_s=0.01, max_backoff_s=0.05),
        on_down=downs.append,
        on_give_up=on_give_up,
        name="script",
    ).start()
    try:
        assert gave_up.wait(15), f"never gave up: downs={downs}"
        time.sleep(0.3)  # nothing is restarted after giving up
        assert downs == [7, 7, 7]
        assert supervisor.restarts == 2 and len(server.pids) == 3
        assert messages == ["script crashed 3 times within 60 s; not restarting it again"]
        assert supervisor.gave_up == messages[0]
        assert [_state(pid) for pid in server.pids] == [None, None, None], "a zombie is left"
    finally:
        supervisor.stop()


def test_a_killed_server_is_restarted_and_its_helpers_killed(tmp_path: Path) -> None:
    helper_pid_file = tmp_path / "helper.pid"
    # Like Triton and its Python backend stubs: a helper process in the server's group.
    code = (
        "import subprocess, sys, time\n"
        "helper = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(helper_pid_file)!r}, 'w').write(str(helper.pid))\n"
        "time.sleep(60)\n"
    )
    server = ScriptServer(code).start()
    restarted = threading.Event()
    downs: list[int] = []
    supervisor = Supervisor(
        server,
        RestartPolicy(max_crashes=3, initial_backoff_s=0.01),
        on_down=lambda code: (downs.append(code), restarted.set()),
    ).start()
    try:
        deadline = time.monotonic() + 10
        while not helper_pid_file.exists() or not helper_pid_file.read_text():
            assert time.monotonic() < deadline, "the helper never started"
            time.sleep(0.02)
        helper = int(helper_pid_file.read_text())
        first = server.pids[0]
        server.process.send_signal(signal.SIGKILL)
        assert restarted.wait(10)
        deadline = time.monotonic() + 10
        while len(server.pids) < 2:
            assert time.monotonic() < deadline, "not restarted"
            time.sleep(0.02)
        assert downs == [-signal.SIGKILL]
        assert _state(first) is None, "the killed server is left a zombie"
        # Gone, or a zombie of whoever adopted it: not running in any case.
        deadline = time.monotonic() + 5
        while _state(helper) not in (None, "Z"):
            assert time.monotonic() < deadline, "the killed server's helper still runs"
            time.sleep(0.02)
    finally:
        supervisor.stop()
    # A stop is not a crash: nothing restarts after it.
    assert supervisor.restarts == 1 and downs == [-signal.SIGKILL]
    assert server.process.poll() is not None


def test_stop_does_not_restart() -> None:
    server = ScriptServer("import time; time.sleep(60)").start()
    downs: list[int] = []
    supervisor = Supervisor(server, RestartPolicy(initial_backoff_s=0.01), on_down=downs.append)
    supervisor.start()
    supervisor.stop()
    assert server.process.poll() is not None
    assert supervisor.restarts == 0 and downs == []
    assert _state(server.pids[0]) is None
