"""Cutting a live-call transcript into the segments a stream sends."""

from __future__ import annotations

import re

SPLITS = ("word", "sentence", "line")
# A word and the whitespace after it; a sentence up to its end mark (closing quotes or brackets
# included) and the whitespace after it, or up to a line break, or to the end.
_WORD = re.compile(r"\s*\S+\s*|\s+")
_SENTENCE = re.compile(r"[^\n]*?(?:[.!?…]+[\"')\]’”»]*(?=\s|$)|\n|$)\s*")


def split_transcript(text: str, by: str = "sentence") -> list[str]:
    """Segments of `text` by word, sentence or line; they concatenate back to `text` exactly,
    which is what the gateway classifies."""
    if by == "word":
        pieces = _WORD.findall(text)
    elif by == "sentence":
        pieces = [p for p in _SENTENCE.findall(text) if p]
    elif by == "line":
        pieces = text.splitlines(keepends=True)
    else:
        raise ValueError(f"by must be one of {SPLITS}, got {by!r}")
    if "".join(pieces) != text:  # a guard on the patterns: never stream another text
        raise AssertionError("segments do not concatenate to the transcript")
    return pieces
