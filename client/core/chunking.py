"""Split one tokenized narrative into model-sized chunks on sentence boundaries.

Rules (all positions are indices into the narrative's tokens without specials):

* `capacity = max_length - 2` text tokens fit in a chunk ([CLS] and [SEP] take two).
  A narrative of at most `capacity` tokens is one chunk.
* Sentence starts come from the character offsets of the single tokenization and
  the text: token i starts a sentence when the text between token i-1 and token i
  contains a line break (transcripts put counsellor and caller turns on separate
  lines), or contains whitespace while token i-1 ends with `.`, `!`, `?` or `…`,
  possibly followed by closing quotes or brackets. "3.5" or "e.g.x" is no boundary.
* Greedy packing: a chunk ends at the last sentence boundary that fits and adds
  tokens not yet covered; when none does (one sentence longer than a chunk, or
  one that cannot fit together with the overlap), it is cut on a token boundary
  at full capacity.
* The next chunk starts at the earliest sentence start in the overlap window
  [end - overlap, end], i.e. the largest overlap not above `overlap`; the window
  is narrowed so that the next sentence still fits whole when it can fit at all.
  Without a sentence start in the window, a chunk that ended on a sentence
  boundary is followed with no overlap (only when sentences are as long as the
  overlap), and a chunk cut inside a sentence is followed by a token-level
  overlap.
* Balanced chunking (the default, `balanced=True`): greedy packing fills every chunk but
  the last, and one batch pads all of a narrative's chunks to the bucket of its longest,
  so a 700-token narrative would send 2 x 512. Instead the chunk capacity is lowered to the
  smallest value that still gives the greedy number of chunks and still keeps every sentence
  that fits a chunk whole (binary search over `plan_spans`), so the chunks come out about
  equally long and land in a smaller bucket: the same chunk count and overlap, less padding
  (client/core/buckets.py has the figures).
  Greedy chunks depend only on the text before them; balanced ones depend on the whole
  narrative, which is why live-call streaming plans its interim windows greedily.
* Consequences (tested as properties): chunks are in order, each starts after the
  previous one's start and ends after its end, there are no gaps, every token is
  in some chunk, consecutive chunks share at most `overlap` tokens, and there are
  at most as many chunks as tokens.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass

import numpy as np

from client.core.tokenization import TokenizedText

SENTENCE_END = frozenset(".!?…")
CLOSING = frozenset("\"')]}’”»")
LINE_BREAKS = frozenset("\n\r\x0b\x0c\x85\u2028\u2029")

# Today's service overlaps 150 tokens of 512; other lengths scale it.
_REFERENCE_OVERLAP = 150
_REFERENCE_LENGTH = 512


@dataclass(frozen=True, eq=False)
class Chunk:
    """A model input cut from one narrative."""

    index: int
    token_start: int  # first narrative token (specials excluded)
    token_end: int  # exclusive
    char_start: int
    char_end: int  # exclusive
    token_count: int  # text tokens, [CLS]/[SEP] excluded
    input_ids: np.ndarray  # int64: [CLS] tokens [SEP]

    @property
    def length(self) -> int:
        """Sequence length fed to the model, specials included."""
        return int(self.input_ids.shape[0])


def default_overlap(max_length: int) -> int:
    """Today's 150-of-512 token overlap scaled to `max_length`."""
    _check_max_length(max_length)
    # Tiny lengths (tests) would otherwise get an overlap as large as a chunk.
    return min(round(max_length * _REFERENCE_OVERLAP / _REFERENCE_LENGTH), max_length - 3)


def _check_max_length(max_length: int) -> None:
    if not isinstance(max_length, int) or max_length < 3:
        raise ValueError(f"max_length must be an integer >= 3, got {max_length!r}")


def _check_arguments(tok: TokenizedText, max_length: int, overlap: int) -> None:
    _check_max_length(max_length)
    if not isinstance(overlap, int) or overlap < 0:
        raise ValueError(f"overlap must be a non-negative integer, got {overlap!r}")
    if overlap >= max_length - 2:
        raise ValueError(
            f"overlap ({overlap}) must be smaller than max_length - 2 ({max_length - 2})"
        )
    if tok.ids.ndim != 1 or tok.offsets.shape != (tok.ids.shape[0], 2):
        raise ValueError("token ids and offsets do not match")


def _ends_sentence(text: str, end: int) -> bool:
    i = end - 1
    while i >= 0 and text[i] in CLOSING:
        i -= 1
    return i >= 0 and text[i] in SENTENCE_END


def sentence_starts(offsets: np.ndarray, text: str) -> list[int]:
    """Token indices that begin a sentence, in order; [0] first for a non-empty narrative."""
    spans = offsets.tolist()
    if not spans:
        return []
    starts = [0]
    for i in range(1, len(spans)):
        prev_end, start = spans[i - 1][1], spans[i][0]
        gap = text[prev_end:start]
        if not gap:
            continue
        if any(c in LINE_BREAKS for c in gap) or (
            any(c.isspace() for c in gap) and _ends_sentence(text, prev_end)
        ):
            starts.append(i)
    return starts


def plan_spans(
    starts: list[int], n_tokens: int, capacity: int, overlap: int
) -> list[tuple[int, int]]:
    """[start, end) token spans of the chunks; `starts` as from `sentence_starts`."""
    if n_tokens == 0:
        return []
    if n_tokens <= capacity:
        return [(0, n_tokens)]
    # Positions where a chunk may end or the next may begin; n_tokens is always one.
    boundaries = [s for s in starts if 0 < s < n_tokens] + [n_tokens]
    spans: list[tuple[int, int]] = []
    start, covered = 0, 0
    while True:
        limit = min(start + capacity, n_tokens)
        j = bisect_right(boundaries, limit) - 1
        # A boundary at or before `covered` would repeat tokens without progress.
        end = boundaries[j] if j >= 0 and boundaries[j] > covered else limit
        spans.append((start, end))
        covered = end
        if end == n_tokens:
            return spans
        low = max(end - overlap, start + 1)
        next_boundary = boundaries[bisect_right(boundaries, end)]
        if next_boundary - end <= capacity:
            # Do not let the overlap push a sentence that fits a chunk into a token cut.
            low = max(low, next_boundary - capacity)
        k = bisect_left(boundaries, low)
        start = boundaries[k] if boundaries[k] <= end else low


def _keeps_sentences_whole(
    spans: list[tuple[int, int]], starts: list[int], n_tokens: int, capacity: int
) -> bool:
    """Whether every sentence of at most `capacity` tokens lies whole in some chunk."""
    span_starts = [s for s, _ in spans]
    for a, b in zip(starts, starts[1:] + [n_tokens], strict=True):
        # Of the chunks starting at or before the sentence, the last reaches furthest.
        if b - a <= capacity and spans[bisect_right(span_starts, a) - 1][1] < b:
            return False
    return True


def plan_balanced_spans(
    starts: list[int], n_tokens: int, capacity: int, overlap: int
) -> list[tuple[int, int]]:
    """`plan_spans` with the smallest capacity that keeps its number of chunks and cuts no
    sentence that a full-capacity chunk would hold whole."""
    greedy = plan_spans(starts, n_tokens, capacity, overlap)
    if len(greedy) <= 1:
        return greedy
    # No capacity below n/k covers the narrative in k chunks; plan_spans needs capacity > overlap.
    low = max(-(-n_tokens // len(greedy)), overlap + 1)
    high, best = capacity, greedy
    while low < high:
        middle = (low + high) // 2
        spans = plan_spans(starts, n_tokens, middle, overlap)
        if len(spans) <= len(greedy) and _keeps_sentences_whole(spans, starts, n_tokens, capacity):
            high, best = middle, spans
        else:
            low = middle + 1
    return best


def chunk_tokens(
    tok: TokenizedText,
    text: str,
    max_length: int,
    overlap: int,
    cls_id: int,
    sep_id: int,
    *,
    balanced: bool = True,
) -> list[Chunk]:
    """Chunks of at most `max_length` ids ([CLS] and [SEP] included) covering every token."""
    _check_arguments(tok, max_length, overlap)
    n_tokens = len(tok)
    if n_tokens == 0:
        return []
    capacity = max_length - 2
    starts = sentence_starts(tok.offsets, text) if n_tokens > capacity else [0]
    plan = plan_balanced_spans if balanced else plan_spans
    chunks = []
    for index, (start, end) in enumerate(plan(starts, n_tokens, capacity, overlap)):
        input_ids = np.empty(end - start + 2, dtype=np.int64)
        input_ids[0] = cls_id
        input_ids[1:-1] = tok.ids[start:end]
        input_ids[-1] = sep_id
        chunks.append(
            Chunk(
                index=index,
                token_start=start,
                token_end=end,
                char_start=int(tok.offsets[start, 0]),
                char_end=int(tok.offsets[end - 1, 1]),
                token_count=end - start,
                input_ids=input_ids,
            )
        )
    return chunks
