"""Triton Python-backend model: runs the version's model.onnx with ONNX Runtime on CPU.

Copied as `model.py` into every model version by the export step. It serves the same
tensor names and types as the onnxruntime backend does in production, so the gateway
cannot tell which of the two is behind the model name.

How it runs on CPU: every sequence alone, cut to its real length, on a small pool of
threads that share one ONNX Runtime session (each run single-threaded). Measured with
bench.row_execution on 2 cores against one padded batch per bucket on a 2-thread session
(see configs/local.pbtxt): more throughput under load, because no core waits at an
intra-op barrier and no work is spent on padding, and a long narrative alone still uses
every core, one chunk per thread. Each sequence alone also makes int8's dynamic activation
scale a function of that sequence only, so a case gets the same answer whatever Triton
batches it with.

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
        # ONNX Runtime allows concurrent run() calls on one session and releases the GIL
        # while it computes, so these threads share the weights and run in parallel.
        workers = max(1, int(_param(config, "row_workers", "1")))
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="row") if workers > 1 else None

    def finalize(self):
        if self.pool is not None:
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

    def _run_rows(self, rows):
        """Outputs per row, in order; a failed row holds its exception instead."""
        if self.pool is None:
            results = []
            for ids, mask in rows:
                try:
                    results.append(self._run_row(ids, mask))
                except Exception as exc:  # noqa: BLE001 - reported per request
                    results.append(exc)
            return results
        # Longest first, so that the last thread to finish does not start a long row alone.
        order = sorted(range(len(rows)), key=lambda r: -rows[r][0].shape[1])
        futures = {r: self.pool.submit(self._run_row, *rows[r]) for r in order}
        return [futures[r].exception() or futures[r].result() for r in range(len(rows))]

    def _response(self, outputs):
        tensors = [pb_utils.Tensor(n, o) for n, o in zip(self.output_names, outputs, strict=True)]
        return pb_utils.InferenceResponse(output_tensors=tensors)

    def execute(self, requests):
        responses = [None] * len(requests)
        rows, owners = [], []
        for i, request in enumerate(requests):
            ids = pb_utils.get_input_tensor_by_name(request, "input_ids").as_numpy()
            mask = pb_utils.get_input_tensor_by_name(request, "attention_mask").as_numpy()
            problem = self._check(ids, mask)
            if problem:
                responses[i] = pb_utils.InferenceResponse(error=pb_utils.TritonError(problem))
                continue
            for row_ids, row_mask in zip(ids, mask, strict=True):
                length = _real_length(row_mask)
                rows.append((row_ids[None, :length], row_mask[None, :length]))
                owners.append(i)
        results = self._run_rows(rows)
        per_request = {}
        for owner, result in zip(owners, results, strict=True):
            per_request.setdefault(owner, []).append(result)
        for i, outputs in per_request.items():
            failed = next((r for r in outputs if isinstance(r, Exception)), None)
            if failed is not None:
                responses[i] = pb_utils.InferenceResponse(
                    error=pb_utils.TritonError(f"inference failed: {type(failed).__name__}")
                )
                continue
            heads = [
                np.concatenate(head).astype(np.float32, copy=False)
                for head in zip(*outputs, strict=True)
            ]
            responses[i] = self._response(heads)
        return responses
