"""The committed OpenAPI document says exactly what the gateway accepts: `schemathesis run
--checks all` (every phase, stateful included) against a real gateway in front of the real
tritonserver finds no server error and no contract failure: no schema-valid request
refused, no schema-invalid one accepted, responses as documented, a created session
reachable until deleted, `Allow` on 405 listing every method of the path.

schemathesis' own pytest plugin does not run under pytest 9, so its CLI runs here, with
the repository's schemathesis.toml, a fixed seed and a bounded number of examples."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import GatewayProcess

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
OPENAPI = ROOT / "client" / "http" / "openapi.json"
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
EXAMPLES_PER_OPERATION = 25
RUN_TIMEOUT_S = 75  # about 20 s on a 2-core runner; a hang fails instead of stalling CI
PHASES = ("Coverage", "Fuzzing", "Stateful")


@pytest.fixture(scope="module")
def fuzz_gateway(triton, model_repository, tmp_path_factory) -> Iterator[GatewayProcess]:
    """Its own gateway: the run opens many streaming sessions that must not count against
    the shared gateway's session cap."""
    log_file = tmp_path_factory.mktemp("fuzz-gateway") / "gateway.log"
    with GatewayProcess.running(
        triton.grpc_url, model_repository, log_file, TRIAGE_LOG_LEVEL="WARNING"
    ) as process:
        yield process


def test_schemathesis_finds_no_failure(fuzz_gateway, tmp_path) -> None:
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(ROOT / "schemathesis.toml"),
        "--no-color",
        "run",
        str(OPENAPI),
        "--url",
        fuzz_gateway.url,
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--seed",
        "15",
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--generation-database",
        "none",
        "--report-dir",
        str(tmp_path),
    ]
    run = subprocess.run(
        command, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, cwd=tmp_path
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-12_000:]
    for phase in PHASES:
        assert re.search(rf"✅\s+{phase}", output), f"{phase} did not pass:\n{output[-4000:]}"
    tested = re.search(r"Tested:\s+(\d+)", output)
    assert tested and int(tested.group(1)) >= 13, output[-4000:]
    cases = re.search(r"(\d+) generated, (\d+) passed", output)
    assert cases and cases.group(1) == cases.group(2) and int(cases.group(1)) >= 300, output
