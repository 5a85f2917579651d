"""The window algorithm of live calls: which chunks of a growing transcript are final.

A live call's transcript grows segment by segment. Per segment (client/streaming/sessions.py
`StreamingSession` drives these steps):

1. The whole transcript is re-tokenized (cheap next to the model) and the stable prefix is
   found: tokens ending before the last whitespace character. Text appended later cannot
   change them (the WordPiece pre-tokenizer splits on whitespace); a half-word at the end can.
2. Only when a chunk may have closed or the open tail is due (below) are the chunks re-planned
   with the classification pipeline's own chunking plan, greedily (a greedy chunk depends only
   on the text before it; a balanced one on the whole transcript). Chunk k is CLOSED when the
   final chunking of any longer transcript is certain to contain it unchanged: chunk k-1 is
   closed, every token up to `start_k + capacity` is stable (so its end is decided by real
   sentence starts) and the start of chunk k is decided (a stable sentence start follows the
   end of chunk k-1, or no sentence start can exist within a chunk's capacity of it). These
   are exactly the inputs `plan_spans` reads for chunk k. Closed chunks missing from the
   cache (keyed by `chunk_key`) go to Triton in one batched call; chunks already classified
   are never sent again.
3. The open tail (chunks after the closed ones) is classified when it has at least
   `stream_tail_min_tokens` tokens and has grown by the factor `1 + stream_tail_growth` since
   it was last classified; after a chunk closes, the new tail counts from its overlap with
   the closed chunk (already classified). Work bound with the default doubling: the first
   window is classified at 32, 64, 128, 256 tokens and on closing; every later window about
   once while open (when its new text matches the overlap) and once on closing; on close the
   final chunks not yet classified (all of them with balanced chunking, see below). So about
   2 window inferences per final window plus 3, and 3 plus 3 with balanced chunking, in fewer
   padded tokens (tail windows are short): measured by Triton's counters in
   tests/client/http/test_streaming.py, independent of the number of segments.
4. The running aggregate (an update) is the pipeline's aggregation over the closed chunks and
   the last classified tail, from cached logits.

On close, the final transcript is chunked exactly as POST /classifier/classify does; cached
logits are reused for chunks whose ids match and the rest are inferred in one call; the same
aggregation gives the final result (equal to the one-shot result up to float noise from
padding to another bucket). With balanced chunking (the default) a multi-chunk transcript's
final chunks differ from the greedy windows, so the close costs one one-shot classification
on top of the windows; with TRIAGE_CHUNKING=greedy the closed windows are reused.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Sequence

import numpy as np

from client.core.chunking import Chunk
from client.core.tokenization import TokenizedText

Logits = dict[str, np.ndarray]  # one chunk: {head: (n_labels,)}


def chunk_key(chunk: Chunk) -> bytes:
    """Identity of a model input: same ids, same logits (up to padding noise)."""
    return hashlib.blake2b(chunk.input_ids.tobytes(), digest_size=16).digest()


def stable_token_count(tokens: TokenizedText, text: str) -> int:
    """Tokens that text appended to `text` cannot change: those ending at or before the last
    whitespace character (all of them when the text ends with whitespace)."""
    cut = len(text) - 1
    while cut >= 0 and not text[cut].isspace():
        cut -= 1
    if cut < 0 or len(tokens) == 0:
        return 0
    return int(np.count_nonzero(tokens.offsets[:, 1] <= cut))


def closed_chunk_count(
    chunks: Sequence[Chunk], starts: Sequence[int], n_stable: int, capacity: int
) -> int:
    """How many leading chunks of a prefix's chunking are final (see the module docstring).

    `starts` are the prefix's sentence starts; those below `n_stable` are stable.
    """
    closed = 0
    for k, chunk in enumerate(chunks):
        if chunk.token_start + capacity >= n_stable:
            break  # its end may still move: tokens it could reach are not all stable
        if k > 0:
            previous_end = chunks[k - 1].token_end
            i = bisect_right(starts, previous_end)
            next_start_known = i < len(starts) and starts[i] < n_stable
            if not (next_start_known or n_stable > previous_end + capacity):
                break  # its start depends on a sentence start not yet seen
        closed += 1
    return closed
