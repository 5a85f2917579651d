"""Streaming core (client/streaming/sessions.py) with the real tokenizer and chunker of an exported
tiny model, and a deterministic fake model runner: the closure rule, incremental work,
equality with one-shot classification, alerts, webhook, caps, expiry and cleanup."""

from __future__ import annotations

import asyncio
import gc
import json
import random
import re
import threading
import time
import weakref
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from conftest import MODEL
from fake_runner import FakeRunner

from client.core.chunking import chunk_tokens, default_overlap, sentence_starts
from client.core.errors import InvalidInput, ModelUnavailable, Overloaded, PayloadTooLarge
from client.core.model_bundle import ModelBundle
from client.core.service import ClassifierService
from client.core.settings import GatewaySettings
from client.streaming.alerts import AlertNotifier
from client.streaming.sessions import (
    NothingToClassify,
    SegmentOutOfOrder,
    SessionClosed,
    SessionManager,
    SessionNotFound,
)
from client.streaming.windows import chunk_key, closed_chunk_count, stable_token_count
from client.triton.runner import Priority
from helpline_model.layout import HEADS

SENTENCE = (
    "The caller explained that the family moved to the village last year and the children "
    "walk a long way to school every morning. "
)
LONG = SENTENCE * 12 + "Yesterday the boy was beaten badly by his uncle and has a broken arm."
VARIED = (
    "Counsellor: hello, you are through to the child helpline.\n"
    "Caller: my neighbour's girl, she is 9, e.g. she has not eaten for 3.5 days!\n"
    "Counsellor: where is she now? Is she safe?\n"
    "Caller: she is at home; the stepfather locks her in a room when the mother travels "
    "to the market, which happens every week, sometimes twice, and nobody checks on her "
    "during those days because the house is far from the road. "
) * 5
ESCALATING_WORD = "stepfather"
_VOCABULARY = (  # noqa: SIM905 - a word list reads better as one string
    "caller girl boy mother father uncle teacher school home village money food night day "
    "week hospital police neighbour friend phone beaten hungry afraid crying alone locked "
    "sick pain work market road church water clothes fees exam sister brother aunt"
).split()


def transcript(n_sentences: int, seed: int = 0) -> str:
    """A call transcript without repeated passages (identical windows would be sent to the
    model once, which would flatter the work measurements)."""
    rng = random.Random(seed)
    parts = []
    for i in range(n_sentences):
        words = rng.choices(_VOCABULARY, k=rng.randint(3, 22))
        speaker = rng.choice(["Counsellor", "Caller"])
        end = rng.choice([".", ".", "?", "!"])
        sep = rng.choice([" ", " ", "\n"])
        parts.append(f"{speaker} ({i}): {' '.join(words)}{end}{sep}")
    return "".join(parts)


CALL = transcript(60)


def split_words(text: str) -> list[str]:
    return re.findall(r"\s*\S+\s*", text)


def split_sentences(text: str) -> list[str]:
    return re.findall(r".*?(?:[.!?]\s+|\n|$)", text, flags=re.DOTALL)[:-1] or [text]


@pytest.fixture(scope="module")
def bundle(model_repository: Path) -> ModelBundle:
    return ModelBundle.load(model_repository, MODEL, "2")


def make_service(
    model_repository: Path, bundle: ModelBundle, escalate: bool = False, **overrides
) -> tuple[ClassifierService, FakeRunner]:
    options = {"model_repository": model_repository, "max_length": 64, **overrides}
    settings = GatewaySettings(**options)
    escalate_id = bundle.tokenizer.encode(ESCALATING_WORD).ids[0] if escalate else None
    runner = FakeRunner(bundle.labels.sizes(), escalate_id)
    service = ClassifierService(settings, runner)
    asyncio.run(service.refresh())
    assert service.bundle is not None and service.bundle.version == "2"
    return service, runner


def run(coro):
    return asyncio.run(coro)


async def stream(manager: SessionManager, pieces: list[str]):
    session = manager.open("req-1")
    events = []
    for seq, piece in enumerate(pieces):
        events.append(await manager.segment(session.session_id, piece, seq))
    final, alert, stats = await manager.close(session.session_id)
    return events, final, alert, stats


def assert_same_result(a, b, exact: bool = True) -> None:
    assert [c.token_start for c in a.chunks] == [c.token_start for c in b.chunks]
    assert [c.token_end for c in a.chunks] == [c.token_end for c in b.chunks]
    for head in HEADS:
        assert a.result.label(head) == b.result.label(head)
        if exact:
            assert a.result.confidence(head) == b.result.confidence(head)
        else:
            assert a.result.confidence(head) == pytest.approx(b.result.confidence(head), abs=1e-4)
    assert a.result.escalation == b.result.escalation
    assert a.n_tokens == b.n_tokens and a.bucket == b.bucket


# --- the closure rule -----------------------------------------------------------------------


@pytest.mark.parametrize("max_length,overlap", [(24, 0), (32, 8), (64, None), (48, 20)])
@pytest.mark.parametrize("text", [LONG, VARIED], ids=["repetitive", "varied"])
def test_closed_chunks_of_every_prefix_are_chunks_of_the_final_text(
    bundle: ModelBundle, text: str, max_length: int, overlap: int | None
) -> None:
    """Every character prefix, half-words included: a chunk the rule calls closed has the
    span and ids the final chunking gives it."""
    tok = bundle.tokenizer
    overlap = default_overlap(max_length) if overlap is None else overlap
    capacity = max_length - 2
    # Interim windows are greedy (client/streaming/windows.py): the rule is about greedy chunks.
    final = chunk_tokens(
        tok.encode(text), text, max_length, overlap, tok.cls_id, tok.sep_id, balanced=False
    )
    closed_seen = 0
    for cut in range(1, len(text) + 1, 3):
        prefix = text[:cut]
        tokens = tok.encode(prefix)
        chunks = chunk_tokens(
            tokens, prefix, max_length, overlap, tok.cls_id, tok.sep_id, balanced=False
        )
        starts = sentence_starts(tokens.offsets, prefix) if len(tokens) > capacity else [0]
        n_closed = closed_chunk_count(chunks, starts, stable_token_count(tokens, prefix), capacity)
        assert n_closed < len(chunks)  # the last chunk is always open
        for mine, theirs in zip(chunks[:n_closed], final, strict=False):
            assert (mine.token_start, mine.token_end) == (theirs.token_start, theirs.token_end)
            assert chunk_key(mine) == chunk_key(theirs)
        closed_seen = max(closed_seen, n_closed)
    assert closed_seen >= len(final) - 2  # chunks do close while the text grows


def test_stable_token_count(bundle: ModelBundle) -> None:
    tok = bundle.tokenizer
    assert stable_token_count(tok.encode("hello"), "hello") == 0
    assert stable_token_count(tok.encode("hello "), "hello ") == 1
    text = "the caller unbeliev"
    assert stable_token_count(tok.encode(text), text) == 2
    assert stable_token_count(tok.encode(""), "") == 0


# --- equality and incremental work ----------------------------------------------------------


@pytest.mark.parametrize("chunking", ["greedy", "balanced"])
@pytest.mark.parametrize("text", [CALL, transcript(25, seed=1), LONG], ids=["call", "short", "rep"])
def test_streamed_final_equals_one_shot_for_every_split(
    model_repository: Path, bundle: ModelBundle, text: str, chunking: str
) -> None:
    service, runner = make_service(model_repository, bundle, chunking=chunking)
    greedy = chunking == "greedy"
    once = run(service.classify(text, "once", time.monotonic() + 30))
    once_rows, once_padded = runner.rows, runner.padded_tokens
    assert len(once.chunks) >= 3

    factors = {}
    for name, pieces in {
        "word": split_words(text),
        "sentence": split_sentences(text),
        "one piece": [text],
    }.items():
        assert "".join(pieces) == text
        manager = SessionManager(service, service.settings)
        rows_before, padded_before = runner.rows, runner.padded_tokens
        events, final, _, stats = run(stream(manager, pieces))
        assert_same_result(final, once)
        assert stats.chunks_inferred == runner.rows - rows_before
        rows = (runner.rows - rows_before) / once_rows
        padded = (runner.padded_tokens - padded_before) / once_padded
        factors[name] = (rows, padded)
        if name != "one piece":
            updates = [e.update for e in events if e.update is not None]
            assert updates, "updates arrive while the transcript grows"
            assert max(len(u.chunks) for u in updates) >= len(once.chunks) - 2
            # The work is incremental: far fewer model calls than segments.
            assert runner.calls < len(pieces) or name == "sentence"
            if greedy:  # balanced final chunks are not the greedy windows
                assert stats.chunks_reused >= len(once.chunks) - 2
    print(f"{len(once.chunks)} chunks; work (rows, padded tokens) / one-shot: {factors}")
    # Identical windows (a repeated passage) are sent once: one piece costs at most one-shot.
    assert factors["one piece"][0] <= 1.0 and factors["one piece"][1] <= 1.0
    if text is LONG:
        return  # the factors below are about transcripts without repeated passages
    for name in ("word", "sentence"):
        rows, padded = factors[name]
        # Balanced: the close adds one one-shot classification (client/streaming/windows.py).
        assert rows <= (4.0 if greedy else 5.0) and padded <= (3.0 if greedy else 4.0), factors


def test_a_live_call_is_sent_at_high_priority(model_repository: Path, bundle: ModelBundle) -> None:
    """Windows and the final classification of a live call go ahead of bulk work."""
    service, runner = make_service(model_repository, bundle)
    manager = SessionManager(service, service.settings)
    run(stream(manager, split_sentences(CALL)))
    assert runner.priorities and set(runner.priorities) == {Priority.HIGH}


def test_segment_that_completes_no_window_costs_no_model_call(
    model_repository: Path, bundle: ModelBundle
) -> None:
    service, runner = make_service(model_repository, bundle, stream_tail_min_tokens=0)
    manager = SessionManager(service, service.settings)

    async def scenario() -> None:
        session = manager.open("r")
        step = await manager.segment(session.session_id, "The caller said hello. ")
        assert step.update is None and runner.calls == 0  # tail classification is off
        for piece in split_words(CALL):
            before = runner.calls
            step = await manager.segment(session.session_id, piece)
            assert (runner.calls > before) == (step.update is not None)
        assert session.stats.chunks_closed >= 3
        # every closed chunk went to the model exactly once
        assert runner.rows == session.stats.chunks_closed
        final, _, stats = await manager.close(session.session_id)
        assert stats.chunks_reused == stats.chunks_closed - (runner.rows - stats.chunks_reused)

    run(scenario())


def test_update_events_describe_the_growing_transcript(
    model_repository: Path, bundle: ModelBundle
) -> None:
    service, _ = make_service(model_repository, bundle)
    manager = SessionManager(service, service.settings)
    events, final, _, _ = run(stream(manager, split_sentences(CALL)))
    updates = [e for e in events if e.update is not None]
    assert updates[0].update.chunks and updates[0].update.request_id == "req-1"
    chunk_counts = [len(e.update.chunks) for e in updates]
    assert chunk_counts == sorted(chunk_counts)
    assert [e.seq for e in events] == list(range(len(events)))
    assert events[-1].stats.segments == len(events)
    assert final.n_tokens == events[-1].stats.tokens


# --- alerts ---------------------------------------------------------------------------------


def test_alert_fires_once_with_the_triggering_chunk(
    model_repository: Path, bundle: ModelBundle
) -> None:
    service, _ = make_service(model_repository, bundle, escalate=True)
    manager = SessionManager(service, service.settings)
    text = SENTENCE * 6 + f"Then the {ESCALATING_WORD} came home. " + SENTENCE * 6
    events, final, alert_on_close, _ = run(stream(manager, split_words(text)))
    alerts = [e.alert for e in events if e.alert is not None]
    assert len(alerts) == 1 and alert_on_close is None
    alert = alerts[0]
    assert alert.level == "3" and alert.confidence > 0.99 and alert.threshold == 0.5
    assert alert.char_start <= text.index(ESCALATING_WORD) < alert.char_end
    # raised as soon as a window holding the word was classified, long before the end
    assert alert.seq < len(split_words(text)) - 20
    assert final.result.escalation.escalated
    assert set(alert.payload()) >= {"session_id", "request_id", "chunk_index", "level"}
    assert not any(isinstance(v, str) and "came home" in v for v in alert.payload().values())


def test_alert_on_close_when_only_the_final_chunk_escalates(
    model_repository: Path, bundle: ModelBundle
) -> None:
    service, _ = make_service(model_repository, bundle, escalate=True, stream_tail_min_tokens=0)
    manager = SessionManager(service, service.settings)
    events, final, alert, _ = run(stream(manager, [f"The {ESCALATING_WORD} hit her. "]))
    assert all(e.alert is None for e in events)
    assert alert is not None and alert.seq == -1 and alert.chunk_closed
    assert final.result.escalation.escalated


class _Webhook(BaseHTTPRequestHandler):
    received: list[dict] = []
    failures_left = 0

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        cls = type(self)
        if cls.failures_left > 0:
            cls.failures_left -= 1
            self.send_response(500)
        else:
            cls.received.append(body)
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        return None


@pytest.fixture
def webhook() -> Iterator[tuple[str, type[_Webhook]]]:
    handler = type("Hook", (_Webhook,), {"received": [], "failures_left": 0})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/alerts", handler
    server.shutdown()


def test_webhook_is_retried_and_carries_no_text(
    model_repository: Path, bundle: ModelBundle, webhook
) -> None:
    url, hook = webhook
    hook.failures_left = 2
    service, _ = make_service(model_repository, bundle, escalate=True)
    outcomes: list[str] = []

    async def scenario() -> None:
        notifier = AlertNotifier(
            url, timeout_s=2, retries=3, backoff_s=0.01, on_result=outcomes.append
        )
        manager = SessionManager(service, service.settings, notifier=notifier)
        await stream(manager, split_words(SENTENCE + f"The {ESCALATING_WORD} hit her. " * 3))
        await notifier.aclose(grace_s=5)

    run(scenario())
    assert outcomes == ["delivered"]
    assert len(hook.received) == 1
    payload = hook.received[0]
    assert payload["level"] == "3" and payload["request_id"] == "req-1"
    assert ESCALATING_WORD not in json.dumps(payload)


def test_webhook_gives_up_after_retries(model_repository: Path, bundle: ModelBundle) -> None:
    outcomes: list[str] = []

    async def scenario() -> None:
        notifier = AlertNotifier(
            "http://127.0.0.1:9/none",
            timeout_s=0.5,
            retries=1,
            backoff_s=0.01,
            on_result=outcomes.append,
        )
        notifier.notify({"session_id": "s", "request_id": "r"})
        await notifier.aclose(grace_s=5)

    run(scenario())
    assert outcomes == ["failed"]


# --- caps, errors, expiry, cleanup ----------------------------------------------------------


def test_session_cap_and_draining(model_repository: Path, bundle: ModelBundle) -> None:
    service, _ = make_service(model_repository, bundle, stream_max_sessions=2)
    manager = SessionManager(service, service.settings)
    first = manager.open("a")
    manager.open("b")
    with pytest.raises(Overloaded):
        manager.open("c")
    manager.end(first.session_id, "deleted")
    manager.open("c")
    service.start_draining()
    with pytest.raises(ModelUnavailable):
        manager.open("d")


def test_session_ids_carry_the_instance_id_for_routing(
    model_repository: Path, bundle: ModelBundle
) -> None:
    service, _ = make_service(model_repository, bundle, instance_id="gateway-1")
    session = SessionManager(service, service.settings).open("r")
    prefix, _, token = session.session_id.partition(".")
    assert prefix == "gateway-1" and len(token) >= 16 and "." not in token
    anonymous, _ = make_service(model_repository, bundle)
    assert "." not in SessionManager(anonymous, anonymous.settings).open("r").session_id
    with pytest.raises(ValueError):  # it goes into URLs and an nginx regex
        GatewaySettings(instance_id="gateway/0")


def test_transcript_cap_refuses_the_segment_and_keeps_the_session(
    model_repository: Path, bundle: ModelBundle
) -> None:
    service, _ = make_service(model_repository, bundle, stream_max_chars=100)
    manager = SessionManager(service, service.settings)

    async def scenario() -> None:
        session = manager.open("r")
        await manager.segment(session.session_id, "a" * 60 + " ")
        with pytest.raises(PayloadTooLarge):
            await manager.segment(session.session_id, "b" * 60)
        assert session.chars == 61 and session.stats.segments == 1
        await manager.segment(session.session_id, "ok ")
        final, _, stats = await manager.close(session.session_id)
        assert stats.chars == 64 and final.n_tokens >= 2

    run(scenario())


def test_failed_inference_does_not_apply_the_segment(
    model_repository: Path, bundle: ModelBundle
) -> None:
    service, runner = make_service(model_repository, bundle)
    manager = SessionManager(service, service.settings)

    async def scenario() -> None:
        session = manager.open("r")
        runner.fail_next = ModelUnavailable("down")
        with pytest.raises(ModelUnavailable):
            await manager.segment(session.session_id, SENTENCE * 2, seq=0)
        assert session.chars == 0 and session.stats.segments == 0
        with pytest.raises(SegmentOutOfOrder):
            await manager.segment(session.session_id, SENTENCE * 2, seq=1)
        step = await manager.segment(session.session_id, SENTENCE * 2, seq=0)
        assert step.update is not None and session.stats.segments == 1

    run(scenario())
    assert service.in_flight == 0


def test_empty_or_unreadable_transcript_cannot_close(
    model_repository: Path, bundle: ModelBundle
) -> None:
    service, _ = make_service(model_repository, bundle)
    manager = SessionManager(service, service.settings)

    async def scenario() -> None:
        session = manager.open("r")
        # A state of the session (409), not a malformed request: send text, then close.
        with pytest.raises(NothingToClassify):
            await manager.close(session.session_id)
        await manager.segment(session.session_id, "\u200b ")
        with pytest.raises(NothingToClassify):
            await manager.close(session.session_id)
        with pytest.raises(InvalidInput):
            await manager.segment(session.session_id, "\ud800")
        assert manager.get(session.session_id) is session  # still open after the errors
        await manager.segment(session.session_id, "hello")
        await manager.close(session.session_id)
        manager.end(session.session_id, "deleted")
        with pytest.raises(SessionNotFound):
            manager.get(session.session_id)

    run(scenario())


def test_closed_session_closes_again_until_deleted_or_expired(
    model_repository: Path, bundle: ModelBundle
) -> None:
    """A client that lost the answer to close gets the same final again; a closed session
    holds no transcript, does not count against the cap, and ends on expiry."""
    service, _ = make_service(
        model_repository, bundle, stream_max_sessions=2, stream_idle_timeout_s=10
    )
    now = [1000.0]
    manager = SessionManager(service, service.settings, clock=lambda: now[0])

    async def scenario() -> None:
        closed = []
        for _ in range(3):
            session = manager.open("r")
            await manager.segment(session.session_id, SENTENCE)
            final = await manager.close(session.session_id)
            assert session.chars == 0 and session._cache == {}
            again = await manager.close(session.session_id)
            assert all(a is b for a, b in zip(again, final, strict=True))
            with pytest.raises(SessionClosed):
                await manager.segment(session.session_id, SENTENCE)
            closed.append(session.session_id)
            now[0] += 1
        # At most `stream_max_sessions` closed ones are kept: the oldest went first.
        assert list(manager.sessions) == closed[1:] and manager.open_count() == 0
        manager.open("a")
        manager.open("b")
        everything = sorted(manager.sessions)
        assert len(everything) == 4
        now[0] += 11
        assert sorted(await manager.expire_idle()) == everything
        assert manager.sessions == {}

    run(scenario())


def test_idle_sessions_expire_and_notify(model_repository: Path, bundle: ModelBundle) -> None:
    service, _ = make_service(model_repository, bundle, stream_idle_timeout_s=10)
    now = [1000.0]
    manager = SessionManager(service, service.settings, clock=lambda: now[0])
    expired_calls: list[str] = []

    async def scenario() -> None:
        idle = manager.open("idle")
        active = manager.open("active")

        async def on_expire() -> None:
            expired_calls.append(idle.session_id)

        idle.on_expire = on_expire
        now[0] += 6
        await manager.segment(active.session_id, "still talking ")
        now[0] += 6
        assert await manager.expire_idle() == [idle.session_id]
        assert list(manager.sessions) == [active.session_id]
        with pytest.raises(SessionNotFound):
            await manager.segment(idle.session_id, "late")

    run(scenario())
    assert len(expired_calls) == 1


def test_sweeper_runs_in_the_background(model_repository: Path, bundle: ModelBundle) -> None:
    service, _ = make_service(model_repository, bundle, stream_idle_timeout_s=0.2)
    manager = SessionManager(service, service.settings)

    async def scenario() -> None:
        manager.start()
        manager.open("r")
        await asyncio.sleep(0.6)
        assert manager.sessions == {}
        manager.open("r2")
        await manager.stop()
        assert manager.sessions == {}

    run(scenario())


def test_ended_sessions_free_their_state(model_repository: Path, bundle: ModelBundle) -> None:
    """Memory stays bounded: many sessions with long transcripts, all ended, nothing left."""
    service, _ = make_service(model_repository, bundle, stream_max_sessions=50)
    manager = SessionManager(service, service.settings)
    refs: list[weakref.ref] = []

    async def scenario() -> None:
        for reason in ("closed", "deleted", "dropped"):
            for _ in range(15):
                session = manager.open("r")
                refs.append(weakref.ref(session))
                for piece in split_sentences(LONG):
                    await manager.segment(session.session_id, piece)
                assert session._cache and session.chars == len(LONG)
                if reason == "closed":
                    await manager.close(session.session_id)  # kept for a repeated close
                    assert session.final is not None and not session.ended
                else:
                    manager.end(session.session_id, reason)
                    assert session.ended
                assert session.chars == 0 and session._cache == {}
        assert manager.open_count() == 0 and len(manager.sessions) == 15
        for session_id in list(manager.sessions):
            manager.end(session_id, "deleted")
        assert manager.sessions == {}

    run(scenario())
    gc.collect()
    assert all(ref() is None for ref in refs)


def test_model_version_change_resets_the_cache(model_repository: Path, bundle: ModelBundle) -> None:
    service, runner = make_service(model_repository, bundle)
    manager = SessionManager(service, service.settings)

    async def scenario() -> None:
        session = manager.open("r")
        for piece in split_sentences(CALL):
            await manager.segment(session.session_id, piece)
        runner.ready_versions = ["1"]
        service.settings.model_version = "1"
        await service.refresh()
        assert service.bundle.version == "1"
        rows = runner.rows
        final, _, stats = await manager.close(session.session_id)
        assert final.model_version == "1"
        assert stats.chunks_reused == 0 and runner.rows - rows == len(final.chunks)

    run(scenario())
