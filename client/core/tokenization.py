"""Narrative tokenization with the fast tokenizer exported beside the model (no torch).

The gateway loads the tokenizer of a model version once and tokenizes whole
narratives with one batched call, without special tokens: chunking works on these
token ids and their character offsets, and adds [CLS]/[SEP] per chunk. No text is
preprocessed here; the tokenizer's own normalizer (lowercasing for an uncased
model) is the only transformation, as at training time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer, normalizers, pre_tokenizers
from tokenizers.models import WordPiece

# Text the model can read has at least one ASCII letter or digit; the service refuses any
# other narrative with 400 (`ClassifierService.check_narrative`), and the OpenAPI document
# states the same pattern.
READABLE_PATTERN = "[A-Za-z0-9]"
READABLE = re.compile(READABLE_PATTERN)
TOKENIZER_JSON = "tokenizer.json"
VOCAB_TXT = "vocab.txt"
TOKENIZER_CONFIG = "tokenizer_config.json"
SPECIAL_TOKENS_MAP = "special_tokens_map.json"

_DEFAULT_SPECIALS = {
    "cls_token": "[CLS]",
    "sep_token": "[SEP]",
    "pad_token": "[PAD]",
    "unk_token": "[UNK]",
}


@dataclass(frozen=True, eq=False)
class TokenizedText:
    """One narrative's tokens, without special tokens.

    `offsets[i]` is the [start, end) character span of token i in the original text.
    """

    ids: np.ndarray  # int64, shape (n,)
    offsets: np.ndarray  # int64, shape (n, 2)

    def __len__(self) -> int:
        return int(self.ids.shape[0])


def _read_json(path: Path) -> dict:
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    return data if isinstance(data, dict) else {}


def _special_token_names(folder: Path) -> dict[str, str]:
    names = dict(_DEFAULT_SPECIALS)
    for source in (_read_json(folder / TOKENIZER_CONFIG), _read_json(folder / SPECIAL_TOKENS_MAP)):
        for key in names:
            value = source.get(key)
            # transformers writes either "[CLS]" or {"content": "[CLS]", ...}.
            if isinstance(value, dict):
                value = value.get("content")
            if isinstance(value, str) and value:
                names[key] = value
    return names


def _wordpiece_tokenizer(vocab: Path, unk_token: str, lowercase: bool) -> Tokenizer:
    """What BERT's tokenizer.json describes, for models that ship only vocab.txt."""
    tokenizer = Tokenizer(WordPiece.from_file(str(vocab), unk_token=unk_token))
    tokenizer.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=lowercase
    )
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return tokenizer


class NarrativeTokenizer:
    """The fast tokenizer of one model version, loaded once and shared by all requests."""

    def __init__(self, folder: Path | str) -> None:
        folder = Path(folder)
        self.folder = folder
        names = _special_token_names(folder)
        if (folder / TOKENIZER_JSON).is_file():
            self._tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_JSON))
            self.source = TOKENIZER_JSON
        elif (folder / VOCAB_TXT).is_file():
            lowercase = bool(_read_json(folder / TOKENIZER_CONFIG).get("do_lower_case", True))
            self._tokenizer = _wordpiece_tokenizer(
                folder / VOCAB_TXT, names["unk_token"], lowercase
            )
            self.source = VOCAB_TXT
        else:
            raise FileNotFoundError(f"no {TOKENIZER_JSON} or {VOCAB_TXT} in {folder}")
        # Exported tokenizer.json files often carry truncation/padding settings
        # (e.g. truncate to 128): a narrative must never be cut silently, chunking
        # decides lengths and the bucketer pads.
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()

        self.cls_id = self._required_id(names["cls_token"])
        self.sep_id = self._required_id(names["sep_token"])
        self.pad_id = self._required_id(names["pad_token"])

    def _required_id(self, token: str) -> int:
        token_id = self._tokenizer.token_to_id(token)
        if token_id is None:
            raise ValueError(f"special token {token!r} is not in the vocabulary of {self.folder}")
        return int(token_id)

    @property
    def vocab_size(self) -> int:
        return int(self._tokenizer.get_vocab_size())

    def encode_batch(self, texts: Sequence[str]) -> list[TokenizedText]:
        """Tokenize narratives in one batched call, without special tokens."""
        if not texts:
            return []
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [
            TokenizedText(
                ids=np.asarray(encoding.ids, dtype=np.int64),
                offsets=np.asarray(encoding.offsets, dtype=np.int64).reshape(-1, 2),
            )
            for encoding in encodings
        ]

    def encode(self, text: str) -> TokenizedText:
        return self.encode_batch([text])[0]
