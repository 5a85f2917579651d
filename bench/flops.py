"""Model work per sequence and the machine's fp32 matmul ceiling.

FLOPs of one encoder pass over L tokens (multiply-add = 2 FLOPs), per layer:
  2 L (4 d^2 + 2 d h)   the Q, K, V, output projections and the two feed-forward matmuls
  + 4 L^2 d             attention scores and the weighted sum of values
with d = dim and h = hidden_dim. For DistilBERT-base (d 768, h 3072, 6 layers) this is
L x (84.9 M + 18,432 L), the figure in shared/reference/platform-notes.md. Embeddings,
layer norms, softmax and the heads are left out: they are under 1% of the work.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class ModelDims:
    dim: int
    hidden_dim: int
    n_layers: int
    n_heads: int

    @classmethod
    def from_checkpoint(cls, folder: Path) -> ModelDims:
        config = json.loads((folder / "config.json").read_text())
        return cls(
            dim=int(config["dim"]),
            hidden_dim=int(config["hidden_dim"]),
            n_layers=int(config["n_layers"]),
            n_heads=int(config["n_heads"]),
        )

    def flops(self, length: int) -> float:
        """FLOPs of one sequence of `length` tokens (padding included: it is computed)."""
        d, h, n = self.dim, self.hidden_dim, length
        per_layer = 2 * n * (4 * d * d + 2 * d * h) + 4 * n * n * d
        return float(self.n_layers * per_layer)


def matmul_ceiling_gflops(seconds: float = 3.0, size: int = 2048) -> float:
    """Sustained numpy fp32 matmul speed (GFLOP/s) of this machine, all cores, right now."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    out = np.empty_like(a)
    np.matmul(a, b, out=out)  # first call: thread pool start-up, not measured
    runs = 0
    started = time.perf_counter()
    while True:
        np.matmul(a, b, out=out)
        runs += 1
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            break
    return runs * 2.0 * size**3 / elapsed / 1e9
