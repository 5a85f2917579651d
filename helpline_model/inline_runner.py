"""What the in-process runners share (PyTorch, ONNX Runtime, OpenVINO): the classification
pipeline's `Runner` interface (client/core/pipeline.py, satisfied structurally) over a
blocking `__call__`."""

from __future__ import annotations

import math

import numpy as np


class InlineRunner:
    """Subclasses compute logits `{head: (batch, n_labels)}` as float32 in `__call__`, inline,
    blocking the calling thread."""

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
        raise NotImplementedError

    async def infer(
        self,
        input_ids: np.ndarray,
        attention_mask: np.ndarray,
        *,
        version: str = "",
        timeout_s: float = math.inf,
        request_id: str = "",
        priority: int = 1,
    ) -> dict[str, np.ndarray]:
        """The pipeline's interface; the version, deadline, request id and priority are a
        model server's concerns and do not apply in-process."""
        return self(input_ids, attention_mask)
