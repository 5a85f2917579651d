"""The model class loads (and writes) the production checkpoint layout exactly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from helpline_model.checkpoint import load_checkpoint, resolve_checkpoint_folder
from helpline_model.layout import LABEL_FILES

PRODUCTION_PREFIXES = (
    "distilbert.",
    "pre_classifier.",
    "classifier_main.",
    "classifier_sub.",
    "classifier_interv.",
    "classifier_priority.",
)


def test_state_dict_uses_production_parameter_names(tiny_checkpoint: Path) -> None:
    names = load_file(str(tiny_checkpoint / "model.safetensors")).keys()
    assert all(name.startswith(PRODUCTION_PREFIXES) for name in names)
    for prefix in PRODUCTION_PREFIXES[1:]:
        assert {f"{prefix}weight", f"{prefix}bias"} <= set(names)


def test_head_sizes_come_from_label_files(tiny_checkpoint: Path) -> None:
    checkpoint = load_checkpoint(tiny_checkpoint)
    assert checkpoint.labels.sizes() == {"main": 7, "sub": 65, "intervention": 5, "priority": 3}
    heads = checkpoint.model.heads()
    assert [heads[h].out_features for h in ("main", "sub", "intervention", "priority")] == [
        7,
        65,
        5,
        3,
    ]
    # Production stores priorities as JSON integers; they are decoded as strings.
    assert checkpoint.labels.priority == ["1", "2", "3"]
    assert "config" not in json.loads((tiny_checkpoint / "config.json").read_text()).get(
        "id2label", {}
    )


def test_forward_is_cls_pre_classifier_relu_heads(tiny_checkpoint: Path) -> None:
    model = load_checkpoint(tiny_checkpoint).model
    ids = torch.tensor([[101, 2023, 2003, 102, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 0]])
    with torch.inference_mode():
        hidden = model.distilbert(input_ids=ids, attention_mask=mask)[0][:, 0]
        pooled = torch.relu(model.pre_classifier(hidden))
        expected = model.classifier_sub(pooled)
        got = model(ids, mask)[1]
    torch.testing.assert_close(got, expected)


def test_label_file_decides_head_size_and_mismatch_is_refused(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, broken)
    labels = json.loads((broken / LABEL_FILES["main"]).read_text())
    (broken / LABEL_FILES["main"]).write_text(json.dumps(labels + ["Extra"]))
    with pytest.raises(RuntimeError, match="size mismatch"):
        load_checkpoint(broken)


def test_missing_label_file_is_a_clear_error(tiny_checkpoint: Path, tmp_path: Path) -> None:
    broken = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, broken)
    (broken / LABEL_FILES["priority"]).unlink()
    with pytest.raises(FileNotFoundError, match="priorities.json"):
        load_checkpoint(broken)


def test_hub_id_is_not_fetched_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match="HF_HUB_OFFLINE"):
        resolve_checkpoint_folder("openchs/cls-gbv-distilbert-v1")
