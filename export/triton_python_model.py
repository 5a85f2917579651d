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

Never logs tensor contents: they are tokenised child-abuse narratives.
"""

import json
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils

INPUTS = ("input_ids", "attention_mask")


def _param(config, key, default):
    value = config.get("parameters", {}).get(key, {}).get("string_value")
    return default if value in (None, "") else value


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
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(_param(config, "intra_op_thread_count", "0"))
        options.inter_op_num_threads = int(_param(config, "inter_op_thread_count", "1"))
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Spinning threads burn a core while waiting for work; with several instances
        # sharing the cores that core is taken from the instance that has work.
        spinning = _param(config, "allow_spinning", "1")
        options.add_session_config_entry("session.intra_op.allow_spinning", spinning)
        self.session = ort.InferenceSession(
            os.path.join(version_dir, "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self.output_names = [output["name"] for output in config["output"]]
        self.vocab_size = int(_param(config, "vocab_size", "30522"))
        # What Triton uses for a request that names no priority (0 = none configured).
        batching = config.get("dynamic_batching") or {}
        self.default_priority = int(batching.get("default_priority_level", 0) or 0)
        # ONNX Runtime allows concurrent run() calls on one session and releases the GIL
        # while it computes, so these threads share the weights and run in parallel.
        workers = max(1, int(_param(config, "row_workers", "1")))
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="row")

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
