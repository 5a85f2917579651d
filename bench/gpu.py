"""The GPU benchmark behind `make bench-gpu`: the exports a GPU serves, a local Triton whose
runner uses the GPU, a throughput / latency sweep per bucket and batch size, end-to-end runs
through the gateway, and fp16 / int8 agreement with fp32, in a report like bench.compare's.

    python3 -m bench.gpu check          # exit 2 and one line where there is no NVIDIA GPU
    .venv-gpu/bin/python -m bench.gpu run [--checkpoint DIR] [--quick] [--out DIR]

`make bench-gpu` runs `check` first, with no environment yet (this module imports only the
standard library at the top, so any python3 runs it), then builds `.venv-gpu` (the GPU wheels
of bench/requirements-gpu.txt over `.venv`'s packages) and runs `run` in it.

`run`:
1. the checkpoint (default: a MiniLM-sized random-init one in the production format; `--quick`
   a tiny one) is exported, as operators do, into a temporary repository, one model per side:
   `fp16` (the GPU graph, `helpline-export export --precision fp16`) as helpline_classifier,
   served by TensorRT in FP16 as the production config.pbtxt does; `fp32` (the plain graph) by
   TensorRT in FP32; `int8` (the CPU int8 recipe) on the CUDA provider, since TensorRT cannot
   take its dynamic-quantization and fused contrib ops: for its agreement, not a GPU path;
2. each model gets a `configs/gpu.pbtxt` for Triton's Python backend, whose runner
   (export/triton_python_model.py, `execution_provider`) takes the TensorRT settings and the
   one shape profile from the production config.pbtxt, so the sweep runs what production
   builds; the runner refuses to load when its GPU provider cannot be loaded;
3. Triton starts (export/launcher.py, `--model-config-name=gpu`); TensorRT engines are built
   at load and cached under .cache/trt;
4. the sweep: per side, bucket and batch size 1..max_batch_size, padded batches sent straight
   to Triton (gRPC), one at a time: latency p50 / p99 per call, sequences/s and tokens/s;
5. end to end: one gateway per side, closed-loop runs of the bench workload at a few
   concurrencies (bench.loadgen), and fp16 / int8 vs fp32 main-category agreement on the
   same narratives (those the timed runs did not reach are sent once more);
6. `bench/results/gpu-<time>/` gets report.json, report.md, the workload and the server logs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

NO_GPU_EXIT = 2
ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_CONFIG = ROOT / "model_repository" / "helpline_classifier" / "config.pbtxt"
GPU_CONFIG_NAME = "gpu"
BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64)
CONCURRENCY = (1, 16, 64)


def gpu_listing(timeout_s: float = 20.0) -> str | None:
    """`nvidia-smi -L` output; "" when it fails, None when it is not installed."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        done = subprocess.run(
            [smi, "-L"], capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout if done.returncode == 0 else ""


def no_gpu_reason(listing: str | None, device_node: bool) -> str | None:
    """Why this machine cannot run the benchmark, in one line; None when it has a GPU
    (`nvidia-smi -L` lists one, or the driver's /dev/nvidia0 exists)."""
    if any(line.startswith("GPU ") for line in (listing or "").splitlines()) or device_node:
        return None
    smi = "nvidia-smi is not installed" if listing is None else "nvidia-smi -L lists no GPU"
    return (
        f"bench-gpu: no NVIDIA GPU on this machine ({smi}, no /dev/nvidia0); "
        "nothing was installed or run"
    )


def check() -> int:
    reason = no_gpu_reason(gpu_listing(), Path("/dev/nvidia0").exists())
    if reason:
        print(reason, file=sys.stderr)
        return NO_GPU_EXIT
    return 0


def link(site_packages: str) -> int:
    """Makes this interpreter's environment (the GPU venv) see `site_packages` (`.venv`'s)
    after its own: a .pth that adds it as a site directory, so the GPU wheels installed
    here come first and everything else is `.venv`'s, editable project install included."""
    import sysconfig

    own = Path(sysconfig.get_paths()["purelib"])
    line = f"import site; site.addsitedir({str(Path(site_packages).resolve())!r})\n"
    (own / "zz_project_venv.pth").write_text(line)
    return 0


# --- pure parts: the grid, the configs, the figures -----------------------------------------


def sweep_grid(
    buckets: Sequence[int], batch_sizes: Sequence[int], max_batch_size: int
) -> list[tuple[int, int]]:
    """(bucket, batch size) cells, buckets ascending, then batch sizes ascending; batch sizes
    above the model's max_batch_size are left out (Triton would refuse them)."""
    batches = sorted({b for b in batch_sizes if 1 <= b <= max_batch_size})
    return [(bucket, batch) for bucket in sorted(set(buckets)) for batch in batches]


def accelerator_parameters(config_path: Path = PRODUCTION_CONFIG) -> dict[str, str]:
    """The TensorRT accelerator's parameters of a Triton config (the production one by
    default), parsed with Triton's own ModelConfig schema."""
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    config = text_format.Parse(config_path.read_text(), model_config_pb2.ModelConfig())
    for accelerator in config.optimization.execution_accelerators.gpu_execution_accelerator:
        if accelerator.name == "tensorrt":
            return dict(accelerator.parameters)
    raise ValueError(f"{config_path} has no tensorrt gpu_execution_accelerator")


def max_batch_size(config_path: Path = PRODUCTION_CONFIG) -> int:
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    config = text_format.Parse(config_path.read_text(), model_config_pb2.ModelConfig())
    return int(config.max_batch_size)


# TensorRT settings taken over from the production config; its cache folders (a container
# volume) are replaced by the benchmark's own.
_TAKEN_OVER = (
    "trt_profile_min_shapes",
    "trt_profile_opt_shapes",
    "trt_profile_max_shapes",
    "max_workspace_size_bytes",
)


def gpu_config_text(
    model_name: str,
    provider: str,
    precision_mode: str,
    accelerator: Mapping[str, str],
    buckets: Sequence[int],
    max_batch: int,
    cache_dir: Path,
    *,
    instances: int = 2,
    allow_fallback: bool = False,
) -> str:
    """configs/gpu.pbtxt of one benchmarked model: the Python backend on a GPU provider,
    with the production config's TensorRT profile, batch limit and priority levels."""
    parameters = {
        "execution_provider": provider,
        "precision_mode": precision_mode,
        **{key: accelerator[key] for key in _TAKEN_OVER if key in accelerator},
        "trt_engine_cache_path": str(cache_dir / model_name),
        "trt_timing_cache_path": str(cache_dir),
        "allow_provider_fallback": "1" if allow_fallback else "0",
        # Threads that spin after each run take host cores the gateway and Triton need.
        "allow_spinning": "0",
        "vocab_size": "30522",
    }
    tensors = ",\n".join(
        f'  {{ name: "{name}" data_type: TYPE_INT64 dims: [ -1 ] }}'
        for name in ("input_ids", "attention_mask")
    )
    outputs = ("logits_main", "logits_sub", "logits_intervention", "logits_priority")
    output_text = ",\n".join(
        f'  {{ name: "{name}" data_type: TYPE_FP32 dims: [ -1 ] }}' for name in outputs
    )
    parameter_text = "\n".join(
        f'parameters {{ key: "{k}" value: {{ string_value: "{v}" }} }}'
        for k, v in parameters.items()
    )
    warmups = ",\n".join(
        f"""  {{
    name: "warmup_{max_batch}x{bucket}"
    batch_size: {max_batch}
    inputs {{ key: "input_ids" value: {{ data_type: TYPE_INT64 dims: [ {bucket} ] zero_data: true }} }}
    inputs {{ key: "attention_mask" value: {{ data_type: TYPE_INT64 dims: [ {bucket} ] zero_data: true }} }}
  }}"""  # noqa: E501
        for bucket in sorted(set(buckets))
    )
    return f"""# Written by bench/gpu.py: the runner on {provider} ({precision_mode}).
name: "{model_name}"
backend: "python"
max_batch_size: {max_batch}
version_policy: {{ latest: {{ num_versions: 1 }} }}
input [
{tensors}
]
output [
{output_text}
]
# The runner's process is a host process; ONNX Runtime places the model on the GPU. Two
# instances by default: with one, a call sent right after the previous answer found the
# instance still busy and waited ~500 ms now and then (measured on CPU with this Triton).
instance_group [ {{ count: {instances} kind: KIND_CPU }} ]
# No queue delay: the sweep sends one call at a time, which a delay would only lengthen, and
# under load requests that queue while an instance is busy still reach it together.
dynamic_batching {{
  max_queue_delay_microseconds: 0
  priority_levels: 2
  default_priority_level: 2
}}
{parameter_text}
# One warm-up per bucket at the largest batch: every shape has run before the model is ready.
model_warmup [
{warmups}
]
"""


def _percentile(values: Sequence[float], q: float) -> float | None:
    import numpy as np

    return round(float(np.percentile(values, q)), 3) if values else None


def sweep_cell(
    side: str, bucket: int, batch: int, latencies_s: Sequence[float], wall_s: float
) -> dict[str, object]:
    """One cell of the sweep from its calls' latencies and the wall time they took."""
    calls = len(latencies_s)
    ms = [latency * 1000 for latency in latencies_s]
    per_s = calls * batch / wall_s if wall_s > 0 and calls else None
    return {
        "side": side,
        "bucket": bucket,
        "batch": batch,
        "calls": calls,
        "latency_p50_ms": _percentile(ms, 50),
        "latency_p99_ms": _percentile(ms, 99),
        "sequences_per_s": round(per_s, 1) if per_s else None,
        "tokens_per_s": round(per_s * bucket) if per_s else None,
    }


# Top-level keys of report.json; tests check the report has every one.
REPORT_FIELDS = (
    "created_at",
    "command",
    "host",
    "model",
    "settings",
    "export",
    "sweep",
    "end_to_end",
    "agreement",
    "notes",
)
SWEEP_FIELDS = (
    "side",
    "bucket",
    "batch",
    "calls",
    "latency_p50_ms",
    "latency_p99_ms",
    "sequences_per_s",
    "tokens_per_s",
)
E2E_FIELDS = (
    "side",
    "concurrency",
    "requests",
    "ok",
    "error_rate",
    "narratives_per_s",
    "chunks_per_s",
    "latency_p50_ms",
    "latency_p99_ms",
)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
    return str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


def render_markdown(report: Mapping[str, object]) -> str:
    """report.md: the machine, the sides, the sweep per side (bucket x batch), the gateway
    runs and the agreement."""
    host, settings = report["host"], report["settings"]
    gpus = host.get("gpus") or []
    lines = [
        "# GPU benchmark",
        "",
        f"Created {report['created_at']} with `{report['command']}`.",
        "",
        f"- GPU: {'; '.join(str(g) for g in gpus) or 'none found'}",
        f"- CPU: {host.get('cpu')}",
        f"- ONNX Runtime {settings.get('onnxruntime')}, TensorRT {settings.get('tensorrt')}",
        f"- model: {report['model'].get('description')}",
        "",
        "## Sides",
        "",
    ]
    lines += _table(
        ("side", "graph", "model name", "provider", "precision"),
        [
            (s["side"], s["precision"], s["model_name"], s["provider"], s["precision_mode"])
            for s in settings["sides"]
        ],
    )
    lines += ["", "## Sweep: padded batches straight to Triton, one call at a time", ""]
    sweep = report["sweep"]
    for side in dict.fromkeys(cell["side"] for cell in sweep):
        lines += [f"### {side}", ""]
        rows = [
            (
                c["bucket"],
                c["batch"],
                c["calls"],
                c["latency_p50_ms"],
                c["latency_p99_ms"],
                c["sequences_per_s"],
                c["tokens_per_s"],
            )
            for c in sweep
            if c["side"] == side
        ]
        header = ("bucket", "batch", "calls", "p50 ms", "p99 ms", "sequences/s", "tokens/s")
        lines += [*_table(header, rows), ""]
    lines += ["## End to end through the gateway (closed loop)", ""]
    lines += _table(
        ("side", "concurrency", "ok / requests", "narratives/s", "chunks/s", "p50 ms", "p99 ms"),
        [
            (
                r["side"],
                r["concurrency"],
                f"{r['ok']} / {r['requests']}",
                r["narratives_per_s"],
                r["chunks_per_s"],
                r["latency_p50_ms"],
                r["latency_p99_ms"],
            )
            for r in report["end_to_end"]
        ],
    )
    lines += ["", "## Agreement with fp32 (main category, same narratives)", ""]
    lines += _table(
        ("pair", "narratives", "agree", "rate"),
        [
            (pair, a.get("narratives"), a.get("agree"), a.get("rate"))
            for pair, a in report["agreement"].items()
        ],
    )
    lines += ["", "## Notes", ""] + [f"- {note}" for note in report["notes"]]
    return "\n".join(lines) + "\n"


# --- the run: everything below needs the GPU environment ------------------------------------

SIDES = (
    # side, export precision, model name suffix, provider, TensorRT precision_mode
    ("fp16", "fp16", "", "tensorrt", "FP16"),
    ("fp32", "fp32", "_fp32", "tensorrt", "FP32"),
    ("int8", "int8", "_int8", "cuda", "FP32"),
)


def log(message: str) -> None:
    print(f"[bench-gpu {time.strftime('%H:%M:%S')}] {message}", flush=True)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="exit 2 with one line where there is no NVIDIA GPU")
    linker = sub.add_parser("link", help="make this venv see another's packages (Makefile)")
    linker.add_argument("site_packages")
    run = sub.add_parser("run", help="the benchmark (in .venv-gpu)")
    run.add_argument("--checkpoint", type=Path, default=None, help="production-format folder")
    run.add_argument("--quick", action="store_true", help="tiny model, small grid (smoke)")
    run.add_argument("--out", type=Path, default=None, help="default bench/results/gpu-<time>")
    run.add_argument("--batch-sizes", default=None, help="comma-separated, default 1..64")
    run.add_argument("--buckets", default=None, help="comma-separated, default the gateway's")
    run.add_argument("--concurrency", default=None, help="gateway runs, default 1,16,64")
    run.add_argument("--calls", type=int, default=None, help="timed calls per sweep cell")
    run.add_argument("--duration-s", type=float, default=None, help="per gateway run, at most")
    run.add_argument("--workload-n", type=int, default=None, help="narratives (default 300)")
    run.add_argument("--instances", type=int, default=2, help="runner instances per model")
    run.add_argument(
        "--cpu-fallback",
        action="store_true",
        help="no GPU needed: every step on ONNX Runtime's CPU fallback, to check the "
        "machinery only; the figures mean nothing",
    )
    return parser.parse_args(argv)


def _ints(text: str | None, default: Sequence[int]) -> tuple[int, ...]:
    if not text:
        return tuple(default)
    return tuple(int(v) for v in text.split(",") if v.strip())


def library_environment() -> None:
    """Lets the Triton stub processes load the GPU wheels: the NVIDIA libraries' folders on
    LD_LIBRARY_PATH, and `.venv`'s packages after the GPU venv's own on PYTHONPATH (the
    launcher puts this interpreter's site-packages first)."""
    import site

    own = site.getsitepackages()
    libraries = []
    for folder in map(Path, own):
        libraries += sorted(str(p) for p in folder.glob("nvidia/*/lib") if p.is_dir())
        libraries += [str(p) for p in (folder / "tensorrt_libs",) if p.is_dir()]
    linked = [p for p in sys.path if p.endswith("site-packages") and p not in own]
    for key, paths in (("LD_LIBRARY_PATH", libraries), ("PYTHONPATH", linked)):
        current = os.environ.get(key, "")
        os.environ[key] = ":".join([*paths, *([current] if current else [])])


def runtime_versions() -> dict[str, str | None]:
    import onnxruntime

    try:
        import tensorrt

        trt = str(tensorrt.__version__)
    except Exception:  # noqa: BLE001 - absent or unloadable: reported as unknown
        trt = None
    return {
        "onnxruntime": onnxruntime.__version__,
        "onnxruntime_providers": ", ".join(onnxruntime.get_available_providers()),
        "tensorrt": trt,
    }


def export_sides(
    checkpoint: Path, repository: Path, base_name: str, sides: Sequence[tuple]
) -> dict[str, dict]:
    from export.pipeline import export_checkpoint

    exported = {}
    for side, precision, suffix, _, _ in sides:
        log(f"exporting {precision} as {base_name}{suffix}")
        # No agreement bar: the benchmark reports agreement as it is.
        result = export_checkpoint(
            str(checkpoint),
            repository,
            base_name + suffix,
            precision,
            version=1,
            min_main_agreement=0.0,
        )
        exported[side] = {
            "precision": precision,
            "seconds": round(result.seconds, 1),
            "parity": result.parity.to_dict(),
        }
    return exported


def sweep(
    grpc_url: str,
    model_name: str,
    side: str,
    grid: Sequence[tuple[int, int]],
    calls: int,
    max_cell_s: float,
) -> list[dict[str, object]]:
    """Per cell: two warm-up calls, then `calls` timed calls (fewer where a cell would run
    longer than `max_cell_s`), one at a time, of a padded batch of random token ids."""
    import numpy as np
    import tritonclient.grpc as grpcclient

    client = grpcclient.InferenceServerClient(grpc_url)
    rng = np.random.default_rng(0)
    cells = []
    try:
        for bucket, batch in grid:
            ids = rng.integers(1000, 30000, size=(batch, bucket), dtype=np.int64)
            mask = np.ones_like(ids)
            inputs = []
            for name, value in (("input_ids", ids), ("attention_mask", mask)):
                tensor = grpcclient.InferInput(name, list(value.shape), "INT64")
                tensor.set_data_from_numpy(value)
                inputs.append(tensor)
            for _ in range(2):
                client.infer(model_name, inputs, client_timeout=600)
            latencies = []
            started = time.perf_counter()
            while len(latencies) < calls and time.perf_counter() - started < max_cell_s:
                sent = time.perf_counter()
                client.infer(model_name, inputs, client_timeout=600)
                latencies.append(time.perf_counter() - sent)
            cell = sweep_cell(side, bucket, batch, latencies, time.perf_counter() - started)
            log(
                f"{side:>5} {bucket:>3} x {batch:>2}: p50 {cell['latency_p50_ms']} ms, "
                f"{cell['sequences_per_s']} sequences/s"
            )
            cells.append(cell)
    finally:
        client.close()
    return cells


def end_to_end(
    urls: Mapping[str, str],
    items: Sequence,
    concurrency: Sequence[int],
    duration_s: float,
    requests: int,
    timeout_s: float,
) -> tuple[list[dict[str, object]], dict[str, dict[int, str]]]:
    """Closed-loop runs per side and concurrency, and each side's main category per workload
    position (completed to the whole workload for the agreement)."""
    from bench.compare import warmup_order
    from bench.loadgen import run

    answers: dict[str, dict[int, str]] = {side: {} for side in urls}
    runs = []

    def collect(side: str, result) -> None:
        for record in result.records:
            if record.ok and record.main_category is not None:
                answers[side].setdefault(record.index, record.main_category)

    for side, url in urls.items():
        order = warmup_order(items, 8)
        collect(side, run(url, items, 4, max_requests=8, duration_s=timeout_s, order=order))
    for level in concurrency:
        for side, url in urls.items():
            result = run(
                url,
                items,
                level,
                max_requests=requests,
                duration_s=duration_s,
                label=side,
                timeout_s=timeout_s,
            )
            collect(side, result)
            summary = result.summary()
            row = {"side": side, "concurrency": level, **summary}
            runs.append({key: row[key] for key in E2E_FIELDS})
            log(
                f"gateway {side:>5} at {level:>2}: {summary['narratives_per_s']:.1f} "
                f"narratives/s, p50 {summary['latency_p50_ms']} ms, p99 "
                f"{summary['latency_p99_ms']} ms"
            )
    for side, url in urls.items():
        missing = [i for i in range(len(items)) if i not in answers[side]]
        if missing:
            result = run(
                url,
                items,
                8,
                max_requests=len(missing),
                duration_s=timeout_s * 10,
                timeout_s=timeout_s,
                order=missing,
            )
            collect(side, result)
    return runs, answers


def notes(random_weights: bool, quick: bool, cpu_fallback: bool) -> list[str]:
    found = []
    if cpu_fallback:
        found.append(
            "--cpu-fallback: no GPU was used; every model ran on ONNX Runtime's CPU provider. "
            "This checks the machinery only: the figures mean nothing."
        )
    if quick:
        found.append("--quick: a tiny model and a small grid; the figures mean nothing.")
    if random_weights:
        found.append(
            "Random weights: speed is that of a trained model of the same size; agreement "
            "checks numerical parity only and must be taken again on a trained checkpoint."
        )
    found.append(
        "The runner is Triton's Python backend with ONNX Runtime's TensorRT provider, set up "
        "as the production config.pbtxt sets the onnxruntime backend's TensorRT accelerator "
        "(one profile, FP16): the same TensorRT engine, plus the Python backend's per-call "
        "overhead (shared-memory copies, a Python execute), which the onnxruntime backend of "
        "the production container does not have. The fp16 and fp32 sides serve the same "
        "graph file (standard ONNX ops, fp32 weights); only TensorRT's precision differs."
    )
    found.append(
        "int8 is the CPU recipe (dynamic quantization over fused contrib ops), run on the CUDA "
        "provider for its agreement; it is not a GPU serving path."
    )
    return found


def run_benchmark(args: argparse.Namespace) -> Path:
    import tempfile
    from datetime import UTC, datetime

    from bench.compare import _MINILM, _TINY, random_checkpoint
    from bench.machine import gpu_summary, this_machine
    from bench.processes import free_port, start_gateway
    from bench.report import agreement
    from bench.workload import ChunkPlan, build_workload, write_workload
    from client.core.buckets import DEFAULT_BUCKETS
    from export.launcher import LocalTriton, TritonOptions
    from export.pipeline import trained_max_length
    from export.repository import DEFAULT_MODEL_NAME, PROJECT_ROOT

    library_environment()
    versions = runtime_versions()
    providers = versions["onnxruntime_providers"] or ""
    if not args.cpu_fallback and "TensorrtExecutionProvider" not in providers:
        raise SystemExit(
            f"bench-gpu: ONNX Runtime here has no TensorRT provider ({providers}); "
            "run it through `make bench-gpu`, which installs bench/requirements-gpu.txt"
        )
    quick = args.quick
    buckets = _ints(args.buckets, (64, 256) if quick else DEFAULT_BUCKETS)
    limit = max_batch_size()
    grid = sweep_grid(buckets, _ints(args.batch_sizes, (1, 8) if quick else BATCH_SIZES), limit)
    concurrency = _ints(args.concurrency, (1, 4) if quick else CONCURRENCY)
    calls = args.calls or (3 if quick else 50)
    duration_s = args.duration_s or (5.0 if quick else 30.0)
    workload_n = args.workload_n or (8 if quick else 300)
    requests = 12 if quick else 5000
    timeout_s = 600.0

    machine = this_machine()
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out = args.out or PROJECT_ROOT / "bench" / "results" / f"gpu-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    log(f"machine: {machine.summary()}")
    log(f"ONNX Runtime {versions['onnxruntime']} ({providers}), TensorRT {versions['tensorrt']}")
    log(f"results go to {out}")
    accelerator = accelerator_parameters()
    cache = PROJECT_ROOT / ".cache" / "trt"
    cache.mkdir(parents=True, exist_ok=True)
    sides = [
        {
            "side": side,
            "precision": precision,
            "model_name": DEFAULT_MODEL_NAME + suffix,
            "provider": provider,
            "precision_mode": mode,
        }
        for side, precision, suffix, provider, mode in SIDES
    ]

    with tempfile.TemporaryDirectory(prefix="bench-gpu-") as tmp:
        work = Path(tmp)
        random_weights = args.checkpoint is None
        checkpoint = args.checkpoint or random_checkpoint(
            work / "checkpoint", _TINY if quick else _MINILM
        )
        max_length = int(
            json.loads((checkpoint / "config.json").read_text())["max_position_embeddings"]
        )
        served = min(trained_max_length(checkpoint) or max_length, max_length)
        items, source = build_workload(
            workload_n, 5, checkpoint, ChunkPlan(max_length=served).resolved()
        )
        write_workload(items, out / "workload.jsonl")
        repository = work / "model_repository"
        exported = export_sides(checkpoint, repository, DEFAULT_MODEL_NAME, SIDES)
        for side in sides:
            text = gpu_config_text(
                side["model_name"],
                side["provider"],
                side["precision_mode"],
                accelerator,
                buckets,
                limit,
                cache,
                instances=args.instances,
                allow_fallback=args.cpu_fallback,
            )
            (repository / side["model_name"] / "configs" / f"{GPU_CONFIG_NAME}.pbtxt").write_text(
                text
            )
        log("starting Triton (TensorRT builds its engines at load: minutes the first time)")
        triton = LocalTriton(
            TritonOptions(
                repository=repository,
                http_port=free_port(),
                grpc_port=free_port(),
                metrics_port=free_port(),
                model_config_name=GPU_CONFIG_NAME,
                log_file=out / "logs" / "triton.log",
            )
        ).start()
        gateways = {}
        try:
            triton.wait_ready(3600)
            cells = []
            for side in sides:
                cells += sweep(
                    triton.grpc_url,
                    side["model_name"],
                    side["side"],
                    grid,
                    calls,
                    max_cell_s=10.0,
                )
            for side in sides:
                gateways[side["side"]] = start_gateway(
                    f"gateway_{side['side']}",
                    triton.grpc_url,
                    repository,
                    1,
                    out / "logs" / f"gateway_{side['side']}.log",
                    TRIAGE_MODEL_NAME=side["model_name"],
                    TRIAGE_BUCKETS=",".join(str(b) for b in DEFAULT_BUCKETS),
                    TRIAGE_REQUEST_TIMEOUT_S=str(timeout_s),
                )
            for gateway in gateways.values():
                gateway.wait_ready("/readyz")
            urls = {side: gateway.url for side, gateway in gateways.items()}
            runs, answers = end_to_end(urls, items, concurrency, duration_s, requests, timeout_s)
        finally:
            for gateway in gateways.values():
                gateway.stop()
            triton.stop()

    command = "python -m bench.gpu " + " ".join(sys.argv[1:])
    report: dict[str, object] = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command.strip(),
        "host": {
            "gpus": [gpu_summary(g) for g in machine.gpus],
            "cpu": machine.summary().split("; GPU")[0],
            "machine": machine.as_dict(),
        },
        "model": {
            "description": (
                str(checkpoint)
                if not random_weights
                else f"built-in {'tiny' if quick else 'MiniLM-sized'} random-init checkpoint"
            ),
            "random_weights": random_weights,
            "max_length": max_length,
            "served_max_length": served,
        },
        "settings": {
            **versions,
            "sides": sides,
            "accelerator": accelerator,
            "max_batch_size": limit,
            "grid": [list(cell) for cell in grid],
            "calls_per_cell": calls,
            "concurrency": list(concurrency),
            "duration_s": duration_s,
            "workload": {"source": source, "narratives": len(items)},
            "instances": args.instances,
            "cpu_fallback": args.cpu_fallback,
        },
        "export": exported,
        "sweep": cells,
        "end_to_end": runs,
        "agreement": {
            "fp16_vs_fp32_main": agreement(answers, "fp16", "fp32"),
            "int8_vs_fp32_main": agreement(answers, "int8", "fp32"),
        },
        "notes": notes(random_weights, quick, args.cpu_fallback),
    }
    (out / "report.json").write_text(json.dumps(report, indent=1))
    (out / "report.md").write_text(render_markdown(report))
    log(f"wrote {out / 'report.md'}")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == "check":
        return check()
    if args.command == "link":
        return link(args.site_packages)
    if not args.cpu_fallback and check() != 0:
        return NO_GPU_EXIT
    run_benchmark(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
