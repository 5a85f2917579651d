"""The gateway's classification core: follows the model version Triton serves and answers
with a `ClassificationPipeline` (client/core/pipeline.py) of that version. Knows nothing of HTTP.

Per version: its files, chunking plan and pipeline, loaded on first use and kept while it is
served. Per request: input checks, admission (a fast 429 beyond the in-flight limit), the
version to answer with (a fallback while no healthy replica serves the followed one), then
the pipeline: one batched tokenization, chunks padded to one length bucket and sent as one
Triton request per narrative (split only beyond the model's max batch), aggregation.
Never logs narrative text: only lengths, a short keyed hash and the request id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

from client.core.aggregation import AggregationConfig, Severity
from client.core.errors import InvalidInput, ModelUnavailable, Overloaded, PayloadTooLarge
from client.core.model_bundle import ModelBundle
from client.core.pipeline import (
    ChunkingPlan,
    Classification,
    ClassificationPipeline,
    Priority,
    Timings,
    effective_severity,
)
from client.core.security import log_hash_key, text_fingerprint
from client.core.settings import GatewaySettings
from client.core.tokenization import READABLE
from client.triton.runner import EndpointState, ModelRunner

log = logging.getLogger("triage.service")

# Results and plans are the pipeline's; importers of the service find them here too.
__all__ = ["ChunkingPlan", "Classification", "ClassifierService", "Timings"]


class ClassifierService:
    def __init__(self, settings: GatewaySettings, runner: ModelRunner) -> None:
        self.settings = settings
        self.runner = runner
        # The version followed (the newest served, or the pinned one).
        self.pipeline: ClassificationPipeline | None = None
        # Every version loaded, by version: the followed one and any fallback in use.
        self._models: dict[str, ClassificationPipeline] = {}
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
            if self.pipeline is not None and self.pipeline.version == wanted:
                return
            try:
                pipeline = await self._load(wanted)
            except (OSError, ValueError) as exc:
                # Readiness and error bodies carry this; paths stay in the log only.
                self.bundle_error = f"version {wanted}: the model files cannot be loaded"
                log.error("cannot load model files of version %s: %s", wanted, exc)
                return
            self.pipeline, self.bundle_error = pipeline, None
            plan = pipeline.plan
            log.info(
                "serving %s version %s (max_length=%d overlap=%d buckets=%s)",
                pipeline.bundle.name,
                pipeline.version,
                plan.max_length,
                plan.overlap,
                plan.buckets,
            )

    async def _load(self, version: str) -> ClassificationPipeline:
        """One version's pipeline, loaded on first use and kept while it is served."""
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
                loaded = self._pipeline_for(bundle)
                self._models[version] = loaded
        return loaded

    def _forget_unserved(self, served: list[str]) -> None:
        keep = {*served, *([self.pipeline.version] if self.pipeline else [])}
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

    def _pipeline_for(self, bundle: ModelBundle) -> ClassificationPipeline:
        settings = self.settings
        plan = ChunkingPlan.for_model(
            bundle.max_length,
            max_length=settings.max_length,
            overlap=settings.overlap,
            buckets=settings.buckets,
            balanced=settings.chunking == "balanced",
        )
        return ClassificationPipeline(
            bundle,
            plan,
            self.runner,
            aggregation=AggregationConfig(
                top_k=settings.top_k,
                high_above=settings.band_high_above,
                medium_from=settings.band_medium_from,
            ),
            escalation_threshold=settings.escalation_threshold,
            max_chunks_per_call=max(1, settings.max_chunks_per_request),
        )

    @property
    def bundle(self) -> ModelBundle | None:
        """The followed version's files."""
        return self.pipeline.bundle if self.pipeline else None

    @property
    def plan(self) -> ChunkingPlan | None:
        """The followed version's chunking plan."""
        return self.pipeline.plan if self.pipeline else None

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

    def require_pipeline(self) -> ClassificationPipeline:
        """The version to answer with now: the followed one, or a fallback already loaded."""
        pipeline = self._require_pipeline()
        fallback = self._fallback_version(pipeline.version)
        return self._models.get(fallback, pipeline) if fallback else pipeline

    async def pipeline_for_request(self) -> ClassificationPipeline:
        """As `require_pipeline`, loading the fallback version's files on first use."""
        pipeline = self._require_pipeline()
        fallback = self._fallback_version(pipeline.version)
        if fallback is None:
            return pipeline
        try:
            return await self._load(fallback)
        except (OSError, ValueError) as exc:
            log.error("cannot load fallback version %s: %s", fallback, exc)
            return pipeline

    def _require_pipeline(self) -> ClassificationPipeline:
        if self.pipeline is None:
            raise ModelUnavailable("the model is not loaded yet", detail=self.bundle_error)
        return self.pipeline

    def effective_severity(self, bundle: ModelBundle) -> Severity | None:
        """The severity order `bundle` escalates with under this gateway's settings."""
        return effective_severity(bundle, self.settings.escalation_threshold)

    # --- classification -----------------------------------------------------------------

    def check_narrative(self, narrative: str, field: str = "narrative") -> None:
        if not narrative.strip():
            raise InvalidInput("narrative is empty", field=field)
        if not READABLE.search(narrative):
            # The rule the OpenAPI document states (READABLE_PATTERN): no text to classify.
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
        pipeline = await self.pipeline_for_request()
        with self.admitted(len(narratives)):
            try:
                return await self._classify_admitted(
                    pipeline, narratives, request_id, deadline, field, priority
                )
            except ModelUnavailable:
                # The version's last healthy replica went away during the call: once more
                # with the newest version still served, within the same deadline.
                retry = await self.pipeline_for_request()
                if retry.version == pipeline.version:
                    raise
                return await self._classify_admitted(
                    retry, narratives, request_id, deadline, field, priority
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
        pipeline: ClassificationPipeline,
        narratives: list[str],
        request_id: str,
        deadline: float,
        field: str,
        priority: Priority,
    ) -> list[Classification]:
        results = await pipeline.classify_many(narratives, request_id, deadline, priority, field)
        for narrative, c in zip(narratives, results, strict=True):
            log.info(
                "classified request_id=%s chars=%d hash=%s tokens=%d chunks=%d bucket=%d "
                "escalated=%s total_ms=%.1f",
                c.request_id,
                len(narrative),
                text_fingerprint(narrative, self._log_hash_key),
                c.n_tokens,
                len(c.chunks),
                c.bucket,
                c.result.escalation.escalated,
                c.timings.total_ms,
            )
        return results
