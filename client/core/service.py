"""The classification core: narrative in, case result out. Knows nothing of HTTP.

Per narrative: one batched tokenization, chunks on token offsets, the chunks padded to
one length bucket and sent as one Triton request (split only when a narrative has more
chunks than the model's max batch), then confidence-weighted aggregation.
Never logs narrative text: only lengths, a short keyed hash and the request id.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from client.core.aggregation import AggregationConfig, CaseResult, Severity, aggregate_logits
from client.core.buckets import bucket_for, check_buckets, pad_batch
from client.core.chunking import Chunk, chunk_tokens, default_overlap
from client.core.errors import InvalidInput, ModelUnavailable, Overloaded, PayloadTooLarge
from client.core.model_bundle import ModelBundle
from client.core.security import log_hash_key, text_fingerprint
from client.core.settings import GatewaySettings
from client.core.tokenization import TokenizedText
from client.http.schemas import READABLE
from client.triton.runner import EndpointState, ModelRunner, Priority
from helpline_model.layout import HEADS

log = logging.getLogger("triage.service")


@dataclass
class Timings:
    tokenize_ms: float = 0.0
    inference_ms: float = 0.0
    aggregate_ms: float = 0.0
    total_ms: float = 0.0


@dataclass
class Classification:
    request_id: str
    result: CaseResult
    chunks: list[Chunk]
    n_tokens: int
    bucket: int
    timings: Timings
    model_name: str
    model_version: str


@dataclass(frozen=True)
class ChunkingPlan:
    max_length: int
    overlap: int
    buckets: tuple[int, ...]
    balanced: bool = True


class ClassifierService:
    def __init__(self, settings: GatewaySettings, runner: ModelRunner) -> None:
        self.settings = settings
        self.runner = runner
        # The version followed (the newest served, or the pinned one) and its chunking plan.
        self.bundle: ModelBundle | None = None
        self.plan: ChunkingPlan | None = None
        # Every version loaded, by version: the followed one and any fallback in use.
        self._models: dict[str, tuple[ModelBundle, ChunkingPlan]] = {}
        self._load_lock = asyncio.Lock()
        self._fallback_in_use: str | None = None
        self.bundle_error: str | None = None
        self.endpoint: EndpointState | None = None
        self._refresh_task: asyncio.Task | None = None
        self._refresh_lock = asyncio.Lock()
        self.in_flight = 0  # narratives being classified (one event loop: a plain int)
        self.draining = False
        self._log_hash_key = log_hash_key(settings)
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- model version tracking -------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self.runner.start()
        await self.refresh()
        self._refresh_task = asyncio.create_task(self._refresh_forever())

    async def stop(self) -> None:
        if self._refresh_task is not None:
            self._refresh_task.cancel()
            await asyncio.gather(self._refresh_task, return_exceptions=True)
        await self.runner.close()

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.version_refresh_s)
            try:
                await self.refresh()
            except Exception:  # noqa: BLE001 - keep serving the version already loaded
                log.exception("model refresh failed")

    async def refresh(self) -> None:
        """Follow the version Triton serves, so labels always match the graph answering."""
        async with self._refresh_lock:
            self.endpoint = await self.runner.state()
            self._forget_unserved(self.endpoint.ready_versions)
            wanted = self.settings.model_version
            if not wanted:
                if not self.endpoint.ready_versions:
                    return  # keep the current bundle (if any); readiness reports the outage
                wanted = self.endpoint.ready_versions[-1]
            if self.bundle is not None and self.bundle.version == wanted:
                return
            try:
                bundle, plan = await self._load(wanted)
            except (OSError, ValueError) as exc:
                # Readiness and error bodies carry this; paths stay in the log only.
                self.bundle_error = f"version {wanted}: the model files cannot be loaded"
                log.error("cannot load model files of version %s: %s", wanted, exc)
                return
            self.bundle, self.plan, self.bundle_error = bundle, plan, None
            log.info(
                "serving %s version %s (max_length=%d overlap=%d buckets=%s)",
                bundle.name,
                bundle.version,
                plan.max_length,
                plan.overlap,
                plan.buckets,
            )

    async def _load(self, version: str) -> tuple[ModelBundle, ChunkingPlan]:
        """One version's files and plan, loaded on first use and kept while it is served."""
        loaded = self._models.get(version)
        if loaded is not None:
            return loaded
        async with self._load_lock:
            loaded = self._models.get(version)
            if loaded is None:
                bundle = await asyncio.to_thread(
                    ModelBundle.load,
                    Path(self.settings.model_repository),
                    self.settings.model_name,
                    version,
                )
                loaded = (bundle, self._plan_for(bundle))
                self._models[version] = loaded
        return loaded

    def _forget_unserved(self, served: list[str]) -> None:
        keep = {*served, *([self.bundle.version] if self.bundle else [])}
        for version in [v for v in self._models if v not in keep]:
            del self._models[version]

    def _fallback_version(self, followed: str) -> str | None:
        """The version to answer with when no healthy replica serves the followed one (the
        only replica with a new version died mid-rollout): the newest one still served.
        None: answer with the followed version (it is served, nothing is, or it is pinned)."""
        if self.settings.model_version:
            return None
        serving = self.runner.serving_versions()
        fallback = serving[-1] if serving and followed not in serving else None
        if fallback != self._fallback_in_use:
            if fallback is None:
                log.info("version %s is served again; fallback ends", followed)
            else:
                log.warning("no healthy replica serves version %s; using %s", followed, fallback)
            self._fallback_in_use = fallback
        return fallback

    def _plan_for(self, bundle: ModelBundle) -> ChunkingPlan:
        max_length = bundle.max_length
        if self.settings.max_length:
            max_length = min(self.settings.max_length, bundle.max_length)
        overlap = self.settings.overlap
        if overlap < 0:
            overlap = default_overlap(max_length)
        buckets = tuple(b for b in check_buckets(self.settings.buckets, max_length))
        buckets = tuple(sorted({min(b, max_length) for b in buckets}))
        return ChunkingPlan(max_length, overlap, buckets, self.settings.chunking == "balanced")

    def start_draining(self) -> None:
        """SIGTERM: fail readiness and refuse new work; requests in flight still finish."""
        self.draining = True

    def report_endpoint_down(self, url: str, reason: str) -> None:
        """Safe from any thread: whoever watches a model server's process (the local stack's
        supervisor) reports its death, so readiness fails now rather than at the next health
        check or failed call."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.runner.mark_down, url, reason)

    def is_ready(self) -> bool:
        if self.draining or self.bundle is None or self.endpoint is None:
            return False
        version = self.bundle.version
        if version not in self.endpoint.ready_versions:
            return False
        # The last refresh can be `version_refresh_s` old; what the replicas serve follows
        # every health check (and a reported death at once). Ready while the followed
        # version, or a version a request would fall back to, is served.
        return (
            version in self.runner.serving_versions() or self._fallback_version(version) is not None
        )

    def require_model(self) -> tuple[ModelBundle, ChunkingPlan]:
        """The model to answer with now: the followed version, or a fallback already loaded."""
        bundle, plan = self._require_model()
        fallback = self._fallback_version(bundle.version)
        return self._models.get(fallback, (bundle, plan)) if fallback else (bundle, plan)

    def model_of(self, version: str) -> tuple[ModelBundle | None, ChunkingPlan | None]:
        """The files and plan an answer of `version` was computed with (for its metadata)."""
        loaded = self._models.get(version)
        return loaded if loaded is not None else (self.bundle, self.plan)

    async def model_for_request(self) -> tuple[ModelBundle, ChunkingPlan]:
        """As `require_model`, loading the fallback version's files on first use."""
        bundle, plan = self._require_model()
        fallback = self._fallback_version(bundle.version)
        if fallback is None:
            return bundle, plan
        try:
            return await self._load(fallback)
        except (OSError, ValueError) as exc:
            log.error("cannot load fallback version %s: %s", fallback, exc)
            return bundle, plan

    def _require_model(self) -> tuple[ModelBundle, ChunkingPlan]:
        if self.bundle is None or self.plan is None:
            raise ModelUnavailable("the model is not loaded yet", detail=self.bundle_error)
        return self.bundle, self.plan

    # --- classification -----------------------------------------------------------------

    def check_narrative(self, narrative: str, field: str = "narrative") -> None:
        if not narrative.strip():
            raise InvalidInput("narrative is empty", field=field)
        if not READABLE.search(narrative):
            # The rule the OpenAPI document states (client/http/schemas.py): no text to classify.
            raise InvalidInput("narrative has no letter or digit (A-Z, a-z, 0-9)", field=field)
        try:
            narrative.encode("utf-8")
        except UnicodeEncodeError:
            # JSON can carry lone surrogates ("\ud800"); they are not text.
            raise InvalidInput("narrative is not valid Unicode text", field=field) from None
        if len(narrative) > self.settings.max_narrative_chars:
            raise PayloadTooLarge(
                f"narrative has {len(narrative)} characters; the limit is "
                f"{self.settings.max_narrative_chars}",
                field=field,
            )

    async def classify(
        self, narrative: str, request_id: str, deadline: float, field: str = "narrative"
    ) -> Classification:
        """One narrative someone is waiting on: sent at high priority."""
        results = await self.classify_many([narrative], request_id, deadline, field, Priority.HIGH)
        return results[0]

    async def classify_many(
        self,
        narratives: list[str],
        request_id: str,
        deadline: float,
        field: str = "narrative",
        priority: Priority = Priority.HIGH,
    ) -> list[Classification]:
        """Tokenizes all narratives in one batched call, then one Triton request each, at
        `priority` (the batch endpoint sends LOW)."""
        for i, narrative in enumerate(narratives):
            self.check_narrative(narrative, field if len(narratives) == 1 else f"{field}[{i}]")
        if self.draining:
            raise ModelUnavailable("the gateway is shutting down", retry_after_s=1)
        bundle, plan = await self.model_for_request()
        with self.admitted(len(narratives)):
            try:
                return await self._classify_admitted(
                    narratives, request_id, deadline, bundle, plan, priority
                )
            except ModelUnavailable:
                # The version's last healthy replica went away during the call: once more
                # with the newest version still served, within the same deadline.
                retry_bundle, retry_plan = await self.model_for_request()
                if retry_bundle.version == bundle.version:
                    raise
                return await self._classify_admitted(
                    narratives, request_id, deadline, retry_bundle, retry_plan, priority
                )

    @contextlib.contextmanager
    def admitted(self, n: int) -> Iterator[None]:
        """Counts `n` narratives (or streaming steps) in flight; a fast 429 beyond the limit."""
        if self.in_flight + n > self.settings.max_in_flight:
            raise Overloaded(
                f"{self.in_flight} narratives in flight (limit {self.settings.max_in_flight})",
                retry_after_s=1,
            )
        self.in_flight += n
        try:
            yield
        finally:
            self.in_flight -= n

    async def _classify_admitted(
        self,
        narratives: list[str],
        request_id: str,
        deadline: float,
        bundle: ModelBundle,
        plan: ChunkingPlan,
        priority: Priority,
    ) -> list[Classification]:
        started = time.perf_counter()
        encoded = await asyncio.to_thread(bundle.tokenizer.encode_batch, narratives)
        tokenize_ms = (time.perf_counter() - started) * 1000 / len(narratives)

        async def one(i: int, text: str, tokens: TokenizedText) -> Classification:
            sub_id = request_id if len(narratives) == 1 else f"{request_id}-{i}"
            return await self._classify_tokens(
                bundle, plan, text, tokens, sub_id, deadline, tokenize_ms, started, priority
            )

        return list(
            await asyncio.gather(
                *(one(i, t, e) for i, (t, e) in enumerate(zip(narratives, encoded, strict=True)))
            )
        )

    async def _classify_tokens(
        self,
        bundle: ModelBundle,
        plan: ChunkingPlan,
        narrative: str,
        tokens: TokenizedText,
        request_id: str,
        deadline: float,
        tokenize_ms: float,
        started: float,
        priority: Priority,
    ) -> Classification:
        chunks = self.chunk(bundle, plan, tokens, narrative)
        if not chunks:
            raise InvalidInput("narrative contains no text the model can read", field="narrative")
        timings = Timings(tokenize_ms=tokenize_ms)
        infer_started = time.perf_counter()
        logits, bucket = await self._infer_chunks(
            bundle, plan, chunks, request_id, deadline, priority
        )
        timings.inference_ms = (time.perf_counter() - infer_started) * 1000
        agg_started = time.perf_counter()
        result = self.aggregate(bundle, logits, chunks)
        timings.aggregate_ms = (time.perf_counter() - agg_started) * 1000
        timings.total_ms = (time.perf_counter() - started) * 1000
        log.info(
            "classified request_id=%s chars=%d hash=%s tokens=%d chunks=%d bucket=%d "
            "escalated=%s total_ms=%.1f",
            request_id,
            len(narrative),
            text_fingerprint(narrative, self._log_hash_key),
            len(tokens),
            len(chunks),
            bucket,
            result.escalation.escalated,
            timings.total_ms,
        )
        return Classification(
            request_id=request_id,
            result=result,
            chunks=chunks,
            n_tokens=len(tokens),
            bucket=bucket,
            timings=timings,
            model_name=bundle.name,
            model_version=bundle.version,
        )

    # Public steps of `_classify_tokens`, shared with live-call streaming
    # (client/streaming/sessions.py) so that a streamed call ends with exactly the chunks and
    # aggregation of POST /classify.

    def chunk(
        self,
        bundle: ModelBundle,
        plan: ChunkingPlan,
        tokens: TokenizedText,
        narrative: str,
        *,
        balanced: bool | None = None,
    ) -> list[Chunk]:
        """The plan's chunking; `balanced=False` forces greedy chunks (streaming windows)."""
        return chunk_tokens(
            tokens,
            narrative,
            plan.max_length,
            plan.overlap,
            bundle.tokenizer.cls_id,
            bundle.tokenizer.sep_id,
            balanced=plan.balanced if balanced is None else balanced,
        )

    def aggregate(
        self, bundle: ModelBundle, logits: dict[str, np.ndarray], chunks: list[Chunk]
    ) -> CaseResult:
        return aggregate_logits(
            logits,
            [c.token_count for c in chunks],
            bundle.labels,
            sub_to_main=bundle.sub_to_main,
            severity=self.effective_severity(bundle),
            config=AggregationConfig(
                top_k=self.settings.top_k,
                high_above=self.settings.band_high_above,
                medium_from=self.settings.band_medium_from,
            ),
            calibration=bundle.calibration,
        )

    async def infer_chunks(
        self,
        bundle: ModelBundle,
        plan: ChunkingPlan,
        chunks: list[Chunk],
        request_id: str,
        deadline: float,
        priority: Priority = Priority.HIGH,
    ) -> tuple[dict[str, np.ndarray], int]:
        """Logits `{head: (len(chunks), n_labels)}` in chunk order, and the bucket used."""
        return await self._infer_chunks(bundle, plan, chunks, request_id, deadline, priority)

    def effective_severity(self, bundle: ModelBundle) -> Severity | None:
        if bundle.severity is None or self.settings.escalation_threshold < 0:
            return bundle.severity
        return dataclasses.replace(
            bundle.severity, escalation_threshold=self.settings.escalation_threshold
        )

    async def _infer_chunks(
        self,
        bundle: ModelBundle,
        plan: ChunkingPlan,
        chunks: list[Chunk],
        request_id: str,
        deadline: float,
        priority: Priority,
    ) -> tuple[dict[str, np.ndarray], int]:
        bucket = bucket_for(chunks, plan.buckets)
        size = max(1, self.settings.max_chunks_per_request)
        groups = [chunks[i : i + size] for i in range(0, len(chunks), size)]

        async def run(group: list[Chunk], part: int) -> dict[str, np.ndarray]:
            ids, mask = pad_batch(group, bucket, bundle.tokenizer.pad_id)
            rid = request_id if len(groups) == 1 else f"{request_id}.{part}"
            return await self.runner.infer(
                ids,
                mask,
                version=bundle.version,
                timeout_s=deadline - time.monotonic(),
                request_id=rid,
                priority=priority,
            )

        parts = await asyncio.gather(*(run(g, i) for i, g in enumerate(groups)))
        return {h: np.concatenate([p[h] for p in parts]) for h in HEADS}, bucket
