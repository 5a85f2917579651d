"""Evaluate a model on labelled narratives exactly as users get it.

Two prediction sources, one set of metrics:
* a checkpoint, run with PyTorch through the gateway's own classification pipeline
  (`client.core.pipeline`: tokenizer, chunking, buckets, aggregation) with an in-process
  runner (`helpline_model.torch_runner`), so the measured labels are the served labels,
  long narratives included;
* a running gateway, called over HTTP (`POST /classifier/classify/batch`).

Metrics per head: accuracy, micro / macro / weighted F1, per-class precision / recall /
F1 / support, one-vs-rest tp / fp / fn / tn and the confusion matrix (rows true, columns
predicted). Macro averages run over the classes that occur in the truth or the
predictions: the production taxonomy has 65 sub-categories and a test set rarely holds
all of them, and a class nobody predicted and nobody needed says nothing about the model.

CLI:
  python -m training.evaluate --data test.jsonl --checkpoint DIR --out DIR [--embeddings]
  python -m training.evaluate --data test.jsonl --gateway-url URL --labels VERSION_DIR --out DIR
Narrative text is never logged nor written: outputs hold row numbers and labels only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from helpline_model.layout import HEAD_FIELDS, HEADS, Labels, load_labels
from training.rows import load_rows
from training.served import Progress, prediction_of, quiet

TOP_CONFUSED_PAIRS = 10


# --------------------------------------------------------------------------- metrics


def compute_metrics(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> dict:
    """Metrics of one head. `labels` fixes the class order of the tables and the matrix;
    values outside it (a gateway serving another vocabulary) are appended, not dropped."""
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        f1_score,
        precision_recall_fscore_support,
    )

    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} true labels but {len(y_pred)} predictions")
    if not y_true:
        raise ValueError("no rows to evaluate")
    y_true = [str(v) for v in y_true]
    y_pred = [str(v) for v in y_pred]
    order = list(dict.fromkeys(str(v) for v in labels))
    unknown = sorted((set(y_true) | set(y_pred)) - set(order))
    order += unknown
    present = [label for label in order if label in set(y_true) | set(y_pred)]

    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=order, zero_division=0
    )
    matrix = confusion_matrix(y_true, y_pred, labels=order)
    n = int(matrix.sum())
    tp = np.diag(matrix)
    fp = matrix.sum(axis=0) - tp
    fn = matrix.sum(axis=1) - tp
    tn = n - tp - fp - fn

    def average(kind: str) -> float:
        return float(f1_score(y_true, y_pred, labels=present, average=kind, zero_division=0))

    per_class = {
        label: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
            "tp": int(tp[i]),
            "fp": int(fp[i]),
            "fn": int(fn[i]),
            "tn": int(tn[i]),
        }
        for i, label in enumerate(order)
    }
    return {
        "n": n,
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "micro_f1": average("micro"),
        "macro_f1": average("macro"),
        "weighted_f1": average("weighted"),
        "labels": order,
        "unknown_labels": unknown,
        "per_class": per_class,
        "confusion_matrix": matrix.astype(int).tolist(),
        "most_confused": confused_pairs(order, matrix),
    }


def confused_pairs(
    labels: Sequence[str], matrix: np.ndarray | list, top: int = TOP_CONFUSED_PAIRS
) -> list[dict]:
    """The largest off-diagonal cells: (true, predicted, count, share of the true class)."""
    matrix = np.asarray(matrix)
    pairs = []
    for i, j in zip(*np.nonzero(matrix), strict=True):
        if i != j:
            row_total = int(matrix[i].sum())
            pairs.append(
                {
                    "true": labels[i],
                    "predicted": labels[j],
                    "count": int(matrix[i, j]),
                    "share_of_true": float(matrix[i, j] / row_total),
                }
            )
    # Ties broken by label order so reports are stable between runs.
    pairs.sort(key=lambda p: (-p["count"], labels.index(p["true"]), labels.index(p["predicted"])))
    return pairs[:top]


def _head_labels(labels: Labels | Mapping[str, Sequence[str]], head: str) -> list[str]:
    if isinstance(labels, Labels):
        return list(labels.for_head(head))
    return [str(v) for v in labels.get(head, [])]


def evaluate_rows(
    rows: Sequence[Mapping[str, object]],
    predictions: Sequence[Mapping[str, object]],
    labels: Labels | Mapping[str, Sequence[str]],
) -> dict:
    """Metrics of the four heads. Rows and predictions are keyed like the gateway's response
    (`main_category`, `sub_category`, `intervention`, `priority`)."""
    if len(rows) != len(predictions):
        raise ValueError(f"{len(rows)} rows but {len(predictions)} predictions")
    heads = {}
    for head in HEADS:
        key = HEAD_FIELDS[head]
        heads[head] = compute_metrics(
            [str(r[key]) for r in rows],
            [str(p[key]) for p in predictions],
            _head_labels(labels, head),
        )
    return {
        "n": len(rows),
        "average_accuracy": float(np.mean([heads[h]["accuracy"] for h in HEADS])),
        "average_macro_f1": float(np.mean([heads[h]["macro_f1"] for h in HEADS])),
        "heads": heads,
    }


# --------------------------------------------------------------------------- predictions


class GatewayError(RuntimeError):
    pass


def _gateway_prediction(result: Mapping) -> dict:
    out: dict = {HEAD_FIELDS[h]: str(result[HEAD_FIELDS[h]]) for h in HEADS}
    out["confidence_scores"] = dict(result.get("confidence_scores") or {})
    out["chunks_processed"] = result.get("chunks_processed")
    return out


async def _classify_batches(
    url: str,
    narratives: Sequence[str],
    concurrency: int,
    batch_size: int,
    timeout_s: float,
    api_key: str | None,
    retries: int,
    progress: Progress,
) -> list[dict]:
    import httpx

    endpoint = url.rstrip("/") + "/classifier/classify/batch"
    headers = {"X-API-Key": api_key} if api_key else {}
    semaphore = asyncio.Semaphore(concurrency)
    results: list[dict | None] = [None] * len(narratives)
    done = 0

    async def one(client: httpx.AsyncClient, start: int) -> None:
        nonlocal done
        indices = range(start, min(start + batch_size, len(narratives)))
        body = {"items": [{"narrative": narratives[i], "id": str(i)} for i in indices]}
        async with semaphore:
            for attempt in range(retries + 1):
                response = await client.post(endpoint, json=body, headers=headers)
                # Backpressure (429) and a model (re)loading (503) are worth waiting for.
                if response.status_code in (429, 503) and attempt < retries:
                    await asyncio.sleep(float(response.headers.get("Retry-After", 1)))
                    continue
                break
        if response.status_code != 200:
            # The error body never quotes the narrative; its code and message are safe.
            try:
                error = response.json().get("error", {})
            except ValueError:
                error = {}
            raise GatewayError(
                f"gateway answered {response.status_code} for items {indices.start}.."
                f"{indices.stop - 1}: {error.get('error_code')} {error.get('message')}"
            )
        for item in response.json()["results"]:
            results[int(item["id"])] = _gateway_prediction(item["result"])
        done += len(indices)
        progress(f"  {done}/{len(narratives)} narratives")

    async with httpx.AsyncClient(timeout=timeout_s) as client:
        await asyncio.gather(*(one(client, s) for s in range(0, len(narratives), batch_size)))
    missing = [i for i, r in enumerate(results) if r is None]
    if missing:
        raise GatewayError(f"no result for items {missing[:10]}")
    return results  # type: ignore[return-value]


def predict_with_gateway(
    url: str,
    narratives: Sequence[str],
    concurrency: int = 4,
    *,
    batch_size: int = 16,
    timeout_s: float = 120.0,
    api_key: str | None = None,
    retries: int = 5,
    progress: Progress = quiet,
) -> list[dict]:
    """Labels from a running gateway, in input order; `concurrency` batches in flight."""
    if concurrency < 1 or batch_size < 1:
        raise ValueError("concurrency and batch_size must be >= 1")
    if not narratives:
        return []
    return asyncio.run(
        _classify_batches(
            url, narratives, concurrency, batch_size, timeout_s, api_key, retries, progress
        )
    )


# --------------------------------------------------------------------------- CLI


def add_embedding_similarities(metrics: dict, embeddings) -> None:
    """Annotate each head's most confused pairs with the cosine of their category embeddings,
    and where it ranks among all pairs of that head's labels (1.0 = the closest pair)."""
    for head in HEADS:
        for pair in metrics["heads"][head]["most_confused"]:
            for source in embeddings.sources():
                cosine = embeddings.cosine(head, pair["true"], pair["predicted"], source)
                if cosine is None:
                    continue
                pair.setdefault("similarity", {})[source] = {
                    "cosine": cosine,
                    "percentile": embeddings.cosine_percentile(head, cosine, source),
                }


def _load_or_compute_embeddings(args: argparse.Namespace, out: Path, progress: Progress):
    from training.embeddings import CategoryEmbeddings, write_category_embeddings

    folder = args.embeddings_dir or args.checkpoint
    if folder is None:
        raise SystemExit("--embeddings with --gateway-url needs --embeddings-dir")
    if CategoryEmbeddings.exists(folder):
        try:
            return CategoryEmbeddings.load(folder)
        except (ValueError, KeyError) as exc:
            progress(f"ignoring the embeddings in {folder}: {exc}")
    progress(f"computing category embeddings from {folder}")
    return write_category_embeddings(folder, out)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m training.evaluate", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--data", type=Path, required=True, help="labelled JSONL / JSON / CSV")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", type=Path, help="checkpoint folder (PyTorch)")
    source.add_argument("--gateway-url", help="running gateway, e.g. http://127.0.0.1:8123")
    parser.add_argument("--out", type=Path, required=True, help="folder for the report")
    parser.add_argument(
        "--labels",
        type=Path,
        help="folder with the label files and sub_to_main.json to clean the data against "
        "(default: the checkpoint; with a gateway, e.g. the served model version's folder)",
    )
    parser.add_argument("--max-length", type=int, help="chunk length (checkpoint only)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--concurrency", type=int, default=4, help="gateway requests in flight")
    parser.add_argument("--api-key", help="gateway API key, if it requires one")
    parser.add_argument(
        "--embeddings",
        action="store_true",
        help="show the category-embedding similarity of the most confused pairs",
    )
    parser.add_argument(
        "--embeddings-dir",
        type=Path,
        help="folder with category_embeddings.npy/.json or a checkpoint to compute them from "
        "(default: the checkpoint)",
    )
    parser.add_argument("--limit", type=int, help="evaluate the first N rows only")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    from training.report import write_report

    args = parse_args(argv)

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    labels_dir = args.labels or args.checkpoint
    rows, cleaning = load_rows(args.data, labels_dir)
    if args.limit:
        rows = rows[: args.limit]
    if not rows:
        raise SystemExit(f"{args.data}: no usable rows")
    progress(f"{len(rows)} rows from {args.data}")
    narratives = [r["narrative"] for r in rows]

    started = time.monotonic()
    calibration = None
    if args.checkpoint is not None:
        from training.calibration import checkpoint_set_report

        # One inference pass gives the served labels and the calibration figures.
        calibration, results = checkpoint_set_report(
            args.checkpoint,
            rows,
            max_length=args.max_length,
            batch_size=args.batch_size,
            progress=progress,
        )
        predictions = [prediction_of(result) for result in results]
        labels: Labels | dict = load_labels(args.checkpoint)
        source = {"checkpoint": str(args.checkpoint)}
    else:
        predictions = predict_with_gateway(
            args.gateway_url,
            narratives,
            args.concurrency,
            batch_size=min(args.batch_size, 64),
            api_key=args.api_key,
            progress=progress,
        )
        if labels_dir is not None:
            labels = load_labels(labels_dir)
        else:
            # No vocabulary given: the label order is that of first appearance.
            labels = {h: list(dict.fromkeys(str(r[HEAD_FIELDS[h]]) for r in rows)) for h in HEADS}
        source = {"gateway_url": args.gateway_url}
    seconds = time.monotonic() - started

    metrics = evaluate_rows(rows, predictions, labels)
    metrics.update(
        source=source,
        data=str(args.data),
        cleaning=cleaning,
        prediction_seconds=round(seconds, 2),
        calibration=calibration,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    args.out.mkdir(parents=True, exist_ok=True)
    if args.embeddings:
        add_embedding_similarities(metrics, _load_or_compute_embeddings(args, args.out, progress))
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    with (args.out / "predictions.jsonl").open("w") as fh:
        # Row numbers and labels only: the narratives stay in the data file.
        for row, prediction in zip(rows, predictions, strict=True):
            record = {"row": row.get("row")}
            for head in HEADS:
                key = HEAD_FIELDS[head]
                record[key] = {"true": row[key], "predicted": prediction[key]}
            fh.write(json.dumps(record) + "\n")
    written = write_report(metrics, args.out)
    progress(
        ", ".join(f"{h} {metrics['heads'][h]['accuracy']:.3f}" for h in HEADS)
        + f"; report: {', '.join(str(p) for p in written[:1])} and {len(written) - 1} more"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
