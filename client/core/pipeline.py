"""One model version's classification path: narratives in, case results out.

Tokenize once (one batched call), chunk on token offsets, pad each narrative's chunks to one
length bucket, run them, aggregate the chunk logits, decode the labels. What runs the model
is a `Runner`: one small interface (padded ids and masks in, four logit arrays out) that a
Triton replica pool (client/triton/), ONNX Runtime in-process (export/onnx_runner.py) and
PyTorch (helpline_model/torch_runner.py) all satisfy. Health, replica choice and version
tracking belong to whoever builds the pipeline (the gateway's `ClassifierService`), not here.

Never logs narrative text; it logs nothing at all (the caller logs lengths and hashes).
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from client.core.aggregation import AggregationConfig, CaseResult, Severity, aggregate_logits
from client.core.buckets import DEFAULT_BUCKETS, bucket_for, check_buckets, pad_batch
from client.core.chunking import Chunk, chunk_tokens, default_overlap
from client.core.errors import InvalidInput
from client.core.model_bundle import ModelBundle
from client.core.tokenization import NarrativeTokenizer, TokenizedText
from helpline_model.layout import HEADS

Logits = dict[str, np.ndarray]  # {head: (rows, n_labels)}


class Priority(enum.IntEnum):
    """Triton's priority level of a request (every model config has `priority_levels: 2`;
    level 1 is taken from the queue first). Someone waiting on the answer (a single
    classification, a live call) goes ahead of bulk work (the batch endpoint, file
    classification), so a bulk job cannot push interactive latency up. In-process runners
    ignore it."""

    HIGH = 1
    LOW = 2


class Runner(Protocol):
    """Runs the model: padded ids and masks (batch, bucket) in, logits per head out."""

    async def infer(
        self,
        input_ids: np.ndarray,
        attention_mask: np.ndarray,
        *,
        version: str,
        timeout_s: float,
        request_id: str,
        priority: Priority = Priority.HIGH,
    ) -> Logits:
        """`{head: (batch, n_labels)}` for the four heads, rows in input order."""
        ...


@dataclass(frozen=True)
class ChunkingPlan:
    max_length: int
    overlap: int
    buckets: tuple[int, ...]
    balanced: bool = True

    @classmethod
    def for_model(
        cls,
        model_max_length: int,
        *,
        max_length: int = 0,
        overlap: int = -1,
        buckets: Sequence[int] = DEFAULT_BUCKETS,
        balanced: bool = True,
    ) -> ChunkingPlan:
        """The plan for a model served at `model_max_length`: `max_length` 0 means the
        model's, `overlap` < 0 the default for the length; no bucket beyond the length."""
        length = min(max_length, model_max_length) if max_length else model_max_length
        if overlap < 0:
            overlap = default_overlap(length)
        checked = check_buckets(buckets, length)
        return cls(length, overlap, tuple(sorted({min(b, length) for b in checked})), balanced)

    def chunk(
        self,
        tokens: TokenizedText,
        narrative: str,
        tokenizer: NarrativeTokenizer,
        *,
        balanced: bool | None = None,
    ) -> list[Chunk]:
        """The narrative's chunks; `balanced=False` forces greedy chunks (streaming windows)."""
        return chunk_tokens(
            tokens,
            narrative,
            self.max_length,
            self.overlap,
            tokenizer.cls_id,
            tokenizer.sep_id,
            balanced=self.balanced if balanced is None else balanced,
        )

    def bucket(self, chunks: Sequence[Chunk]) -> int:
        """The length every chunk of one narrative is padded to."""
        return bucket_for(chunks, self.buckets)


@dataclass
class Timings:
    tokenize_ms: float = 0.0
    inference_ms: float = 0.0
    aggregate_ms: float = 0.0
    total_ms: float = 0.0


@dataclass
class Classification:
    """One narrative's answer with everything a response body needs: the chunks, the plan
    and precision of the version that answered (a fallback version during a partial
    rollout, not necessarily the one followed) and the stage timings."""

    request_id: str
    result: CaseResult
    chunks: list[Chunk]
    n_tokens: int
    bucket: int
    timings: Timings
    model_name: str
    model_version: str
    plan: ChunkingPlan
    precision: str | None = None


@dataclass
class _Prepared:
    tokens: TokenizedText
    chunks: list[Chunk]
    bucket: int = 0
    logits: Logits | None = None
    inference_ms: float = 0.0


def effective_severity(bundle: ModelBundle, threshold: float = -1.0) -> Severity | None:
    """The version's severity order, with the operator's escalation threshold when set."""
    if bundle.severity is None or threshold < 0:
        return bundle.severity
    return dataclasses.replace(bundle.severity, escalation_threshold=threshold)


class ClassificationPipeline:
    """Classifies narratives with one model version's files, plan and runner.

    `max_chunks_per_call`: a narrative with more chunks is sent in several calls (a model's
    max batch); 0: no limit. `pack_rows` > 0: chunks of different narratives that share a
    bucket go to the runner together, up to that many rows per call (offline evaluation:
    large batches for an in-process runner); 0: one call per narrative, as the gateway sends
    them (Triton's dynamic batcher does the packing there)."""

    def __init__(
        self,
        bundle: ModelBundle,
        plan: ChunkingPlan,
        runner: Runner,
        *,
        aggregation: AggregationConfig | None = None,
        escalation_threshold: float = -1.0,
        max_chunks_per_call: int = 0,
        pack_rows: int = 0,
    ) -> None:
        self.bundle = bundle
        self.plan = plan
        self.runner = runner
        self.aggregation = aggregation or AggregationConfig()
        self.severity = effective_severity(bundle, escalation_threshold)
        self.max_chunks_per_call = max_chunks_per_call
        self.pack_rows = pack_rows

    @classmethod
    def for_folder(
        cls,
        folder: Path,
        runner: Runner,
        *,
        max_length: int | None = None,
        overlap: int = -1,
        balanced: bool = True,
        buckets: Sequence[int] = DEFAULT_BUCKETS,
        name: str = "local",
        version: str | None = None,
        max_chunks_per_call: int = 0,
        pack_rows: int = 0,
    ) -> ClassificationPipeline:
        """Offline use: the files of a model version's folder or a checkpoint's (give
        `max_length` for a checkpoint: it has no metadata.json), the gateway's default
        chunking and aggregation, and an in-process runner."""
        bundle = ModelBundle.from_folder(
            Path(folder), name, version or Path(folder).name, max_length
        )
        plan = ChunkingPlan.for_model(
            bundle.max_length, overlap=overlap, buckets=buckets, balanced=balanced
        )
        return cls(
            bundle, plan, runner, max_chunks_per_call=max_chunks_per_call, pack_rows=pack_rows
        )

    @property
    def version(self) -> str:
        return self.bundle.version

    @property
    def precision(self) -> str | None:
        return self.bundle.metadata.get("precision")

    # --- the steps, public for live-call streaming (client/streaming/) and the benchmark -----

    def tokenize(self, narratives: Sequence[str]) -> list[TokenizedText]:
        return self.bundle.tokenizer.encode_batch(list(narratives))

    def chunk(
        self, tokens: TokenizedText, narrative: str, *, balanced: bool | None = None
    ) -> list[Chunk]:
        return self.plan.chunk(tokens, narrative, self.bundle.tokenizer, balanced=balanced)

    def bucket(self, chunks: Sequence[Chunk]) -> int:
        return self.plan.bucket(chunks)

    def padded(self, chunks: Sequence[Chunk]) -> tuple[int, list[tuple[np.ndarray, np.ndarray]]]:
        """The bucket, and the (ids, mask) batches the chunks are sent as."""
        bucket = self.bucket(chunks)
        size = self.max_chunks_per_call if self.max_chunks_per_call > 0 else len(chunks)
        groups = [chunks[i : i + size] for i in range(0, len(chunks), max(1, size))]
        return bucket, [pad_batch(g, bucket, self.bundle.tokenizer.pad_id) for g in groups]

    async def infer(
        self,
        chunks: Sequence[Chunk],
        request_id: str,
        deadline: float = math.inf,
        priority: Priority = Priority.HIGH,
    ) -> tuple[Logits, int]:
        """Logits `{head: (len(chunks), n_labels)}` in chunk order, and the bucket used.
        `deadline`: on the `time.monotonic()` clock."""
        bucket, batches = self.padded(chunks)

        async def run(ids: np.ndarray, mask: np.ndarray, part: int) -> Logits:
            rid = request_id if len(batches) == 1 else f"{request_id}.{part}"
            return await self.runner.infer(
                ids,
                mask,
                version=self.version,
                timeout_s=deadline - time.monotonic(),
                request_id=rid,
                priority=priority,
            )

        parts = await asyncio.gather(*(run(i, m, p) for p, (i, m) in enumerate(batches)))
        return {h: np.concatenate([p[h] for p in parts]) for h in HEADS}, bucket

    def aggregate(self, logits: Logits, chunks: Sequence[Chunk]) -> CaseResult:
        return aggregate_logits(
            logits,
            [c.token_count for c in chunks],
            self.bundle.labels,
            sub_to_main=self.bundle.sub_to_main,
            severity=self.severity,
            config=self.aggregation,
            calibration=self.bundle.calibration,
        )

    def classification(
        self,
        request_id: str,
        result: CaseResult,
        chunks: Sequence[Chunk],
        n_tokens: int,
        timings: Timings,
        bucket: int | None = None,
    ) -> Classification:
        return Classification(
            request_id=request_id,
            result=result,
            chunks=list(chunks),
            n_tokens=n_tokens,
            bucket=self.bucket(chunks) if bucket is None else bucket,
            timings=timings,
            model_name=self.bundle.name,
            model_version=self.version,
            plan=self.plan,
            precision=self.precision,
        )

    # --- the whole path ----------------------------------------------------------------------

    async def classify_many(
        self,
        narratives: Sequence[str],
        request_id: str,
        deadline: float = math.inf,
        priority: Priority = Priority.HIGH,
        field: str = "narrative",
    ) -> list[Classification]:
        """One result per narrative, in order. Request ids: `request_id` for one narrative,
        `request_id-i` for several. A narrative with no token the model can read is an
        `InvalidInput` naming `field` (`field[i]` for several)."""
        started = time.perf_counter()
        encoded = await asyncio.to_thread(self.tokenize, narratives)
        tokenize_ms = (time.perf_counter() - started) * 1000 / max(1, len(narratives))
        prepared = []
        for i, (text, tokens) in enumerate(zip(narratives, encoded, strict=True)):
            chunks = self.chunk(tokens, text)
            if not chunks:
                where = field if len(narratives) == 1 else f"{field}[{i}]"
                raise InvalidInput("narrative contains no text the model can read", field=where)
            prepared.append(_Prepared(tokens, chunks))
        n = len(prepared)

        def finish(i: int, p: _Prepared) -> Classification:
            assert p.logits is not None
            timings = Timings(tokenize_ms=tokenize_ms, inference_ms=p.inference_ms)
            agg_started = time.perf_counter()
            result = self.aggregate(p.logits, p.chunks)
            timings.aggregate_ms = (time.perf_counter() - agg_started) * 1000
            timings.total_ms = (time.perf_counter() - started) * 1000
            sub_id = self._sub_id(request_id, i, n)
            return self.classification(sub_id, result, p.chunks, len(p.tokens), timings, p.bucket)

        if self.pack_rows > 0:
            await self._infer_packed(prepared, request_id, deadline, priority)
            return [finish(i, p) for i, p in enumerate(prepared)]

        async def one(i: int, p: _Prepared) -> Classification:
            infer_started = time.perf_counter()
            sub_id = self._sub_id(request_id, i, n)
            p.logits, p.bucket = await self.infer(p.chunks, sub_id, deadline, priority)
            p.inference_ms = (time.perf_counter() - infer_started) * 1000
            return finish(i, p)

        return list(await asyncio.gather(*(one(i, p) for i, p in enumerate(prepared))))

    def classify_sync(
        self, narratives: Sequence[str], request_id: str = "offline"
    ) -> list[Classification]:
        """`classify_many` for callers without an event loop (evaluation, benchmarks)."""
        return asyncio.run(self.classify_many(narratives, request_id))

    @staticmethod
    def _sub_id(request_id: str, i: int, n: int) -> str:
        return request_id if n == 1 else f"{request_id}-{i}"

    async def _infer_packed(
        self, prepared: list[_Prepared], request_id: str, deadline: float, priority: Priority
    ) -> None:
        started = time.perf_counter()
        logits = await run_packed(
            self.runner,
            [p.chunks for p in prepared],
            self.plan,
            self.bundle.tokenizer.pad_id,
            self.pack_rows,
            version=self.version,
            request_id=request_id,
            deadline=deadline,
            priority=priority,
        )
        per_narrative_ms = (time.perf_counter() - started) * 1000 / max(1, len(prepared))
        for p, case in zip(prepared, logits, strict=True):
            p.bucket = self.bucket(p.chunks)
            p.logits = case
            p.inference_ms = per_narrative_ms


async def run_packed(
    runner: Runner,
    chunks_of: Sequence[Sequence[Chunk]],
    plan: ChunkingPlan,
    pad_id: int,
    pack_rows: int,
    *,
    version: str = "",
    request_id: str = "offline",
    deadline: float = math.inf,
    priority: Priority = Priority.HIGH,
) -> list[Logits]:
    """Each narrative's chunk logits, in chunk order: every narrative's chunks padded to its
    own bucket (as the gateway pads them), rows of one bucket run together in calls of up
    to `pack_rows` (an in-process runner wants large batches; Triton packs by itself)."""
    rows_of: dict[int, list[tuple[int, int]]] = {}
    for n, chunks in enumerate(chunks_of):
        rows_of.setdefault(plan.bucket(chunks), []).extend((n, k) for k in range(len(chunks)))
    gathered: dict[tuple[int, int], dict[str, np.ndarray]] = {}
    call = 0
    for bucket, rows in sorted(rows_of.items()):
        for start in range(0, len(rows), max(1, pack_rows)):
            members = rows[start : start + max(1, pack_rows)]
            ids, mask = pad_batch([chunks_of[n][k] for n, k in members], bucket, pad_id)
            logits = await runner.infer(
                ids,
                mask,
                version=version,
                timeout_s=deadline - time.monotonic(),
                request_id=f"{request_id}.{call}",
                priority=priority,
            )
            call += 1
            for row, member in enumerate(members):
                gathered[member] = {h: logits[h][row] for h in HEADS}
    return [
        {h: np.stack([gathered[(n, k)][h] for k in range(len(chunks))]) for h in HEADS}
        for n, chunks in enumerate(chunks_of)
    ]
