"""File layout shared by checkpoints and model-repository versions (no torch here).

The production checkpoint keeps its four head vocabularies beside the weights, each a
JSON list in head-index order. The same files are copied into every Triton model
version so the gateway decodes exactly what the exported graph was trained on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Where versions are written and served from, and the served model's name.
DEFAULT_REPOSITORY = PROJECT_ROOT / "model_repository"
DEFAULT_MODEL_NAME = "helpline_classifier"

HEADS: tuple[str, ...] = ("main", "sub", "intervention", "priority")

# Graph precisions the export writes: see export/onnx_export.py for how each is made.
# `openvino-bf16` is the plain fp32 graph, run by OpenVINO in bf16 (export/openvino_runner.py).
PRECISIONS: tuple[str, ...] = ("fp32", "fp32-opt", "int8", "int8-block", "fp16", "openvino-bf16")

LABEL_FILES: dict[str, str] = {
    "main": "main_categories.json",
    "sub": "sub_categories.json",
    "intervention": "interventions.json",
    "priority": "priorities.json",
}

# Parameter-name prefix of each head in the production state dict.
HEAD_MODULES: dict[str, str] = {
    "main": "classifier_main",
    "sub": "classifier_sub",
    "intervention": "classifier_interv",
    "priority": "classifier_priority",
}

# The gateway's response fields, and the keys of labelled evaluation rows, per head.
HEAD_FIELDS: dict[str, str] = {
    "main": "main_category",
    "sub": "sub_category",
    "intervention": "intervention",
    "priority": "priority",
}

# ONNX / Triton tensor names.
INPUT_NAMES: tuple[str, ...] = ("input_ids", "attention_mask")
OUTPUT_NAMES: dict[str, str] = {head: f"logits_{head}" for head in HEADS}

# Optional files shipped with a model that the gateway understands.
SUB_TO_MAIN_FILE = "sub_to_main.json"
SEVERITY_FILE = "priority_severity.json"
METADATA_FILE = "metadata.json"
# Written by fine-tuning beside the weights: how the checkpoint was trained.
TRAINING_INFO_FILE = "training_info.json"
TOKENIZER_FILES: tuple[str, ...] = (
    "tokenizer.json",
    "vocab.txt",
    "tokenizer_config.json",
    "special_tokens_map.json",
)


@dataclass(frozen=True)
class Labels:
    """The four head vocabularies, in head-index order."""

    main: list[str]
    sub: list[str]
    intervention: list[str]
    priority: list[str]

    def for_head(self, head: str) -> list[str]:
        return getattr(self, head)

    def sizes(self) -> dict[str, int]:
        return {head: len(self.for_head(head)) for head in HEADS}

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for head in HEADS:
            (folder / LABEL_FILES[head]).write_text(json.dumps(self.for_head(head), indent=1))


def _as_label(value: object) -> str:
    # The production priorities are stored as JSON integers (1, 2, 3); labels are
    # handled as strings everywhere after loading.
    return str(value)


def load_labels(folder: Path) -> Labels:
    missing = [LABEL_FILES[h] for h in HEADS if not (folder / LABEL_FILES[h]).is_file()]
    if missing:
        raise FileNotFoundError(f"label files missing in {folder}: {', '.join(missing)}")
    values = {}
    for head in HEADS:
        raw = json.loads((folder / LABEL_FILES[head]).read_text())
        if not isinstance(raw, list) or not raw:
            raise ValueError(f"{LABEL_FILES[head]} must be a non-empty JSON list")
        values[head] = [_as_label(v) for v in raw]
    return Labels(**values)


def load_json_if_present(path: Path) -> dict | list | None:
    return json.loads(path.read_text()) if path.is_file() else None


def trained_max_length(folder: Path) -> int | None:
    """The sequence length the checkpoint was fine-tuned at (training_info.json), if known."""
    info = Path(folder) / TRAINING_INFO_FILE
    trained = json.loads(info.read_text()).get("max_length") if info.is_file() else None
    return int(trained) if trained else None
