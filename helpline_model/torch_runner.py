"""The checkpoint in PyTorch, in this process: a runner of the classification pipeline
(client/core/pipeline.py `Runner`, satisfied structurally) for evaluation of a checkpoint
and the benchmark's baseline.

Inference runs inline, blocking the calling thread (and an event loop, if one awaits it):
the baseline measures exactly that, and offline callers have nothing else to run.
"""

from __future__ import annotations

import numpy as np
import torch

from helpline_model.inline_runner import InlineRunner
from helpline_model.layout import HEADS


class TorchRunner(InlineRunner):
    """`model`: a loaded checkpoint's module (`Checkpoint.model`), or one still in training
    (calibration on validation): it is put in eval mode, on whatever device it is on."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.model = model.eval()
        self.device = next(model.parameters()).device

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> dict[str, np.ndarray]:
        """Logits `{head: (batch, n_labels)}` as float32."""
        ids = torch.from_numpy(input_ids).long().to(self.device)
        mask = torch.from_numpy(attention_mask).long().to(self.device)
        with torch.inference_mode():
            outputs = self.model(ids, mask)
        return {head: out.float().cpu().numpy() for head, out in zip(HEADS, outputs, strict=True)}
