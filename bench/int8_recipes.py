"""Which int8 recipe keeps the model's answers: agreement with fp32 and speed, same run.

Exports a checkpoint to the fused fp32 graph (the export pipeline's fp32-opt), quantizes it
with several onnxruntime recipes and runs every graph on the same held-out synthetic
narratives (production lengths, a seed training does not use), each cut to its first
`--max-length` tokens as the export parity check does. Reports per head the share of texts
where the int8 argmax equals the fp32 argmax, and the speed of one 8 x max_length batch
as a ratio to fp32 (fp32 and the recipe run alternately, median of 7 rounds).

    python -m bench.int8_recipes --checkpoint artifacts/demo-checkpoint --texts 1000

Narrative text is never printed: only counts and ratios.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from helpline_model.layout import HEADS

Recipe = dict[str, object]


def _node_names(model_path: Path, keep: Callable[[object], bool]) -> list[str]:
    import onnx

    return [node.name for node in onnx.load(str(model_path)).graph.node if keep(node)]


def recipes(fused: Path, n_layers: int) -> dict[str, Recipe]:
    """quantize_dynamic keyword arguments per recipe; a recipe with a "block" key goes through
    the export's int8-block quantizer (MatMulNBits) with those bits and block size instead,
    one with an "outliers" key through the export's int8 quantizer (outlier channels split
    off, then per-channel int8) with that many channels. "int8" and "int8_block" are the
    export's own settings."""
    from export.onnx_export import INT8_BLOCK_SIZE
    from export.outlier_split import OUTLIER_CHANNELS

    def per_channel_except(keep: Callable[[object], bool]) -> Recipe:
        return {"per_channel": True, "nodes_to_exclude": _node_names(fused, keep)}

    def per_channel_only(keep: Callable[[object], bool]) -> Recipe:
        return {"per_channel": True, "nodes_to_quantize": _node_names(fused, keep)}

    def matmul_in(part: str) -> Callable[[object], bool]:
        return lambda n: n.op_type == "MatMul" and part in n.name

    def layer(k: int) -> Callable[[object], bool]:
        return lambda n: f"layer.{k}/" in n.name or n.name == f"Attention_{k}"

    def ffn(part: str) -> Callable[[object], bool]:
        return lambda n: f"ffn/{part}" in n.name

    return {
        "per_tensor": {},
        "per_channel": {"per_channel": True},
        "int8": {"outliers": OUTLIER_CHANNELS},
        "outliers_4": {"outliers": 4},
        "outliers_16": {"outliers": 16},
        "per_channel_reduce_range": {"per_channel": True, "reduce_range": True},
        "fp32_first_layer": per_channel_except(layer(0)),
        "fp32_last_layer": per_channel_except(layer(n_layers - 1)),
        "fp32_ffn_input": per_channel_except(ffn("lin1")),
        "fp32_ffn_output": per_channel_except(ffn("lin2")),
        "fp32_attention": per_channel_except(
            lambda n: n.op_type == "Attention" or "out_lin" in n.name
        ),
        "only_attention": per_channel_only(lambda n: n.op_type == "Attention"),
        "only_out_lin": per_channel_only(matmul_in("out_lin")),
        "only_ffn_input": per_channel_only(matmul_in("ffn/lin1")),
        "only_ffn_output": per_channel_only(matmul_in("ffn/lin2")),
        "int8_block": {"bits": 8, "block": INT8_BLOCK_SIZE},
        "block_8bit_32": {"bits": 8, "block": 32},
        "block_8bit_256": {"bits": 8, "block": 256},
        "block_4bit_32": {"bits": 4, "block": 32},
        "block_4bit_128": {"bits": 4, "block": 128},
    }


def quantize(
    fused: Path, out: Path, recipe: Recipe, calibration: list[tuple[np.ndarray, np.ndarray]]
) -> Path:
    import onnx

    if "outliers" in recipe:
        from export.onnx_export import _quantize_int8

        return _quantize_int8(fused, out, calibration, int(recipe["outliers"]))  # type: ignore[call-overload]
    if "block" in recipe:
        from export.onnx_export import _quantize_int8_block

        bits, block = int(recipe["bits"]), int(recipe["block"])  # type: ignore[call-overload]
        return _quantize_int8_block(fused, out, bits, block)
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(fused),
        str(out),
        weight_type=QuantType.QInt8,
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        **recipe,  # type: ignore[arg-type]
    )
    return out


def encode(checkpoint: Path, n_texts: int, seed: int, max_length: int) -> dict[str, np.ndarray]:
    from client.core.tokenization import NarrativeTokenizer
    from corpus import generator as corpus

    tokenizer = NarrativeTokenizer(checkpoint)
    texts = [row["narrative"] for row in corpus.generate(n_texts, seed, "production")]
    ids = np.full((len(texts), max_length), tokenizer.pad_id, dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, tokens in enumerate(tokenizer.encode_batch(texts)):
        seq = [tokenizer.cls_id, *tokens.ids[: max_length - 2].tolist(), tokenizer.sep_id]
        ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1
    return {"input_ids": ids, "attention_mask": mask}


def session(path: Path, threads: int):  # -> onnxruntime.InferenceSession
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def all_logits(graph, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
    n = inputs["input_ids"].shape[0]
    parts = [
        graph.run(None, {k: v[i : i + 16] for k, v in inputs.items()}) for i in range(0, n, 16)
    ]
    return [np.concatenate([p[h] for p in parts]) for h in range(len(HEADS))]


def speed_ratio(reference, graph, inputs: dict[str, np.ndarray], rounds: int = 7) -> float:
    """fp32 time / this graph's time for one batch of 8, the two run alternately so that
    both see the same machine load; the median of the per-round ratios."""
    batch = {k: v[:8] for k, v in inputs.items()}
    ratios = []
    for _ in range(rounds):
        seconds = []
        for runner in (reference, graph):
            started = time.perf_counter()
            runner.run(None, batch)
            seconds.append(time.perf_counter() - started)
        ratios.append(seconds[0] / seconds[1])
    return float(np.median(ratios))


def compare(
    checkpoint: Path,
    names: Sequence[str] | None,
    n_texts: int,
    seed: int,
    max_length: int,
    threads: int,
) -> dict[str, object]:
    from export.onnx_export import _optimize, export_fp32
    from export.outlier_split import calibration_batches
    from helpline_model.checkpoint import load_checkpoint

    with tempfile.TemporaryDirectory() as work:
        work_dir = Path(work)
        loaded = load_checkpoint(checkpoint)
        fused = _optimize(
            loaded, export_fp32(loaded, work_dir / "fp32.onnx"), work_dir / "fused.onnx"
        )
        inputs = encode(checkpoint, n_texts, seed, max_length)
        reference = session(fused, threads)
        expected = all_logits(reference, inputs)
        table = recipes(fused, int(loaded.model.config.n_layers))
        calibration = list(calibration_batches(loaded))
        results: dict[str, object] = {}
        for name in names or list(table):
            graph = session(
                quantize(fused, work_dir / f"{name}.onnx", table[name], calibration), threads
            )
            logits = all_logits(graph, inputs)
            agreement = {
                head: round(float((logits[h].argmax(1) == expected[h].argmax(1)).mean()), 4)
                for h, head in enumerate(HEADS)
            }
            speed = speed_ratio(reference, graph, inputs)
            results[name] = {"agreement": agreement, "speed_vs_fp32": round(speed, 2)}
            print(f"{name:26s} agreement {agreement}  speed vs fp32 {speed:.2f}x", flush=True)
    return {
        "checkpoint": str(checkpoint),
        "texts": n_texts,
        "seed": seed,
        "max_length": max_length,
        "threads": threads,
        "recipes": results,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--texts", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1001)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--recipes", nargs="*", help="default: all")
    parser.add_argument("--out", type=Path, help="also write the results as JSON")
    args = parser.parse_args(argv)
    report = compare(
        args.checkpoint, args.recipes, args.texts, args.seed, args.max_length, args.threads
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
