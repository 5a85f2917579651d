"""The production multi-task DistilBERT, loaded from (and saved to) its checkpoint layout.

Layout of a checkpoint folder, as the production model publishes it:
  config.json                      DistilBERT encoder config (head sizes are NOT in it)
  model.safetensors | pytorch_model.bin
  main_categories.json, sub_categories.json, interventions.json, priorities.json
  tokenizer files (vocab.txt / tokenizer.json)
State-dict names: distilbert.*, pre_classifier.*, classifier_{main,sub,interv,priority}.*
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import torch
from torch import nn
from transformers import DistilBertConfig, DistilBertModel

from helpline_model.layout import (
    HEAD_MODULES,
    HEADS,
    TOKENIZER_FILES,
    Labels,
    load_labels,
    trained_max_length,
)

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


class MultiTaskDistilBert(nn.Module):
    """[CLS] vector -> pre_classifier -> ReLU -> dropout -> four linear heads."""

    def __init__(self, config: DistilBertConfig, head_sizes: dict[str, int]) -> None:
        super().__init__()
        self.config = config
        self.distilbert = DistilBertModel(config)
        self.pre_classifier = nn.Linear(config.dim, config.dim)
        self.dropout = nn.Dropout(config.seq_classif_dropout)
        self.classifier_main = nn.Linear(config.dim, head_sizes["main"])
        self.classifier_sub = nn.Linear(config.dim, head_sizes["sub"])
        self.classifier_interv = nn.Linear(config.dim, head_sizes["intervention"])
        self.classifier_priority = nn.Linear(config.dim, head_sizes["priority"])

    def heads(self) -> dict[str, nn.Linear]:
        return {head: getattr(self, HEAD_MODULES[head]) for head in HEADS}

    def pooled(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The representation the heads read: ReLU(pre_classifier([CLS]))."""
        hidden = self.distilbert(input_ids=input_ids, attention_mask=attention_mask)[0]
        return torch.relu(self.pre_classifier(hidden[:, 0]))

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        pooled = self.dropout(self.pooled(input_ids, attention_mask))
        return (
            self.classifier_main(pooled),
            self.classifier_sub(pooled),
            self.classifier_interv(pooled),
            self.classifier_priority(pooled),
        )


class Checkpoint:
    """A loaded checkpoint: the module, its label vocabularies and where it came from."""

    def __init__(self, model: MultiTaskDistilBert, labels: Labels, folder: Path, source: str):
        self.model = model
        self.labels = labels
        self.folder = folder
        self.source = source

    @property
    def max_length(self) -> int:
        return int(self.model.config.max_position_embeddings)


def served_max_length(checkpoint: Checkpoint) -> int:
    """The gateway chunks at this length: the length the model was trained on when known,
    not merely the longest its position table allows."""
    trained = trained_max_length(checkpoint.folder)
    return min(trained, checkpoint.max_length) if trained else checkpoint.max_length


def resolve_checkpoint_folder(source: str) -> Path:
    """A local folder as is; anything else is treated as a hub id (needs a network)."""
    path = Path(source)
    if path.exists():
        if not path.is_dir():
            raise NotADirectoryError(f"checkpoint {source} is not a folder")
        return path
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        raise FileNotFoundError(f"{source} is not a local folder and HF_HUB_OFFLINE=1")
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(repo_id=source))


def _weights_file(folder: Path) -> Path:
    for name in WEIGHT_FILES:
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"no weights ({' or '.join(WEIGHT_FILES)}) in {folder}")


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    return torch.load(path, map_location="cpu", weights_only=True)


def load_checkpoint(source: str | Path) -> Checkpoint:
    folder = resolve_checkpoint_folder(str(source))
    labels = load_labels(folder)
    config = DistilBertConfig.from_pretrained(str(folder))
    model = MultiTaskDistilBert(config, labels.sizes())
    state = _read_state_dict(_weights_file(folder))
    # Older transformers saved the position_ids buffer; it is not a parameter.
    state.pop("distilbert.embeddings.position_ids", None)
    model.load_state_dict(state, strict=True)
    model.eval()
    return Checkpoint(model, labels, folder, str(source))


def save_checkpoint(
    model: MultiTaskDistilBert, labels: Labels, folder: Path, tokenizer_dir: Path | None
) -> None:
    """Write the production layout: config.json, model.safetensors, label files, tokenizer."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    model.config.save_pretrained(str(folder))
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    labels.save(folder)
    if tokenizer_dir is not None:
        copy_tokenizer_files(tokenizer_dir, folder)


def copy_tokenizer_files(src: Path, dst: Path) -> list[str]:
    copied = []
    for name in TOKENIZER_FILES:
        if (src / name).is_file():
            shutil.copy2(src / name, dst / name)
            copied.append(name)
    if "tokenizer.json" not in copied and "vocab.txt" not in copied:
        raise FileNotFoundError(f"no tokenizer.json or vocab.txt in {src}")
    return copied


def folder_hash(folder: Path) -> str:
    """sha256 over the weights, config and label files: identifies the source checkpoint."""
    digest = hashlib.sha256()
    names = [
        _weights_file(folder).name,
        "config.json",
        *sorted(p.name for p in folder.glob("*.json")),
    ]
    for name in dict.fromkeys(names):
        path = folder / name
        if path.is_file():
            digest.update(name.encode())
            with path.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()
