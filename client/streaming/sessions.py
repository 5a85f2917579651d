"""Live calls: progressive classification of a transcript as it grows. Knows nothing of HTTP.

A `StreamingSession` holds one call's transcript (in memory only: the concatenation of the
segments received, exactly as sent) and a cache of per-chunk logits keyed by the chunk's
exact input ids. Which windows are classified when, and how the final result reuses them:
client/streaming/windows.py. Chunking, inference and aggregation are those of the session's
classification pipeline (client/core/pipeline.py), the same as POST /classifier/classify.
Escalation alerts: client/streaming/alerts.py.

`SessionManager` holds all sessions of this gateway. Bounds: a cap on open sessions and on
transcript characters per session, idle expiry by a background sweeper, and ending a session
(close, expiry, delete, dropped socket) drops its text and cache. The cache holds only the
chunks of the current plan. Never logs text: only lengths, counts and ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from client.core.chunking import Chunk, sentence_starts
from client.core.errors import (
    GatewayError,
    InvalidInput,
    ModelUnavailable,
    Overloaded,
    PayloadTooLarge,
)
from client.core.pipeline import Classification, ClassificationPipeline, Priority, Timings
from client.core.security import same_owner
from client.core.service import ClassifierService
from client.core.settings import GatewaySettings
from client.core.timestamps import now_iso
from client.streaming.alerts import Alert, AlertNotifier
from client.streaming.metrics import StreamMetrics
from client.streaming.windows import Logits, chunk_key, closed_chunk_count, stable_token_count
from helpline_model.layout import HEADS

log = logging.getLogger("triage.streaming")


class SessionNotFound(GatewayError):
    status = 404
    code = "SESSION_NOT_FOUND"


class SegmentOutOfOrder(GatewayError):
    status = 409
    code = "SEGMENT_OUT_OF_ORDER"


class SessionClosed(GatewayError):
    status = 409
    code = "SESSION_CLOSED"


class NothingToClassify(GatewayError):
    """Close before the transcript has text to classify: a state of the session, not a
    malformed request; the session stays open."""

    status = 409
    code = "NOTHING_TO_CLASSIFY"


# A closed session's answer to close: the final result, its alert, the counters.


FinalResult = tuple["Classification", "Alert | None", "StreamStats"]


# --- results --------------------------------------------------------------------------------


@dataclass
class StreamStats:
    segments: int = 0
    chars: int = 0
    tokens: int = 0
    chunks_closed: int = 0
    chunks_tail: int = 0  # tail chunks in the latest update
    chunks_inferred: int = 0  # rows sent to Triton by this session
    chunks_reused: int = 0  # chunks of the final result taken from the cache
    inference_calls: int = 0
    padded_tokens_inferred: int = 0  # rows x bucket: the model's work

    def snapshot(self) -> StreamStats:
        return StreamStats(**self.__dict__)


@dataclass(frozen=True)
class StepResult:
    """What one segment produced: an update when the classified windows changed."""

    seq: int
    update: Classification | None
    alert: Alert | None
    stats: StreamStats


# --- one session ----------------------------------------------------------------------------


class StreamingSession:
    def __init__(
        self,
        session_id: str,
        request_id: str,
        service: ClassifierService,
        settings: GatewaySettings,
        *,
        include_chunks: bool = False,
        clock: Callable[[], float] = time.monotonic,
        owner: str | None = None,
    ) -> None:
        self.session_id = session_id
        self.request_id = request_id
        # Keyed digest of the API key that opened it (client/core/security.py), never the key.
        self.owner = owner
        self.include_chunks = include_chunks
        self.service = service
        self.settings = settings
        self._clock = clock
        self.created = clock()
        self.last_activity = self.created
        self.stats = StreamStats()
        self.latest: Classification | None = None
        self.latest_seq: int | None = None
        self.alert: Alert | None = None
        self.ended = False
        # Set on close: the session then only answers GET, close (again) and DELETE.
        self.final: FinalResult | None = None
        # Called when the sweeper expires the session (a socket handler closes its socket).
        self.on_expire: Callable[[], Awaitable[None]] | None = None
        self._lock = asyncio.Lock()
        self._text = ""
        self._reset_model_state(None)

    def _reset_model_state(self, version: str | None) -> None:
        self._version = version
        self._cache: dict[bytes, Logits] = {}
        self._closed: list[Chunk] = []
        self._tail: list[Chunk] = []  # the open chunks as last classified
        self._tail_tokens = 0  # size of the open tail when it was last classified
        self._tail_start = 0  # first token of the open tail in the latest plan
        self._next_check = 0  # stable tokens at which a chunk may close

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    @property
    def chars(self) -> int:
        return len(self._text)

    def idle_s(self) -> float:
        return self._clock() - self.last_activity

    def discard(self) -> None:
        """Drops the transcript and everything derived from it."""
        self.ended = True
        self._text = ""
        self._reset_model_state(None)
        self.latest = None
        self.on_expire = None

    def retire(self, final: FinalResult) -> None:
        """Closed: keeps the final result and the latest state, drops the transcript."""
        self.final = final
        self._text = ""
        self._reset_model_state(None)
        self.on_expire = None
        self._touch()

    def _touch(self) -> None:
        self.last_activity = self._clock()

    def _check_open(self) -> None:
        if self.ended:
            raise SessionNotFound("the session has ended", field="session_id")
        if self.final is not None:
            raise SessionClosed("the session is closed; close again for its final result")

    def _model(self) -> ClassificationPipeline:
        pipeline = self.service.require_pipeline()
        if pipeline.version != self._version:
            # Logits of another version must not be mixed into this one's aggregate.
            self._reset_model_state(pipeline.version)
        return pipeline

    def _deadline(self) -> float:
        return time.monotonic() + self.settings.request_timeout_s

    async def _infer(
        self, pipeline: ClassificationPipeline, chunks: list[Chunk], rid: str
    ) -> dict[bytes, Logits]:
        """Logits of `chunks` (distinct ids) in one admitted, batched Triton call."""
        if not chunks:
            return {}
        with self.service.admitted(1):
            # A live call is interactive: its windows go ahead of bulk work.
            logits, bucket = await pipeline.infer(chunks, rid, self._deadline(), Priority.HIGH)
        self.stats.chunks_inferred += len(chunks)
        self.stats.inference_calls += 1
        self.stats.padded_tokens_inferred += len(chunks) * bucket
        return {chunk_key(c): {h: logits[h][i] for h in HEADS} for i, c in enumerate(chunks)}

    def _missing(self, chunks: Sequence[Chunk]) -> list[Chunk]:
        seen: set[bytes] = set()
        missing = []
        for chunk in chunks:
            key = chunk_key(chunk)
            if key not in self._cache and key not in seen:
                seen.add(key)
                missing.append(chunk)
        return missing

    def _tail_due(self, tail_tokens: int, last_tail_tokens: int) -> bool:
        minimum = self.settings.stream_tail_min_tokens
        if minimum <= 0 or tail_tokens < minimum or tail_tokens <= last_tail_tokens:
            return False
        return tail_tokens >= last_tail_tokens * (1.0 + self.settings.stream_tail_growth)

    def _classification(
        self,
        pipeline: ClassificationPipeline,
        chunks: list[Chunk],
        logits: dict[bytes, Logits],
        n_tokens: int,
        timings: Timings,
    ) -> Classification:
        agg_started = time.perf_counter()
        stacked = {h: np.stack([logits[chunk_key(c)][h] for c in chunks]) for h in HEADS}
        result = pipeline.aggregate(stacked, chunks)
        timings.aggregate_ms = (time.perf_counter() - agg_started) * 1000
        return pipeline.classification(self.request_id, result, chunks, n_tokens, timings)

    def _first_alert(
        self,
        pipeline: ClassificationPipeline,
        chunks: list[Chunk],
        logits: dict[bytes, Logits],
        closed: int,
        seq: int,
    ) -> Alert | None:
        """The escalation rule of client/core/aggregation.py on newly classified windows; the first
        `closed` of `chunks` are closed ones."""
        if self.alert is not None or not chunks:
            return None
        stacked = {h: np.stack([logits[chunk_key(c)][h] for c in chunks]) for h in HEADS}
        escalation = pipeline.aggregate(stacked, chunks).escalation
        if not escalation.escalated or escalation.chunk_index is None:
            return None
        position = escalation.chunk_index
        return self._make_alert(
            pipeline, chunks[position], position < closed, escalation.chunk_confidence, seq
        )

    def _make_alert(
        self,
        pipeline: ClassificationPipeline,
        chunk: Chunk,
        closed: bool,
        confidence: float | None,
        seq: int,
    ) -> Alert:
        severity = pipeline.severity
        assert severity is not None  # an escalation implies a severity order
        self.alert = Alert(
            session_id=self.session_id,
            request_id=self.request_id,
            seq=seq,
            chunk_index=chunk.index,
            chunk_closed=closed,
            token_start=chunk.token_start,
            token_end=chunk.token_end,
            char_start=chunk.char_start,
            char_end=chunk.char_end,
            level=severity.most_severe,
            confidence=float(confidence or 0.0),
            threshold=float(severity.escalation_threshold),
            model_version=pipeline.version,
            timestamp=now_iso(),
        )
        return self.alert

    def _check_text(self, piece: str) -> str:
        try:
            piece.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInput("segment is not valid Unicode text", field="text") from None
        text = self._text + piece
        if len(text) > self.settings.stream_max_chars:
            raise PayloadTooLarge(
                f"the transcript would have {len(text)} characters; the limit per session is "
                f"{self.settings.stream_max_chars}",
                field="text",
            )
        return text

    # --- segments ---------------------------------------------------------------------------

    async def add_segment(self, piece: str, seq: int | None = None) -> StepResult:
        """Appends `piece` to the transcript and classifies what became classifiable.

        Atomic: on any error (caps, overload, Triton) the segment is not applied and may be
        sent again. `seq`, when given, must be the number of segments applied so far, so a
        retried segment is never appended twice.
        """
        async with self._lock:
            self._check_open()
            self._touch()
            expected = self.stats.segments
            if seq is not None and seq != expected:
                raise SegmentOutOfOrder(
                    f"segment {seq} received; the next segment of this session is {expected}",
                    field="seq",
                )
            text = self._check_text(piece)
            try:
                return await self._step(text, expected)
            finally:
                self._touch()

    async def _step(self, text: str, seq: int) -> StepResult:
        started = time.perf_counter()
        pipeline = self._model()
        tokens = await asyncio.to_thread(pipeline.bundle.tokenizer.encode, text)
        n_tokens, n_stable = len(tokens), stable_token_count(tokens, text)
        timings = Timings(tokenize_ms=(time.perf_counter() - started) * 1000)
        if n_stable < self._next_check and not self._tail_due(
            n_tokens - self._tail_start, self._tail_tokens
        ):
            # Nothing can have closed and the tail is not due: no chunking, no model.
            return self._commit(text, seq, n_tokens)

        # Interim windows are greedy: a greedy chunk depends only on the text before it.
        chunks = pipeline.chunk(tokens, text, balanced=False)
        capacity = pipeline.plan.max_length - 2
        starts = sentence_starts(tokens.offsets, text) if n_tokens > capacity else [0]
        n_closed = closed_chunk_count(chunks, starts, n_stable, capacity)
        closed, tail = chunks[:n_closed], chunks[n_closed:]
        moved_on = n_closed != len(self._closed)
        tail_tokens = n_tokens - tail[0].token_start if tail else 0
        baseline = self._tail_tokens
        if moved_on:
            # A new tail starts with the overlap of the window that just closed, which is
            # classified already: it is due once it has grown by the factor beyond that.
            baseline = max(0, closed[-1].token_end - tail[0].token_start) if closed else 0
        tail_due = self._tail_due(tail_tokens, baseline)

        new_closed = self._missing(closed)
        new_tail = self._missing(tail) if tail_due else []
        infer_started = time.perf_counter()
        fresh = await self._infer(pipeline, new_closed + new_tail, f"{self.request_id}.{seq}")
        timings.inference_ms = (time.perf_counter() - infer_started) * 1000
        if self.ended:
            raise SessionNotFound("the session has ended", field="session_id")

        # Commit: the segment is applied only now that nothing can fail.
        self._cache.update(fresh)
        self._closed = closed
        if tail_due:
            self._tail, self._tail_tokens = tail, tail_tokens
        elif moved_on:
            self._tail, self._tail_tokens = [], baseline
        self._tail_start = tail[0].token_start if tail else n_tokens
        if tail:
            reach = tail[0].token_start + capacity + 1
            # Its end is decided but its start waits for a sentence start: look again soon.
            self._next_check = reach if reach > n_stable else n_stable + 1
        keep = {chunk_key(c) for c in self._closed + self._tail}
        self._cache = {k: v for k, v in self._cache.items() if k in keep}

        alert = self._first_alert(
            pipeline, new_closed + new_tail, self._cache, len(new_closed), seq
        )
        update = None
        if (moved_on or tail_due) and (self._closed or self._tail):
            windows = self._closed + self._tail
            update = self._classification(pipeline, windows, self._cache, n_tokens, timings)
            timings.total_ms = (time.perf_counter() - started) * 1000
            self.latest, self.latest_seq = update, seq
        self.stats.chunks_closed = len(self._closed)
        self.stats.chunks_tail = len(self._tail)
        result = self._commit(text, seq, n_tokens)
        return StepResult(seq, update, alert, result.stats)

    def _commit(self, text: str, seq: int, n_tokens: int) -> StepResult:
        self._text = text
        self.stats.segments = seq + 1
        self.stats.chars = len(text)
        self.stats.tokens = n_tokens
        return StepResult(seq, None, None, self.stats.snapshot())

    # --- close ------------------------------------------------------------------------------

    async def finish(self) -> tuple[Classification, Alert | None]:
        """The final result: POST /classify's chunks and aggregation on the whole transcript,
        from cached logits where the chunk ids match. Also returns an alert when the final
        result escalates and none was raised before. On error the session stays open."""
        async with self._lock:
            self._check_open()
            self._touch()
            try:
                return await self._final()
            finally:
                self._touch()

    async def _final(self) -> tuple[Classification, Alert | None]:
        started = time.perf_counter()
        text = self._text
        try:
            self.service.check_narrative(text, field="transcript")
        except InvalidInput as exc:
            raise NothingToClassify(
                f"nothing to classify yet: {exc.message}", field="transcript"
            ) from None
        pipeline = self._model()
        tokens = await asyncio.to_thread(pipeline.bundle.tokenizer.encode, text)
        timings = Timings(tokenize_ms=(time.perf_counter() - started) * 1000)
        chunks = pipeline.chunk(tokens, text)
        if not chunks:
            raise NothingToClassify(
                "nothing to classify yet: no text the model can read", field="transcript"
            )
        missing = self._missing(chunks)
        infer_started = time.perf_counter()
        fresh = await self._infer(pipeline, missing, f"{self.request_id}.final")
        timings.inference_ms = (time.perf_counter() - infer_started) * 1000
        logits = {**self._cache, **fresh}
        final = self._classification(pipeline, chunks, logits, len(tokens), timings)
        timings.total_ms = (time.perf_counter() - started) * 1000
        self.stats.chunks_reused += len(chunks) - len(missing)
        self.stats.chunks_closed = len(chunks)
        self.stats.chunks_tail = 0
        self.stats.tokens = len(tokens)
        alert = None
        escalation = final.result.escalation
        if self.alert is None and escalation.escalated and escalation.chunk_index is not None:
            chunk = chunks[escalation.chunk_index]
            alert = self._make_alert(pipeline, chunk, True, escalation.chunk_confidence, -1)
        self.latest = final
        return final, alert


# --- sessions -------------------------------------------------------------------------------


def _no_session() -> SessionNotFound:
    return SessionNotFound(
        "no open session with this id (closed, expired or never opened)", field="session_id"
    )


@dataclass
class SessionManager:
    """All open sessions of this gateway: caps, idle expiry, and cleanup on every exit."""

    service: ClassifierService
    settings: GatewaySettings
    metrics: StreamMetrics | None = None
    notifier: AlertNotifier | None = None
    clock: Callable[[], float] = time.monotonic
    sessions: dict[str, StreamingSession] = field(default_factory=dict)
    _sweeper: asyncio.Task | None = None

    def __post_init__(self) -> None:
        if self.metrics is not None:
            self.metrics.open_sessions.set_function(self.open_count)

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep_forever())

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
            self._sweeper = None
        for session_id in list(self.sessions):
            self.end(session_id, "shutdown")
        if self.notifier is not None:
            await self.notifier.aclose()

    def sweep_interval_s(self) -> float:
        return min(5.0, max(0.05, self.settings.stream_idle_timeout_s / 4))

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_interval_s())
            try:
                await self.expire_idle()
            except Exception:  # noqa: BLE001 - a failed sweep must not stop the sweeper
                log.exception("session sweep failed")

    async def expire_idle(self) -> list[str]:
        limit = self.settings.stream_idle_timeout_s
        expired = [s for s in self.sessions.values() if not s.busy and s.idle_s() > limit]
        for session in expired:
            callback = session.on_expire
            self.end(session.session_id, "expired")
            if callback is not None:
                with contextlib.suppress(Exception):
                    await callback()
        return [s.session_id for s in expired]

    # --- sessions -----------------------------------------------------------------------------

    def open(
        self, request_id: str, include_chunks: bool = False, owner: str | None = None
    ) -> StreamingSession:
        if self.service.draining:
            raise ModelUnavailable("the gateway is shutting down", retry_after_s=1)
        if self.open_count() >= self.settings.stream_max_sessions:
            raise Overloaded(
                f"{self.open_count()} streaming sessions open "
                f"(limit {self.settings.stream_max_sessions})",
                retry_after_s=5,
            )
        session_id = secrets.token_urlsafe(16)  # URL-safe: letters, digits, "-" and "_"
        if self.settings.instance_id:
            session_id = f"{self.settings.instance_id}.{session_id}"
        session = StreamingSession(
            session_id,
            request_id,
            self.service,
            self.settings,
            include_chunks=include_chunks,
            clock=self.clock,
            owner=owner,
        )
        self.sessions[session_id] = session
        log.info("stream session opened session=%s request_id=%s", session_id, request_id)
        return session

    def get(self, session_id: str, owner: str | None = None) -> StreamingSession:
        """The open session `session_id` if `owner` opened it: a caller addressing a session
        by id comes through here. Another owner gets the same error as an unknown id, so a
        session id cannot be confirmed with a different API key."""
        session = self.sessions.get(session_id)
        if session is None or not same_owner(session.owner, owner):
            raise _no_session()
        return session

    def _held_session(self, session_id: str) -> StreamingSession:
        """By id, for a caller that already holds the session (its socket, or after `get`)."""
        session = self.sessions.get(session_id)
        if session is None:
            raise _no_session()
        return session

    def open_count(self) -> int:
        """Sessions not closed yet: the ones `stream_max_sessions` caps."""
        return sum(1 for s in self.sessions.values() if s.final is None)

    def end(self, session_id: str, reason: str) -> bool:
        session = self.sessions.pop(session_id, None)
        if session is None:
            return False
        if session.final is not None:  # closed: logged and counted then
            session.discard()
            return True
        self._record_end(session, reason)
        session.discard()
        return True

    def _record_end(self, session: StreamingSession, reason: str) -> None:
        stats = session.stats
        log.info(
            "stream session ended session=%s request_id=%s reason=%s segments=%d chars=%d "
            "chunks_inferred=%d chunks_reused=%d alert=%s",
            session.session_id,
            session.request_id,
            reason,
            stats.segments,
            stats.chars,
            stats.chunks_inferred,
            stats.chunks_reused,
            session.alert is not None,
        )
        if self.metrics is not None:
            self.metrics.sessions.labels(reason).inc()

    async def segment(self, session_id: str, text: str, seq: int | None = None) -> StepResult:
        session = self._held_session(session_id)
        inferred = session.stats.chunks_inferred
        step = await session.add_segment(text, seq)
        if self.metrics is not None:
            self.metrics.segments.inc()
            self.metrics.chunks.labels("inferred").inc(step.stats.chunks_inferred - inferred)
        if step.alert is not None:
            self._raise_alert(step.alert)
        return step

    async def close(self, session_id: str) -> FinalResult:
        """The final result. The session is then closed, not gone: a client that lost the
        answer closes again and gets the same result, until DELETE or idle expiry (the
        transcript is freed at once; at most `stream_max_sessions` closed ones are kept)."""
        session = self._held_session(session_id)
        if session.final is not None:
            return session.final
        inferred = session.stats.chunks_inferred
        final, alert = await session.finish()
        stats = session.stats.snapshot()
        session.retire((final, alert, stats))
        self._record_end(session, "closed")
        self._bound_closed()
        if self.metrics is not None:
            self.metrics.chunks.labels("inferred").inc(stats.chunks_inferred - inferred)
            self.metrics.chunks.labels("reused").inc(stats.chunks_reused)
        if alert is not None:
            self._raise_alert(alert)
        return final, alert, stats

    def _bound_closed(self) -> None:
        closed = [s for s in self.sessions.values() if s.final is not None]
        for session in sorted(closed, key=lambda s: s.last_activity)[
            : max(0, len(closed) - self.settings.stream_max_sessions)
        ]:
            self.end(session.session_id, "closed")

    def _raise_alert(self, alert: Alert) -> None:
        log.warning(
            "stream escalation session=%s request_id=%s chunk=%d level=%s confidence=%.3f",
            alert.session_id,
            alert.request_id,
            alert.chunk_index,
            alert.level,
            alert.confidence,
        )
        if self.metrics is not None:
            self.metrics.alerts.inc()
        if self.notifier is not None:
            self.notifier.notify(alert.payload())
