"""An exported graph in ONNX Runtime, in this process: the parity check's runner, and a
runner of the classification pipeline (client/core/pipeline.py `Runner`, satisfied
structurally) to evaluate an exported version without a model server.

Inference runs inline, blocking the calling thread.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from helpline_model.inline_runner import InlineRunner
from helpline_model.layout import HEADS, INPUT_NAMES, OUTPUT_NAMES


class OrtRunner(InlineRunner):
    """`graph`: a file, or a serialized model held in memory."""

    def __init__(self, graph: Path | bytes, providers: list[str] | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        self.session = ort.InferenceSession(
            graph if isinstance(graph, bytes) else str(graph),
            options,
            providers=providers or ["CPUExecutionProvider"],
        )
        self.provider = self.session.get_providers()[0]
        self._outputs = [OUTPUT_NAMES[h] for h in HEADS]

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
        """Logits `{head: (batch, n_labels)}` as float32."""
        feeds = dict(zip(INPUT_NAMES, (ids, mask), strict=True))
        outs = self.session.run(self._outputs, feeds)
        return {head: np.asarray(o, dtype=np.float32) for head, o in zip(HEADS, outs, strict=True)}
