"""Category embeddings: one vector per label of every head, from the model's encoder.

The legacy trainer saved the priority head's logits as "category embeddings" (3 numbers per
narrative, meaningless for categories). Here a category's vector lives in the space the
heads read, `model.pooled` = ReLU(pre_classifier([CLS])):

* source "label_text": the pooled vector of the label itself ("Sexual Abuse") tokenized
  like a narrative ([CLS] label [SEP]); available for every label;
* source "narrative_mean": with training rows given, the mean pooled vector of the
  narratives carrying that label (truncated to the first max_length tokens, as training
  reads them); only for labels that occur.

Files: `category_embeddings.npy` (float32, one row per entry) and
`category_embeddings.json` (`rows`: row -> head, label, source, n_narratives).
The evaluation report uses them to tell "confused and close in meaning" from "confused
but far apart".

CLI: python -m training.embeddings --checkpoint DIR [--data train.jsonl] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from helpline_model.layout import HEAD_FIELDS, HEADS, trained_max_length

EMBEDDINGS_FILE = "category_embeddings.npy"
INDEX_FILE = "category_embeddings.json"
LABEL_TEXT = "label_text"
NARRATIVE_MEAN = "narrative_mean"
REPRESENTATION = "ReLU(pre_classifier([CLS])) - the vector the four heads read"


@dataclass
class CategoryEmbeddings:
    vectors: np.ndarray  # float32 (n_entries, dim)
    index: list[dict]  # per row: head, label, source, n_narratives

    def __post_init__(self) -> None:
        if self.vectors.ndim != 2 or len(self.index) != self.vectors.shape[0]:
            raise ValueError("one index entry per embedding row is required")
        self._rows = {(e["head"], e["label"], e["source"]): i for i, e in enumerate(self.index)}

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def sources(self) -> list[str]:
        return list(dict.fromkeys(e["source"] for e in self.index))

    def row(self, head: str, label: str, source: str = LABEL_TEXT) -> int | None:
        return self._rows.get((head, label, source))

    def vector(self, head: str, label: str, source: str = LABEL_TEXT) -> np.ndarray | None:
        row = self.row(head, label, source)
        return None if row is None else self.vectors[row]

    def cosine(self, head: str, a: str, b: str, source: str = LABEL_TEXT) -> float | None:
        va, vb = self.vector(head, a, source), self.vector(head, b, source)
        if va is None or vb is None:
            return None
        return _cosine(va, vb)

    def pairwise_cosines(self, head: str, source: str = LABEL_TEXT) -> np.ndarray:
        """Cosines of all distinct label pairs of one head (upper triangle, flattened)."""
        rows = [i for i, e in enumerate(self.index) if e["head"] == head and e["source"] == source]
        if len(rows) < 2:
            return np.empty(0)
        unit = _normalize(self.vectors[rows].astype(np.float64))
        sims = unit @ unit.T
        return sims[np.triu_indices(len(rows), k=1)]

    def cosine_percentile(self, head: str, cosine: float, source: str = LABEL_TEXT) -> float:
        """Share of the head's label pairs at most as similar as `cosine`. Raw cosines of
        ReLU vectors are all positive and crowded, so the rank is what reads as near / far."""
        sims = self.pairwise_cosines(head, source)
        if sims.size == 0:
            return float("nan")
        return float(np.mean(sims <= cosine + 1e-9))

    def save(self, folder: Path) -> tuple[Path, Path]:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / EMBEDDINGS_FILE, self.vectors.astype(np.float32))
        index = {
            "representation": REPRESENTATION,
            "dim": self.dim,
            "rows": [{"row": i, **entry} for i, entry in enumerate(self.index)],
        }
        (folder / INDEX_FILE).write_text(json.dumps(index, indent=1, ensure_ascii=False))
        return folder / EMBEDDINGS_FILE, folder / INDEX_FILE

    @staticmethod
    def exists(folder: Path) -> bool:
        return (Path(folder) / EMBEDDINGS_FILE).is_file() and (Path(folder) / INDEX_FILE).is_file()

    @classmethod
    def load(cls, folder: Path) -> CategoryEmbeddings:
        folder = Path(folder)
        vectors = np.load(folder / EMBEDDINGS_FILE)
        rows = json.loads((folder / INDEX_FILE).read_text())
        if not isinstance(rows, dict) or not isinstance(rows.get("rows"), list):
            # e.g. the files the legacy trainer wrote (priority logits, no row index).
            raise ValueError(f"{folder / INDEX_FILE} is not a category-embedding index")
        rows = rows["rows"]
        index = [{k: v for k, v in entry.items() if k != "row"} for entry in rows]
        return cls(vectors, index)


def _normalize(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    # A ReLU vector can be all zeros; its cosine with anything is then 0, not NaN.
    return vectors / np.where(norms == 0, 1.0, norms)


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(_normalize(a.astype(np.float64)) @ _normalize(b.astype(np.float64)))


def pooled_vectors(
    checkpoint, texts: Sequence[str], max_length: int, batch_size: int = 32
) -> np.ndarray:
    """float32 (len(texts), dim): `model.pooled` of [CLS] first max_length-2 tokens [SEP]."""
    import torch

    from client.core.tokenization import NarrativeTokenizer

    tokenizer = NarrativeTokenizer(checkpoint.folder)
    encoded = tokenizer.encode_batch(list(texts))
    rows = [
        [tokenizer.cls_id, *e.ids[: max_length - 2].tolist(), tokenizer.sep_id] for e in encoded
    ]
    dim = int(checkpoint.model.config.dim)
    out = np.zeros((len(rows), dim), dtype=np.float32)
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
    model = checkpoint.model
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            width = max(len(rows[i]) for i in batch)
            ids = torch.full((len(batch), width), tokenizer.pad_id, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for r, i in enumerate(batch):
                ids[r, : len(rows[i])] = torch.tensor(rows[i], dtype=torch.long)
                mask[r, : len(rows[i])] = 1
            out[batch] = model.pooled(ids, mask).float().numpy()
    return out


def compute_category_embeddings(
    checkpoint,
    rows: Sequence[Mapping[str, object]] | None = None,
    *,
    max_length: int | None = None,
    batch_size: int = 32,
) -> CategoryEmbeddings:
    """Embeddings of every label of every head (label text), plus narrative means when
    `rows` (evaluation-style dicts with `narrative` and the gateway's label keys) are given.
    `checkpoint`: a loaded `helpline_model.checkpoint.Checkpoint` or its folder."""
    from helpline_model.checkpoint import load_checkpoint

    if not hasattr(checkpoint, "model"):
        checkpoint = load_checkpoint(checkpoint)
    if max_length is None:
        max_length = trained_max_length(checkpoint.folder) or checkpoint.max_length
    max_length = min(int(max_length), checkpoint.max_length)

    entries = [(head, label) for head in HEADS for label in checkpoint.labels.for_head(head)]
    vectors = [pooled_vectors(checkpoint, [label for _, label in entries], max_length, batch_size)]
    index = [
        {"head": head, "label": label, "source": LABEL_TEXT, "n_narratives": 0}
        for head, label in entries
    ]
    if rows:
        narrative_vectors = pooled_vectors(
            checkpoint, [str(r["narrative"]) for r in rows], max_length, batch_size
        )
        means = []
        for head, label in entries:
            members = [i for i, r in enumerate(rows) if str(r[HEAD_FIELDS[head]]) == label]
            if not members:
                continue
            means.append(narrative_vectors[members].mean(axis=0))
            index.append(
                {
                    "head": head,
                    "label": label,
                    "source": NARRATIVE_MEAN,
                    "n_narratives": len(members),
                }
            )
        if means:
            vectors.append(np.stack(means).astype(np.float32))
    return CategoryEmbeddings(np.concatenate(vectors).astype(np.float32), index)


def write_category_embeddings(
    checkpoint_dir: str | Path,
    out_dir: str | Path | None = None,
    rows: Sequence[Mapping[str, object]] | None = None,
    **kwargs,
) -> CategoryEmbeddings:
    """Compute and save beside the checkpoint (or into `out_dir`)."""
    embeddings = compute_category_embeddings(Path(checkpoint_dir), rows, **kwargs)
    embeddings.save(Path(out_dir) if out_dir is not None else Path(checkpoint_dir))
    return embeddings


def main(argv: Sequence[str] | None = None) -> int:
    from training.rows import load_rows

    parser = argparse.ArgumentParser(
        prog="python -m training.embeddings", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--data", type=Path, help="training rows for narrative means")
    parser.add_argument("--out", type=Path, help="default: the checkpoint folder")
    parser.add_argument("--max-length", type=int)
    args = parser.parse_args(argv)
    rows = load_rows(args.data, args.checkpoint)[0] if args.data else None
    embeddings = write_category_embeddings(
        args.checkpoint, args.out, rows, max_length=args.max_length
    )
    print(
        f"{len(embeddings.index)} category embeddings of dim {embeddings.dim} "
        f"({', '.join(embeddings.sources())}) in {args.out or args.checkpoint}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
