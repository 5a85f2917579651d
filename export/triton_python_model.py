"""Triton Python-backend model: runs the version's model.onnx with ONNX Runtime on CPU.

Copied as `model.py` into every model version by the export step. It serves the same
tensor names and types as the onnxruntime backend does in production, so the gateway
cannot tell which of the two is behind the model name.

How it runs on CPU: every sequence alone, cut to its real length, on a small pool of
threads that share one ONNX Runtime session (each run single-threaded). Measured with
bench.row_execution on 2 cores against one padded batch per bucket on a 2-thread session
(docs/cpu-runner.md): more throughput under load, because no core waits at an
intra-op barrier and no work is spent on padding, and a long narrative alone still uses
every core, one chunk per thread. Each sequence alone also makes int8's dynamic activation
scale a function of that sequence only, so a case gets the same answer whatever Triton
batches it with.

Of the requests Triton hands over at once, the shortest run first and each is answered
through its response sender as soon as its own rows are done, instead of all together when
the longest is (bench.row_execution, "answer" times). Priority comes before length: Triton's
scheduler takes high-priority requests (level 1) from its queue first, and a high request
handed over together with low ones also runs first here.

A version exported as `openvino-bf16` (its metadata.json says so) runs the same rows with
OpenVINO instead of ONNX Runtime, in bf16: one compiled model with one stream per row worker,
each stream `intra_op_thread_count` threads, and one infer request per worker thread, the
equivalent of the threads sharing one single-threaded session. Same tensors in and out. On a
CPU without native bf16 OpenVINO runs f32 instead; that is logged as a warning.

On a GPU (config parameter `execution_provider`: `cuda`, or `tensorrt` with the TensorRT
accelerator's settings as config.pbtxt names them; bench/gpu.py writes such a config) the
rows are not cut: a GPU computes a padded batch in one launch, and TensorRT's shape profile
covers the gateway's buckets only. Requests of one execute call with the same sequence length
run together as one batch. The default, `cpu`, is the runner described above.

Never logs tensor contents: they are tokenised child-abuse narratives.
"""

import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils

INPUTS = ("input_ids", "attention_mask")
EXECUTION_PROVIDERS = ("cpu", "cuda", "tensorrt")
# The version precision (metadata.json) whose rows run in OpenVINO (export/openvino_runner.py).
OPENVINO_PRECISION = "openvino-bf16"
# TensorRT accelerator settings read from the config, under the keys config.pbtxt's
# `gpu_execution_accelerator` uses, and the TensorRT provider option each one sets.
TENSORRT_PARAMETERS = {
    "trt_profile_min_shapes": "trt_profile_min_shapes",
    "trt_profile_opt_shapes": "trt_profile_opt_shapes",
    "trt_profile_max_shapes": "trt_profile_max_shapes",
    "max_workspace_size_bytes": "trt_max_workspace_size",
    "trt_engine_cache_path": "trt_engine_cache_path",
    "trt_timing_cache_path": "trt_timing_cache_path",
}


def _param(config, key, default):
    value = config.get("parameters", {}).get(key, {}).get("string_value")
    return default if value in (None, "") else value


def execution_providers(config, device_id=0, instance=""):
    """ONNX Runtime's providers for the config's `execution_provider` parameter, best first.

    `tensorrt`: TensorRT in the config's `precision_mode` (FP16 or FP32) with its explicit
    shape profile; what TensorRT cannot take runs on CUDA, then CPU. `cuda`: CUDA, then CPU.
    `cpu` (the default): CPU only, as the local runner always did. `instance` (the model
    instance's name) gets its own engine cache folder: instances build their engines in
    parallel at load, and two processes writing one cache file could leave a broken engine."""
    kind = _param(config, "execution_provider", "cpu")
    if kind not in EXECUTION_PROVIDERS:
        raise ValueError(f"execution_provider must be one of {EXECUTION_PROVIDERS}, not {kind!r}")
    if kind == "cpu":
        return ["CPUExecutionProvider"]
    cuda = ("CUDAExecutionProvider", {"device_id": str(device_id)})
    if kind == "cuda":
        return [cuda, "CPUExecutionProvider"]
    precision = _param(config, "precision_mode", "FP16").upper()
    if precision not in ("FP16", "FP32"):
        raise ValueError(f"precision_mode must be FP16 or FP32, not {precision!r}")
    options = {"device_id": str(device_id), "trt_fp16_enable": str(precision == "FP16")}
    for key, option in TENSORRT_PARAMETERS.items():
        value = _param(config, key, None)
        if value is not None:
            options[option] = value
    if instance and "trt_engine_cache_path" in options:
        options["trt_engine_cache_path"] = os.path.join(options["trt_engine_cache_path"], instance)
    # Caches only where a folder is named: building the engine takes minutes on a big model.
    for cache in ("engine", "timing"):
        if f"trt_{cache}_cache_path" in options:
            options[f"trt_{cache}_cache_enable"] = "True"
    return [("TensorrtExecutionProvider", options), cuda, "CPUExecutionProvider"]


def _version_precision(version_dir):
    """The precision metadata.json names for the version ("" where it names none)."""
    try:
        with open(os.path.join(version_dir, "metadata.json")) as handle:
            return str(json.load(handle).get("precision", ""))
    except (OSError, ValueError, AttributeError):
        return ""


def _openvino_precision_warning(capabilities, precision):
    """Why an openvino-bf16 version is not running bf16 here, or None when it is."""
    if "BF16" in capabilities and precision == "bf16":
        return None
    why = (
        "this CPU has no native bf16 (OpenVINO OPTIMIZATION_CAPABILITIES lacks BF16)"
        if "BF16" not in capabilities
        else "OpenVINO compiled it so"
    )
    return (
        f"{OPENVINO_PRECISION} version runs in {precision}, not bf16: {why}, so it is no "
        "faster than fp32; serve an int8 or fp32-opt export here"
    )


class _OpenVinoRows:
    """One compiled model, `workers` streams of `threads` threads each (0: OpenVINO splits the
    cores), and one infer request per pool thread, created on that thread's first row."""

    def __init__(self, model_path, workers, threads, output_names):
        import openvino as ov

        core = ov.Core()
        config = {
            "INFERENCE_PRECISION_HINT": "bf16",
            "NUM_STREAMS": workers,
            # Instances are separate processes: pinned, each would take the same first cores.
            "ENABLE_CPU_PINNING": False,
        }
        if threads:
            config["INFERENCE_NUM_THREADS"] = workers * threads
        self.compiled = core.compile_model(model_path, "CPU", config)
        hint = self.compiled.get_property("INFERENCE_PRECISION_HINT")
        self.precision = hint.get_type_name() if hasattr(hint, "get_type_name") else str(hint)
        self.capabilities = [str(c) for c in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")]
        self.version = ov.__version__
        self.output_names = output_names
        self._local = threading.local()

    def run(self, ids, mask):
        request = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self.compiled.create_infer_request()
        result = request.infer({"input_ids": ids, "attention_mask": mask})
        # The request reuses its output buffers on its next row: copy them out.
        return [np.array(result[name], dtype=np.float32, copy=True) for name in self.output_names]


def _real_length(mask_row):
    """The length of a right-padded row (ones, then only zeros); the full row otherwise,
    so a mask of any other shape still reaches the model unchanged."""
    length = int(np.count_nonzero(mask_row))
    if 0 < length < len(mask_row) and mask_row[:length].all():
        return length
    return len(mask_row)


def _priority(request, default):
    """The request's priority level (1 runs first); `default` where it names none. Triton
    keeps its own "priority" parameter from a Python backend, so the gateway repeats the
    level in the request parameter "priority_level" (client/triton/runner.py)."""
    try:
        value = json.loads(request.parameters() or "{}").get("priority_level", 0)
        return int(value) or default
    except (ValueError, TypeError, AttributeError):
        return default


def _send(sender, response):
    """The request's one and only response. A failed send (the client went away) must not
    keep the other requests of the batch from their answers."""
    try:
        sender.send(response, flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL)
    except Exception as exc:  # noqa: BLE001 - logged, the batch goes on
        pb_utils.Logger.log_warn(f"could not send a response: {type(exc).__name__}")


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        version_dir = os.path.join(args["model_repository"], args["model_version"])
        device = int(args.get("model_instance_device_id") or 0)
        providers = execution_providers(config, device, args.get("model_instance_name", ""))
        # On a GPU the rows run padded, as one batch per sequence length (execute_padded).
        self.padded = providers != ["CPUExecutionProvider"]
        self.max_rows = max(1, int(config.get("max_batch_size") or 1))
        self.output_names = [output["name"] for output in config["output"]]
        self.vocab_size = int(_param(config, "vocab_size", "30522"))
        # What Triton uses for a request that names no priority (0 = none configured).
        batching = config.get("dynamic_batching") or {}
        self.default_priority = int(batching.get("default_priority_level", 0) or 0)
        workers = max(1, int(_param(config, "row_workers", "1")))
        self.openvino = None
        if _version_precision(version_dir) == OPENVINO_PRECISION:
            if self.padded:
                raise RuntimeError(f"{OPENVINO_PRECISION} versions run on CPU only")
            self.openvino = self._load_openvino(version_dir, config, workers)
        else:
            self._load_onnxruntime(version_dir, config, providers)
        # ONNX Runtime allows concurrent run() calls on one session, OpenVINO concurrent
        # infer requests on one compiled model; both release the GIL while they compute, so
        # these threads share the weights and run in parallel.
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="row")

    def _load_openvino(self, version_dir, config, workers):
        threads = int(_param(config, "intra_op_thread_count", "0"))
        rows = _OpenVinoRows(
            os.path.join(version_dir, "model.onnx"), workers, threads, self.output_names
        )
        pb_utils.Logger.log_info(
            f"{OPENVINO_PRECISION}: OpenVINO {rows.version} runs in {rows.precision}, "
            f"{workers} streams x {threads or 'auto'} threads"
        )
        warning = _openvino_precision_warning(rows.capabilities, rows.precision)
        if warning:
            pb_utils.Logger.log_warn(warning)
        return rows

    def _load_onnxruntime(self, version_dir, config, providers):
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(_param(config, "intra_op_thread_count", "0"))
        options.inter_op_num_threads = int(_param(config, "inter_op_thread_count", "1"))
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Spinning threads burn a core while waiting for work; with several instances
        # sharing the cores that core is taken from the instance that has work.
        spinning = _param(config, "allow_spinning", "1")
        options.add_session_config_entry("session.intra_op.allow_spinning", spinning)
        if self.padded and hasattr(ort, "preload_dlls"):
            # onnxruntime-gpu finds CUDA and cuDNN from NVIDIA's pip wheels this way; where it
            # cannot, the provider check below says so.
            try:
                ort.preload_dlls()
            except Exception as exc:  # noqa: BLE001 - only a missed shortcut
                pb_utils.Logger.log_warn(f"preload_dlls failed: {type(exc).__name__}")
        self.session = ort.InferenceSession(
            os.path.join(version_dir, "model.onnx"), options, providers=providers
        )
        if self.padded:
            # ONNX Runtime drops a provider it cannot load with only a warning; a GPU model
            # silently running on CPU must not load (unless asked for: bench/gpu.py's
            # --cpu-fallback, a check of the machinery on a machine without a GPU).
            wanted, active = providers[0][0], self.session.get_providers()
            if wanted not in active and _param(config, "allow_provider_fallback", "0") != "1":
                raise RuntimeError(f"{wanted} could not be loaded; ONNX Runtime has {active}")
            pb_utils.Logger.log_info(f"execution providers: {', '.join(active)}")

    def finalize(self):
        self.pool.shutdown(wait=True)

    def _check(self, ids, mask):
        if ids.shape != mask.shape:
            return f"input_ids {list(ids.shape)} and attention_mask {list(mask.shape)} differ"
        if ids.ndim != 2 or ids.shape[0] == 0 or ids.shape[1] == 0:
            return f"expected [batch, sequence], both >= 1, got {list(ids.shape)}"
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocab_size):
            return f"input_ids must lie in [0, {self.vocab_size})"
        return None

    def _run_row(self, ids, mask):
        if self.openvino is not None:
            return self.openvino.run(ids, mask)
        return self.session.run(self.output_names, {"input_ids": ids, "attention_mask": mask})

    def _answer(self, futures):
        """The request's response: its four heads, rows in order, or the error of the first
        of its rows that failed."""
        outputs = []
        for future in futures:
            failed = future.exception()
            if failed is not None:
                message = f"inference failed: {type(failed).__name__}"
                return pb_utils.InferenceResponse(error=pb_utils.TritonError(message))
            outputs.append(future.result())
        tensors = [
            pb_utils.Tensor(name, np.concatenate(head).astype(np.float32, copy=False))
            for name, head in zip(self.output_names, zip(*outputs, strict=True), strict=True)
        ]
        return pb_utils.InferenceResponse(output_tensors=tensors)

    def _execute_padded(self, requests):
        """GPU: the rows as sent (padded to the bucket), requests of the same sequence length
        concatenated and run together, at most max_batch_size rows per run."""
        groups = {}
        for request in requests:
            sender = request.get_response_sender()
            try:
                ids = pb_utils.get_input_tensor_by_name(request, "input_ids").as_numpy()
                mask = pb_utils.get_input_tensor_by_name(request, "attention_mask").as_numpy()
                problem = self._check(ids, mask)
            except Exception as exc:  # noqa: BLE001 - answered as this request's error
                problem = f"unreadable request: {type(exc).__name__}"
            if problem:
                _send(sender, pb_utils.InferenceResponse(error=pb_utils.TritonError(problem)))
                continue
            groups.setdefault(ids.shape[1], []).append((sender, ids, mask))
        for group in groups.values():
            ids = np.concatenate([g[1] for g in group])
            mask = np.concatenate([g[2] for g in group])
            try:
                heads = [[] for _ in self.output_names]
                for start in range(0, len(ids), self.max_rows):
                    part = slice(start, start + self.max_rows)
                    for head, out in zip(heads, self._run_row(ids[part], mask[part]), strict=True):
                        head.append(out)
                heads = [np.concatenate(head).astype(np.float32, copy=False) for head in heads]
            except Exception as exc:  # noqa: BLE001 - every request of the group is answered
                error = pb_utils.TritonError(f"inference failed: {type(exc).__name__}")
                for sender, _, _ in group:
                    _send(sender, pb_utils.InferenceResponse(error=error))
                continue
            start = 0
            for sender, rows, _ in group:
                end = start + len(rows)
                tensors = [
                    pb_utils.Tensor(name, head[start:end])
                    for name, head in zip(self.output_names, heads, strict=True)
                ]
                _send(sender, pb_utils.InferenceResponse(output_tensors=tensors))
                start = end
        return None

    def execute(self, requests):
        """Answers through each request's response sender, as soon as its own rows are done
        (highest priority, then shortest request first), so a short narrative batched with a
        long one does not wait for it; execute returns once every request is answered."""
        jobs = []
        for request in requests:
            sender = request.get_response_sender()
            # Every request must get its one response: one that cannot be read gets an error
            # instead of an exception that would leave the others unanswered.
            try:
                ids = pb_utils.get_input_tensor_by_name(request, "input_ids").as_numpy()
                mask = pb_utils.get_input_tensor_by_name(request, "attention_mask").as_numpy()
                problem = self._check(ids, mask)
            except Exception as exc:  # noqa: BLE001 - answered as this request's error
                problem = f"unreadable request: {type(exc).__name__}"
            if problem:
                _send(sender, pb_utils.InferenceResponse(error=pb_utils.TritonError(problem)))
                continue
            rows = []
            for row_ids, row_mask in zip(ids, mask, strict=True):
                length = _real_length(row_mask)
                rows.append((row_ids[None, :length], row_mask[None, :length]))
            jobs.append((_priority(request, self.default_priority), sender, rows))
        jobs.sort(key=lambda job: (job[0], sum(ids.shape[1] for ids, _ in job[2])))
        pending = []
        for _, sender, rows in jobs:
            # Longest row first, so that the request's last row to start is a short one.
            order = sorted(range(len(rows)), key=lambda r: -rows[r][0].shape[1])
            futures = {r: self.pool.submit(self._run_row, *rows[r]) for r in order}
            pending.append((sender, [futures[r] for r in range(len(rows))]))
        for sender, futures in pending:
            _send(sender, self._answer(futures))
        return None
