"""A deterministic stand-in for the model runner, for tests of the gateway's own logic (the
HTTP layer, streaming sessions). Tests that claim Triton behaviour use a real tritonserver."""

from __future__ import annotations

import hashlib

import numpy as np

from client.triton.runner import EndpointState, Priority
from helpline_model.layout import HEADS


class FakeRunner:
    """Logits as a function of the unpadded ids: deterministic and padding-invariant, so a
    streamed result must equal the one-shot result exactly. Chunks containing `escalate_id`
    predict the most severe priority with high confidence."""

    def __init__(self, sizes: dict[str, int], escalate_id: int | None = None) -> None:
        self.sizes = sizes
        self.escalate_id = escalate_id
        self.calls = 0
        self.rows = 0
        self.padded_tokens = 0
        self.fail_next: Exception | None = None
        self.ready_versions = ["2"]
        self.priorities: list[Priority] = []

    async def infer(
        self, input_ids, attention_mask, *, version, timeout_s, request_id, priority=Priority.HIGH
    ):
        if self.fail_next is not None:
            exc, self.fail_next = self.fail_next, None
            raise exc
        self.calls += 1
        self.priorities.append(priority)
        self.rows += input_ids.shape[0]
        self.padded_tokens += input_ids.size
        out: dict[str, list[np.ndarray]] = {h: [] for h in HEADS}
        for row, mask in zip(input_ids, attention_mask, strict=True):
            ids = row[mask.astype(bool)]
            digest = hashlib.blake2b(ids.tobytes(), digest_size=8).digest()
            rng = np.random.default_rng(int.from_bytes(digest, "little"))
            for head in HEADS:
                logits = rng.normal(size=self.sizes[head]).astype(np.float32) * 2
                if head == "priority":
                    logits[-1] = -5.0  # the most severe level only where forced below
                    if self.escalate_id is not None and self.escalate_id in ids:
                        logits[-1] = 10.0
                out[head].append(logits)
        return {h: np.stack(v) for h, v in out.items()}

    async def start(self) -> None:
        return None

    async def state(self) -> EndpointState:
        return EndpointState("fake", "fake", True, list(self.ready_versions))

    def endpoint_states(self) -> list[EndpointState]:
        return []

    def serving_versions(self) -> list[str]:
        return list(self.ready_versions)

    async def close(self) -> None:
        return None
