"""The SDK and CLI stand alone: importing them loads nothing from the server side (or any
other package of this repository), so they can ship without it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
PROJECT_PACKAGES = ("client", "helpline_model", "corpus", "export", "training", "stack", "bench")


def test_sdk_and_cli_import_nothing_from_the_server_side() -> None:
    probe = (
        "import sys, client.sdk, client.sdk.cli\n"
        f"packages = {PROJECT_PACKAGES!r}\n"
        "print('\\n'.join(sorted(m for m in sys.modules if m.split('.')[0] in packages)))"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    loaded = set(run.stdout.split())
    assert "client.sdk.clients" in loaded
    assert {m for m in loaded if m != "client" and not m.startswith("client.sdk")} == set()
