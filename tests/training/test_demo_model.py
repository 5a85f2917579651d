"""The demo build's training rows: the synthetic split plus the hand-written training parts,
which go to the train split only and never share a narrative with a held-out set."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from corpus import generator as corpus
from training import cli, demo_model
from training.demo_model import HeldOutLeak, demo_splits, load_handwritten_train


def _write_rows(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def _written_rows(n: int, seed: int) -> list[dict]:
    return [
        {**row, "narrative": f"{row['narrative']} (written {seed}-{i})"}
        for i, row in enumerate(corpus.generate(n, seed=seed, length_profile="short"))
    ]


@pytest.fixture
def parts(tmp_path: Path) -> Path:
    folder = tmp_path / "handwritten_train"
    _write_rows(folder / "part-a.jsonl", _written_rows(12, seed=600))
    _write_rows(folder / "part-b.jsonl", _written_rows(9, seed=601))
    return folder


def test_hand_written_rows_join_the_train_split_only_each_repeated(parts: Path) -> None:
    written = {row["narrative"] for part in parts.glob("*.jsonl") for row in _read(part)}
    splits, info = demo_splits(120, 5, parts, 3, held_out=[], progress=lambda _: None)
    counts = {name: Counter(ex.narrative for ex in rows) for name, rows in splits.items()}
    assert {text: counts["train"][text] for text in written} == dict.fromkeys(written, 3)
    assert not written & (set(counts["validation"]) | set(counts["test"]))
    assert info["n"] == info["kept"] == 21 and info["repeat"] == 3
    assert [p["file"] for p in info["parts"]] == ["part-a.jsonl", "part-b.jsonl"]
    plain, none = demo_splits(120, 5, parts, 0, held_out=[], progress=lambda _: None)
    assert none is None
    assert len(splits["train"]) == len(plain["train"]) + 3 * 21
    assert not written & {ex.narrative for ex in plain["train"]}


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_narrative_of_a_held_out_set_is_refused(parts: Path, tmp_path: Path) -> None:
    held = _read(parts / "part-b.jsonl")[4]
    # Whitespace and case do not make it another text.
    fitting = _write_rows(
        tmp_path / "fitting.jsonl",
        [{**held, "narrative": "  " + held["narrative"].upper().replace(" ", "\n ")}],
    )
    with pytest.raises(HeldOutLeak, match=r"1 narrative\(s\) also in fitting.jsonl"):
        load_handwritten_train(parts, [tmp_path / "missing.jsonl", fitting])
    records, _ = load_handwritten_train(parts, [tmp_path / "missing.jsonl"])
    assert len(records) == 21


def test_the_build_refuses_hand_written_rows_from_the_evaluation_set(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    leaked = _read(demo_model.HANDWRITTEN_EVAL)[0]
    folder = tmp_path / "train"
    _write_rows(folder / "part-a.jsonl", [*_written_rows(5, seed=602), leaked])
    code = cli.main(
        ["build-demo", "--out", str(tmp_path / "demo"), "--handwritten-train", str(folder)]
    )
    assert code == 2
    assert "handwritten_eval.jsonl, which must stay unseen" in capsys.readouterr().err
    assert not (tmp_path / "demo").exists() and not (tmp_path / "demo.partial").exists()


def test_the_shipped_parts_are_the_default_and_apart_from_the_held_out_sets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo_model, "HANDWRITTEN_TRAIN", tmp_path / "none")
    assert demo_model.default_handwritten_train() is None
    monkeypatch.undo()
    assert demo_model.default_handwritten_train() == demo_model.HANDWRITTEN_TRAIN
    held_out = [demo_model.HANDWRITTEN_EVAL, demo_model.HANDWRITTEN_VALIDATION]
    records, info = load_handwritten_train(demo_model.HANDWRITTEN_TRAIN, held_out)
    assert len(records) == info["n"] >= 100


def test_a_negative_repeat_is_refused(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["build-demo", "--out", "unused", "--handwritten-repeat", "-1"])
    assert exit_info.value.code == 2
    assert "must be 0 or more, got -1" in capsys.readouterr().err


def test_the_demo_recipe_weighs_the_sub_head_in_the_main_decision() -> None:
    config = demo_model.demo_config(60.0)
    assert config.main_from_sub == demo_model.DEMO_MAIN_FROM_SUB > 0
    with pytest.raises(ValueError, match="main_from_sub"):
        demo_model.demo_config(60.0, main_from_sub=2.0)
