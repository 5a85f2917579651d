"""Triton Python-backend model: runs the version's model.onnx with ONNX Runtime on CPU.

Copied as `model.py` into every model version by the export step. It serves the same
tensor names and types as the onnxruntime backend does in production, so the gateway
cannot tell which of the two is behind the model name.

Never logs tensor contents: they are tokenised child-abuse narratives.
"""

import json
import os

import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils

INPUTS = ("input_ids", "attention_mask")


def _param(config, key, default):
    value = config.get("parameters", {}).get(key, {}).get("string_value")
    return default if value in (None, "") else value


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

    def _check(self, ids, mask):
        if ids.shape != mask.shape:
            return f"input_ids {list(ids.shape)} and attention_mask {list(mask.shape)} differ"
        if ids.ndim != 2 or ids.shape[1] == 0:
            return f"expected [batch, sequence] with sequence >= 1, got {list(ids.shape)}"
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocab_size):
            return f"input_ids must lie in [0, {self.vocab_size})"
        return None

    def _run(self, ids, mask):
        outputs = self.session.run(self.output_names, {"input_ids": ids, "attention_mask": mask})
        return [np.asarray(o, dtype=np.float32) for o in outputs]

    def _response(self, outputs):
        tensors = [pb_utils.Tensor(n, o) for n, o in zip(self.output_names, outputs, strict=True)]
        return pb_utils.InferenceResponse(output_tensors=tensors)

    def execute(self, requests):
        responses = [None] * len(requests)
        groups = {}
        for i, request in enumerate(requests):
            ids = pb_utils.get_input_tensor_by_name(request, "input_ids").as_numpy()
            mask = pb_utils.get_input_tensor_by_name(request, "attention_mask").as_numpy()
            problem = self._check(ids, mask)
            if problem:
                responses[i] = pb_utils.InferenceResponse(error=pb_utils.TritonError(problem))
                continue
            # The dynamic batcher hands over requests one by one; those of one sequence
            # length (one gateway bucket) run as a single ONNX Runtime call.
            groups.setdefault(ids.shape[1], []).append((i, ids, mask))
        for members in groups.values():
            ids = np.concatenate([m[1] for m in members])
            mask = np.concatenate([m[2] for m in members])
            try:
                outputs = self._run(ids, mask)
            except Exception as exc:  # noqa: BLE001 - reported per request, server keeps serving
                for i, _, _ in members:
                    responses[i] = pb_utils.InferenceResponse(
                        error=pb_utils.TritonError(f"inference failed: {type(exc).__name__}")
                    )
                continue
            start = 0
            for i, member_ids, _ in members:
                stop = start + len(member_ids)
                responses[i] = self._response([o[start:stop] for o in outputs])
                start = stop
        return responses
