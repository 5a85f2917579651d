"""The GPU benchmark (`make bench-gpu`, bench/gpu.py) on a machine without a GPU: the real
entry points refuse at once with one line and install nothing; the pure parts (sweep grid,
GPU detection, report shape, nvidia-smi parsing); the runner's provider options built from
the production config.pbtxt's TensorRT profile; and the runner's padded GPU path served by a
real Triton, on ONNX Runtime's CPU fallback (the only provider this machine has)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from google.protobuf import json_format, text_format
from python_backend import load_python_model
from tritonclient.grpc import model_config_pb2

from bench import gpu
from bench.gpu import (
    E2E_FIELDS,
    REPORT_FIELDS,
    SWEEP_FIELDS,
    accelerator_parameters,
    gpu_config_text,
    no_gpu_reason,
    render_markdown,
    sweep_cell,
    sweep_grid,
)
from bench.machine import describe, gpu_summary, parse_nvidia_smi, this_machine
from bench.processes import free_port
from client.core.buckets import DEFAULT_BUCKETS
from export.launcher import LocalTriton, TritonOptions
from export.repository import DEFAULT_MODEL_NAME, PROJECT_ROOT

PRODUCTION_CONFIG = PROJECT_ROOT / "model_repository" / DEFAULT_MODEL_NAME / "config.pbtxt"
LOCAL_CONFIG = PRODUCTION_CONFIG.parent / "configs" / "local.pbtxt"
MODEL = DEFAULT_MODEL_NAME
HAS_GPU = no_gpu_reason(gpu.gpu_listing(), Path("/dev/nvidia0").exists()) is None
no_gpu_only = pytest.mark.skipif(HAS_GPU, reason="this machine has a GPU: it would install")


# --- the entry points, on this machine without a GPU -------------------------------------------


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines, "no reason given"
    return lines[0]


@no_gpu_only
@pytest.mark.parametrize("command", ["check", "run"])
def test_the_entry_point_refuses_at_once_with_one_line(command: str) -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "bench.gpu", command],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == gpu.NO_GPU_EXIT
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("bench-gpu: no NVIDIA GPU on this machine (")
    assert time.monotonic() - started < 30


@no_gpu_only
@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_bench_gpu_exits_before_installing_anything(tmp_path: Path) -> None:
    # Both environments are pointed into tmp_path: had the target gone on to install, they
    # would appear there (and the project's own .venv is never touched).
    venv, gpu_venv = tmp_path / "venv", tmp_path / "venv-gpu"
    done = subprocess.run(
        ["make", "--no-print-directory", "bench-gpu", f"VENV={venv}", f"GPU_VENV={gpu_venv}"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert _one_line(done.stderr).startswith("bench-gpu: no NVIDIA GPU on this machine (")
    # Make adds its own "recipe failed" line after ours, nothing else is printed.
    assert len([line for line in done.stderr.splitlines() if "bench-gpu:" in line]) == 1
    assert done.stdout == ""
    assert not venv.exists() and not gpu_venv.exists()


def test_no_gpu_reason() -> None:
    listing = "GPU 0: NVIDIA H200 (UUID: GPU-0a1b2c3d)\n"
    assert no_gpu_reason(listing, device_node=False) is None
    assert no_gpu_reason(None, device_node=True) is None
    absent = no_gpu_reason(None, device_node=False)
    assert absent is not None and "nvidia-smi is not installed" in absent
    failing = no_gpu_reason("", device_node=False)
    assert failing is not None and "lists no GPU" in failing
    assert "\n" not in absent and "\n" not in failing


# --- the sweep grid and the report -------------------------------------------------------------


def test_sweep_grid_orders_cells_and_keeps_to_the_batch_limit() -> None:
    grid = sweep_grid([256, 64, 64], [8, 1, 64, 128, 0], max_batch_size=64)
    assert grid == [(64, 1), (64, 8), (64, 64), (256, 1), (256, 8), (256, 64)]
    full = sweep_grid(DEFAULT_BUCKETS, gpu.BATCH_SIZES, max_batch_size=32)
    assert len(full) == len(DEFAULT_BUCKETS) * 6 and max(b for _, b in full) == 32


def test_sweep_cell_figures() -> None:
    cell = sweep_cell("fp16", 128, 8, [0.010, 0.012, 0.011, 0.030], wall_s=0.1)
    assert tuple(cell) == SWEEP_FIELDS
    assert cell["calls"] == 4 and cell["latency_p50_ms"] == pytest.approx(11.5)
    assert cell["sequences_per_s"] == pytest.approx(320.0)
    assert cell["tokens_per_s"] == 320 * 128
    empty = sweep_cell("fp16", 128, 8, [], wall_s=0.0)
    assert empty["latency_p50_ms"] is None and empty["sequences_per_s"] is None


def _fake_report() -> dict[str, object]:
    """A report with made-up figures (its shape is under test, not any speed)."""
    sides = [
        {"side": s, "precision": p, "model_name": MODEL + x, "provider": v, "precision_mode": m}
        for s, p, x, v, m in gpu.SIDES
    ]
    grid = sweep_grid((64, 512), (1, 64), 64)
    cells = [
        sweep_cell(s["side"], bucket, batch, [0.001 * batch] * 3, 0.004 * batch)
        for s in sides
        for bucket, batch in grid
    ]
    runs = [
        {key: 1 for key in E2E_FIELDS} | {"side": s["side"], "concurrency": c}
        for c in (1, 16)
        for s in sides
    ]
    machine = describe("processor\t: 0\nmodel name\t: Test CPU\ncpu MHz\t\t: 1000\n")
    return {
        "created_at": "2026-01-01T00:00:00+00:00",
        "command": "python -m bench.gpu run",
        "host": {"gpus": ["NVIDIA H200, 143771 MiB"], "cpu": machine.summary(), "machine": {}},
        "model": {"description": "built-in tiny random-init checkpoint"},
        "settings": {"onnxruntime": "1.31.1", "tensorrt": "10.16.1.11", "sides": sides},
        "export": {},
        "sweep": cells,
        "end_to_end": runs,
        "agreement": {
            "fp16_vs_fp32_main": {"narratives": 10, "agree": 10, "rate": 1.0},
            "int8_vs_fp32_main": {"narratives": 10, "agree": 9, "rate": 0.9},
        },
        "notes": gpu.notes(random_weights=True, quick=False, cpu_fallback=False),
    }


def test_report_shape() -> None:
    report = _fake_report()
    assert tuple(report) == REPORT_FIELDS
    json.dumps(report)
    markdown = render_markdown(report)
    assert "NVIDIA H200" in markdown and "Test CPU" in markdown
    for side, *_ in gpu.SIDES:
        assert f"### {side}" in markdown
    header = "| bucket | batch | calls | p50 ms | p99 ms | sequences/s | tokens/s |"
    assert markdown.count(header) == len(gpu.SIDES)
    sweep_rows = [ln for ln in markdown.splitlines() if re.match(r"\| (64|512) \| (1|64) \|", ln)]
    assert len(sweep_rows) == len(report["sweep"])
    assert "| fp16 | 16 | 1 / 1 |" in markdown
    assert "| int8_vs_fp32_main | 10 | 9 | 0.90 |" in markdown
    assert markdown.count("\n- ") >= len(report["notes"])


# --- nvidia-smi and the machine ----------------------------------------------------------------


def test_nvidia_smi_query_is_parsed() -> None:
    text = "NVIDIA H200, 580.95.05, 143771, 9.0\nTesla T4, 470.82.01, 15109, [N/A]\n\n"
    h200, t4 = parse_nvidia_smi(text)
    assert h200 == {
        "name": "NVIDIA H200",
        "driver": "580.95.05",
        "memory_mib": 143771,
        "compute_cap": "9.0",
    }
    assert t4["compute_cap"] is None and t4["memory_mib"] == 15109
    assert gpu_summary(h200) == "NVIDIA H200, 143771 MiB, compute 9.0, driver 580.95.05"
    assert parse_nvidia_smi("No devices were found\n") == ()


@no_gpu_only
def test_this_machine_names_no_gpu_here() -> None:
    machine = this_machine()
    assert machine.gpus == () and "GPU" not in machine.summary()
    assert machine.as_dict()["gpus"] == ()


# --- the runner's providers from the production profile ----------------------------------------


def _as_triton_json(config_text: str) -> dict:
    """What Triton hands the Python backend as args["model_config"]: the parsed ModelConfig
    (Triton's schema, so a config it would refuse fails here) as JSON."""
    parsed = text_format.Parse(config_text, model_config_pb2.ModelConfig())
    return json.loads(json_format.MessageToJson(parsed, preserving_proto_field_name=True))


def _production_profile() -> dict[str, str]:
    """The production config's TensorRT settings, read straight from its text."""
    text = PRODUCTION_CONFIG.read_text()
    pairs = re.findall(r'parameters \{ key: "(\w+)" value: "([^"]*)" \}', text)
    return dict(pairs)


def test_tensorrt_options_match_the_production_profile(tmp_path: Path) -> None:
    model = load_python_model()
    profile = _production_profile()
    assert profile["precision_mode"] == "FP16"
    text = gpu_config_text(
        MODEL, "tensorrt", "FP16", accelerator_parameters(), DEFAULT_BUCKETS, 64, tmp_path
    )
    config = _as_triton_json(text)
    providers = model.execution_providers(config, device_id=1)
    (trt_name, trt), (cuda_name, cuda), cpu = providers
    assert (trt_name, cuda_name, cpu) == (
        "TensorrtExecutionProvider",
        "CUDAExecutionProvider",
        "CPUExecutionProvider",
    )
    for key in ("trt_profile_min_shapes", "trt_profile_opt_shapes", "trt_profile_max_shapes"):
        assert trt[key] == profile[key]
    assert trt["trt_max_workspace_size"] == profile["max_workspace_size_bytes"]
    assert trt["trt_fp16_enable"] == "True"
    assert trt["device_id"] == "1" and cuda == {"device_id": "1"}
    assert trt["trt_engine_cache_enable"] == "True" and trt["trt_timing_cache_enable"] == "True"
    assert trt["trt_engine_cache_path"] == str(tmp_path / MODEL)
    assert trt["trt_timing_cache_path"] == str(tmp_path)
    # Each instance its own engine cache folder (they build in parallel at load).
    (_, own), *_ = model.execution_providers(config, instance=f"{MODEL}_0_1")
    assert own["trt_engine_cache_path"] == str(tmp_path / MODEL / f"{MODEL}_0_1")
    assert config["instance_group"][0]["count"] == 2
    # The batch limit and the warm-up shapes stay inside the profile.
    assert config["max_batch_size"] == 64
    max_shape = profile["trt_profile_max_shapes"].split(",")[0].split(":")[1]
    assert max_shape == f"64x{max(DEFAULT_BUCKETS)}"

    fp32 = _as_triton_json(
        gpu_config_text(MODEL, "tensorrt", "FP32", accelerator_parameters(), (64,), 64, tmp_path)
    )
    assert model.execution_providers(fp32)[0][1]["trt_fp16_enable"] == "False"
    cuda_only = _as_triton_json(
        gpu_config_text(MODEL, "cuda", "FP32", accelerator_parameters(), (64,), 64, tmp_path)
    )
    assert model.execution_providers(cuda_only) == [
        ("CUDAExecutionProvider", {"device_id": "0"}),
        "CPUExecutionProvider",
    ]


def test_the_local_config_stays_on_cpu() -> None:
    model = load_python_model()
    assert model.execution_providers(_as_triton_json(LOCAL_CONFIG.read_text())) == [
        "CPUExecutionProvider"
    ]
    wrong = {"parameters": {"execution_provider": {"string_value": "gpu"}}}
    with pytest.raises(ValueError, match="execution_provider"):
        model.execution_providers(wrong)


# --- the padded GPU path, served by a real Triton on the CPU fallback --------------------------


def _model_ready(triton: LocalTriton, name: str) -> bool:
    try:
        url = f"http://{triton.http_url}/v2/models/{name}/ready"
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def test_the_padded_runner_serves_whole_batches(model_repository: Path, tmp_path: Path) -> None:
    """Two models from the same version: one asks for CUDA and may fall back to CPU (so this
    machine can run the padded path), one asks for TensorRT without fallback and must not
    load here, rather than run silently on CPU."""
    import tritonclient.grpc as grpcclient

    repository = tmp_path / "repository"
    version = model_repository / MODEL / "1"
    accelerator = accelerator_parameters()
    for name, provider, fallback in (("padded", "cuda", True), ("strict", "tensorrt", False)):
        shutil.copytree(version, repository / name / "1")
        (repository / name / "configs").mkdir()
        text = gpu_config_text(
            name, provider, "FP32", accelerator, (64,), 8, tmp_path / "trt",
            allow_fallback=fallback,
        )  # fmt: skip
        (repository / name / "configs" / "gpu.pbtxt").write_text(text)
    log = tmp_path / "triton.log"
    triton = LocalTriton(
        TritonOptions(
            repository=repository,
            http_port=free_port(),
            grpc_port=free_port(),
            metrics_port=free_port(),
            model_config_name="gpu",
            log_file=log,
            extra_args=["--exit-on-error=false", "--strict-readiness=false"],
        )
    ).start()
    try:
        deadline = time.monotonic() + 180
        while not _model_ready(triton, "padded") and time.monotonic() < deadline:
            assert triton.process.poll() is None, log.read_text()[-2000:]
            time.sleep(0.5)
        assert _model_ready(triton, "padded"), log.read_text()[-2000:]
        assert not _model_ready(triton, "strict")
        text = log.read_text()
        assert "TensorrtExecutionProvider could not be loaded" in text
        assert "execution providers: CPUExecutionProvider" in text

        rng = np.random.default_rng(3)
        session = ort.InferenceSession(str(version / "model.onnx"))
        client = grpcclient.InferenceServerClient(triton.grpc_url)
        try:
            # Padded rows (real lengths 64, 20, 5 in a 64 bucket) and a second length.
            for lengths, width in (((64, 20, 5), 64), ((7, 30), 40)):
                ids = rng.integers(1000, 30000, size=(len(lengths), width), dtype=np.int64)
                mask = np.zeros_like(ids)
                for row, length in enumerate(lengths):
                    mask[row, :length] = 1
                inputs = []
                for name, value in (("input_ids", ids), ("attention_mask", mask)):
                    tensor = grpcclient.InferInput(name, list(value.shape), "INT64")
                    tensor.set_data_from_numpy(value)
                    inputs.append(tensor)
                result = client.infer("padded", inputs, client_timeout=60)
                expected = session.run(None, {"input_ids": ids, "attention_mask": mask})
                names = [o.name for o in session.get_outputs()]
                for name, want in zip(names, expected, strict=True):
                    got = result.as_numpy(name)
                    assert got.shape == want.shape
                    np.testing.assert_allclose(got, want, atol=1e-4)
        finally:
            client.close()
    finally:
        triton.stop()
