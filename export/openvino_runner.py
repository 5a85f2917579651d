"""An exported graph in OpenVINO's CPU plugin, in this process, computing in bf16: the
`openvino-bf16` precision's parity runner, and a runner of the classification pipeline
(client/core/pipeline.py `Runner`, satisfied structurally) like export/onnx_runner.py's.

The graph is the plain fp32 ONNX export (standard ONNX ops, which OpenVINO reads directly);
OpenVINO converts the weights and computes the MatMuls in bf16 at compile time when asked to
by `INFERENCE_PRECISION_HINT`. On a CPU without native bf16 (no AVX512_BF16 / AMX) the plugin
ignores the hint and runs f32, so the export refuses the precision there (`native_bf16`,
export/parity.py) and the served runner logs a warning.

Inference runs inline, blocking the calling thread.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from helpline_model.inline_runner import InlineRunner
from helpline_model.layout import HEADS, INPUT_NAMES, OUTPUT_NAMES

OPENVINO_PRECISION = "openvino-bf16"
DEVICE = "CPU"
BF16_CAPABILITY = "BF16"


def cpu_capabilities() -> list[str]:
    """The CPU plugin's OPTIMIZATION_CAPABILITIES: "BF16" only where the CPU computes bf16
    natively."""
    import openvino as ov

    return [str(c) for c in ov.Core().get_property(DEVICE, "OPTIMIZATION_CAPABILITIES")]


def native_bf16() -> bool:
    return BF16_CAPABILITY in cpu_capabilities()


def inference_precision(compiled: object) -> str:
    """The element type a compiled model computes in, as OpenVINO names it ("bf16", "f32")."""
    hint = compiled.get_property("INFERENCE_PRECISION_HINT")  # type: ignore[attr-defined]
    return str(hint.get_type_name()) if hasattr(hint, "get_type_name") else str(hint)


class OpenVinoRunner(InlineRunner):
    """`graph`: an ONNX (or OpenVINO IR) file. `threads`: OpenVINO's inference threads (0:
    the plugin's default, every core). `precision`: the inference precision hint ("bf16";
    "f32" to compare with the same plugin in fp32)."""

    def __init__(self, graph: Path, threads: int = 0, precision: str = "bf16") -> None:
        import openvino as ov

        config: dict[str, object] = {"INFERENCE_PRECISION_HINT": precision}
        if threads:
            config["INFERENCE_NUM_THREADS"] = int(threads)
            config["NUM_STREAMS"] = 1
        self.compiled = ov.Core().compile_model(str(graph), DEVICE, config)
        # What the plugin actually computes in (f32 where the CPU lacks the hinted type).
        self.precision = inference_precision(self.compiled)
        self.provider = f"OpenVINO {DEVICE} ({self.precision})"
        self._request = self.compiled.create_infer_request()
        self._outputs = [OUTPUT_NAMES[h] for h in HEADS]

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
        """Logits `{head: (batch, n_labels)}` as float32."""
        feeds = dict(zip(INPUT_NAMES, (ids, mask), strict=True))
        result = self._request.infer(feeds)
        # The request owns its output buffers and reuses them on the next call: copy.
        return {
            head: np.array(result[name], dtype=np.float32, copy=True)
            for head, name in zip(HEADS, self._outputs, strict=True)
        }
