"""Model-repository versions: numbering, contents, configs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from export.repository import (
    DEFAULT_REPOSITORY,
    ensure_model_configs,
    latest_version,
    versions,
    write_version,
)


def _write(repo: Path, checkpoint: Path, tmp_path: Path, version: int | None = None) -> Path:
    onnx_file = tmp_path / "model.onnx"
    onnx_file.write_bytes(b"not really onnx")
    return write_version(repo, "m", onnx_file, checkpoint, {"precision": "fp32"}, version)


def test_versions_number_from_the_highest_not_by_counting(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    _write(repo, tiny_checkpoint, tmp_path, version=3)
    (repo / "m" / "notes").mkdir()  # unrelated entries do not shift numbering
    created = _write(repo, tiny_checkpoint, tmp_path)
    assert created.name == "4"
    assert versions(repo, "m") == [3, 4]
    assert latest_version(repo, "m") == 4
    with pytest.raises(FileExistsError):
        _write(repo, tiny_checkpoint, tmp_path, version=4)


def test_version_folder_holds_everything_to_serve_and_decode(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    created = _write(tmp_path / "repo", tiny_checkpoint, tmp_path)
    names = {p.name for p in created.iterdir()}
    assert {
        "model.onnx",
        "model.py",
        "main_categories.json",
        "sub_categories.json",
        "interventions.json",
        "priorities.json",
        "sub_to_main.json",
        "priority_severity.json",
        "tokenizer.json",
        "vocab.txt",
        "metadata.json",
    } <= names
    assert json.loads((created / "metadata.json").read_text())["version"] == 1
    assert not list(created.parent.glob(".*partial"))


def test_new_repository_gets_both_committed_configs(tmp_path: Path) -> None:
    ensure_model_configs(tmp_path, "other_name")
    production = (tmp_path / "other_name" / "config.pbtxt").read_text()
    local = (tmp_path / "other_name" / "configs" / "local.pbtxt").read_text()
    assert 'name: "other_name"' in production and 'backend: "onnxruntime"' in production
    assert 'name: "other_name"' in local and 'backend: "python"' in local


def test_committed_configs_serve_the_same_interface() -> None:
    model = DEFAULT_REPOSITORY / "helpline_classifier"
    production = (model / "config.pbtxt").read_text()
    local = (model / "configs" / "local.pbtxt").read_text()

    def interface(text: str) -> list[str]:
        text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
        start = text.index("input [")
        return text[start : text.index("]\n", text.index("output [")) + 1].split()

    assert interface(production) == interface(local)
    for text in (production, local):
        assert "dynamic_batching" in text and "max_queue_size" in text
        assert "latest: { num_versions: 2 }" in text
        assert "model_warmup" in text
    # The TensorRT profile and warm-ups against the graph and the gateway's buckets:
    # tests/export/test_gpu_graph.py.
    assert 'precision_mode" value: "FP16"' in production
