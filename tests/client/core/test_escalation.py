"""A checkpoint in the production layout (label files only, priorities 1, 2, 3, no
priority_severity.json) escalates once exported with `--severity-order`; exported without,
it is served with escalation off and the gateway says so; TRIAGE_ESCALATION_THRESHOLD
decides, end to end, whether the same narrative escalates. Real export CLI, real
tritonserver, real gateway processes."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from conftest import GatewayProcess, start_triton

from client.core.aggregation import load_severity
from client.core.settings import GatewaySettings
from export.cli import main as export_main
from export.launcher import LocalTriton
from export.repository import DEFAULT_MODEL_NAME as MODEL
from export.tiny import make_tiny_checkpoint, production_labels
from helpline_model.layout import METADATA_FILE, SEVERITY_FILE, load_labels

pytestmark = pytest.mark.integration

NARRATIVE = "A 12-year-old girl reported that her stepfather beats her when her mother is away."
DISABLED = "disabled (no severity order)"


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


def export_cli(*args: str) -> Run:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = export_main(["export", "--precision", "fp32", "--max-texts", "12", *args])
    return Run(code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Like openchs/cls-gbv-distilbert-v1: weights, tokenizer and the four label files only.
    Seed 0 gives every short narrative priority '3' with probability about 0.87."""
    folder = make_tiny_checkpoint(
        tmp_path_factory.mktemp("production") / "ckpt", production_labels()
    )
    assert not (folder / SEVERITY_FILE).exists()
    assert load_labels(folder).priority == ["1", "2", "3"]
    return folder


@dataclass
class Exported:
    repository: Path
    with_order: Run  # version 1
    without_order: Run  # version 2


@pytest.fixture(scope="module")
def exported(checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Exported:
    repository = tmp_path_factory.mktemp("repo")
    common = ("--checkpoint", str(checkpoint), "--repository", str(repository))
    with_order = export_cli(*common, "--severity-order", "1, 2,3")
    without_order = export_cli(*common)
    return Exported(repository, with_order, without_order)


def version_dir(exported: Exported, version: int) -> Path:
    return exported.repository / MODEL / str(version)


def test_severity_order_is_written_into_the_version(exported: Exported) -> None:
    run = exported.with_order
    assert run.code == 0, run.stderr
    assert "WARNING" not in run.stderr
    printed = json.loads(run.stdout)
    assert printed["version"] == 1
    assert printed["escalation"] == "enabled (least to most severe: 1 < 2 < 3)"
    folder = version_dir(exported, 1)
    assert json.loads((folder / SEVERITY_FILE).read_text()) == {
        "least_to_most_severe": ["1", "2", "3"]
    }
    severity = load_severity(folder)  # what the gateway loads
    assert severity is not None and severity.most_severe == "3"
    metadata = json.loads((folder / METADATA_FILE).read_text())
    assert metadata["severity_source"] == "--severity-order"
    assert metadata["escalation"].startswith("enabled")


def test_export_without_an_order_warns_that_escalation_is_off(exported: Exported) -> None:
    run = exported.without_order
    assert run.code == 0, run.stderr
    assert f"WARNING: escalation {DISABLED} for version 2" in run.stderr
    assert "--severity-order" in run.stderr
    assert json.loads(run.stdout)["escalation"] == DISABLED
    folder = version_dir(exported, 2)
    assert not (folder / SEVERITY_FILE).exists()
    assert json.loads((folder / METADATA_FILE).read_text())["escalation"] == DISABLED


@pytest.mark.parametrize(
    ("order", "message"),
    [
        ("1,2", "missing ['3']"),
        ("1,2,4", "unknown ['4']; missing ['3']"),
        ("low,medium,high", "unknown ['low', 'medium', 'high']"),
        ("1,2,2,3", "repeated ['2']"),
        ("1,,3", "comma-separated"),
        (" ", "comma-separated"),
        ("", "comma-separated"),
    ],
)
def test_a_wrong_order_is_refused_before_anything_is_written(
    checkpoint: Path, tmp_path: Path, order: str, message: str
) -> None:
    run = export_cli(
        "--checkpoint", str(checkpoint), "--repository", str(tmp_path), "--severity-order", order
    )
    assert run.code == 2
    assert run.stderr.startswith("export refused:") and message in run.stderr
    assert not (tmp_path / MODEL).exists() or not any((tmp_path / MODEL).glob("[0-9]*"))


def test_a_checkpoint_order_that_does_not_match_its_labels_is_refused(
    checkpoint: Path, tmp_path: Path
) -> None:
    bad = shutil.copytree(checkpoint, tmp_path / "ckpt")
    (bad / SEVERITY_FILE).write_text(json.dumps({"least_to_most_severe": ["low", "high"]}))
    run = export_cli("--checkpoint", str(bad), "--repository", str(tmp_path / "repo"))
    assert run.code == 2 and "does not match the checkpoint's priority labels" in run.stderr


@pytest.mark.parametrize("value", ["1.5", "nan"])
def test_an_escalation_threshold_outside_0_1_stops_the_gateway_at_start(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIAGE_ESCALATION_THRESHOLD", value)
    with pytest.raises(ValueError, match="probability in"):
        GatewaySettings()


# --------------------------------------------------------------------------- served


@pytest.fixture(scope="module")
def triton(exported: Exported, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTriton]:
    assert exported.with_order.code == 0 and exported.without_order.code == 0
    server = start_triton(exported.repository, tmp_path_factory.mktemp("logs") / "triton.log")
    yield server
    server.stop()


@contextlib.contextmanager
def gateways(
    triton: LocalTriton, repository: Path, log_dir: Path, *envs: dict[str, str]
) -> Iterator[list[GatewayProcess]]:
    """Several gateways started together (their start-ups overlap), all stopped at the end."""
    started = [
        GatewayProcess(triton.grpc_url, repository, log_dir / f"gateway-{i}.log", **env)
        for i, env in enumerate(envs)
    ]
    try:
        for process in started:
            process.wait_ready()
        yield started
    finally:
        for process in started:
            process.stop()


@pytest.fixture(scope="module")
def newest(
    triton: LocalTriton, exported: Exported, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    """A gateway on the newest version: the one exported without an order."""
    with gateways(triton, exported.repository, tmp_path_factory.mktemp("gw"), {}) as started:
        yield started[0]


def classify(gateway: GatewayProcess) -> dict:
    response = httpx.post(
        f"{gateway.url}/classifier/classify",
        json={"narrative": NARRATIVE, "include_chunks": True},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_info_and_health_say_escalation_is_disabled(newest: GatewayProcess) -> None:
    info = httpx.get(f"{newest.url}/classifier/info", timeout=10).json()
    assert info["model_version"] == "2"
    assert info["escalation"] == DISABLED
    assert info["severity_order"] is None and info["escalation_threshold"] is None
    health = httpx.get(f"{newest.url}/health/models", timeout=10).json()
    assert health["models"][MODEL]["state"] == "ready"
    assert health["models"][MODEL]["escalation"] == DISABLED
    body = classify(newest)
    assert body["escalation"]["enabled"] is False and body["escalation"]["escalated"] is False
    # The same case does escalate on version 1 (next test): the chunk predicts '3'.
    assert body["chunk_predictions"][0]["labels"]["priority"] == "3"


def test_escalation_threshold_setting_decides_end_to_end(
    newest: GatewayProcess, triton: LocalTriton, exported: Exported, tmp_path: Path
) -> None:
    """Versions 1 and 2 hold the same fp32 graph, so version 2's answer gives the chunk's real
    probability p of priority '3'; thresholds just below and above p must flip the decision
    (the model's own threshold, 0.5, would escalate both)."""
    chunk = classify(newest)["chunk_predictions"][0]
    assert chunk["labels"]["priority"] == "3"
    p = chunk["confidences"]["priority"]
    assert 0.55 < p < 0.95, p
    below, above = round(p - 0.03, 3), round(p + 0.03, 3)
    envs = [
        {"TRIAGE_MODEL_VERSION": "1", "TRIAGE_ESCALATION_THRESHOLD": str(threshold)}
        for threshold in (below, above)
    ]
    with gateways(triton, exported.repository, tmp_path, *envs) as (low, high):
        escalates, stays = classify(low)["escalation"], classify(high)["escalation"]
        low_info = httpx.get(f"{low.url}/classifier/info", timeout=10).json()
        high_health = httpx.get(f"{high.url}/health/models", timeout=10).json()

    assert escalates["enabled"] and escalates["escalated"]
    assert escalates["threshold"] == pytest.approx(below)
    assert escalates["level"] == "3" and escalates["chunk_index"] == 0
    assert escalates["chunk_confidence"] == pytest.approx(p, abs=1e-4)
    assert stays["enabled"] and not stays["escalated"]
    assert stays["threshold"] == pytest.approx(above)

    assert low_info["model_version"] == "1"
    assert low_info["severity_order"] == ["1", "2", "3"]
    assert low_info["escalation_threshold"] == pytest.approx(below)
    assert low_info["escalation"] == (
        f"enabled (least to most severe: 1 < 2 < 3; a chunk predicting '3' with probability "
        f">= {below:g} escalates)"
    )
    assert high_health["models"][MODEL]["escalation"].startswith("enabled (")
    assert f">= {above:g} escalates" in high_health["models"][MODEL]["escalation"]
