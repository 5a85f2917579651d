"""The model `make serve` serves when the repository has none yet."""

from __future__ import annotations

from pathlib import Path

from export.pipeline import export_checkpoint
from export.repository import PROJECT_ROOT
from export.tiny import make_tiny_checkpoint, production_labels, production_sub_to_main

CHECKPOINT_DIR = PROJECT_ROOT / "artifacts" / "embedded-default-checkpoint"


def build_embedded_default(repository: Path, model_name: str) -> int:
    # Placeholder until the fine-tuned demo model lands: an untrained, random-init model
    # in the production format (its answers are meaningless, the serving path is real).
    make_tiny_checkpoint(
        CHECKPOINT_DIR,
        production_labels(),
        sub_to_main=production_sub_to_main(),
        severity_order=["1", "2", "3"],
    )
    result = export_checkpoint(str(CHECKPOINT_DIR), repository, model_name, "fp32-opt")
    return result.version
