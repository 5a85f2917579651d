"""Which CPU precision each build gets: the export's own gate and the speed, per checkpoint.

For every checkpoint given (for example five demo builds from different corpus seeds), each
CPU precision is exported by the export's own code (`export_onnx`) and judged by its own gate
(`check_parity` on the default texts: 12 samples + 300 held-out synthetic narratives, main-
category agreement with PyTorch >= 0.99). Then every graph that was built is timed the way the
CPU runner runs rows: one chunk at a time at its real length, one thread, alternating with the
fused fp32 graph (`fp32-opt`) chunk by chunk so that both see the same machine load. The speed
is fp32-opt's total time over the precision's. Prints, per build, what `make serve` would
serve (stack/embedded_default.py's preference order) and, at the end, how many builds pass
each precision.

    python -m bench.precision_builds --checkpoints artifacts/demo-checkpoint --out report.json
    python -m bench.precision_builds --build-dir /tmp/builds --seeds 13 14 15 16 17

`--seeds` builds a demo checkpoint (training.demo_model, the default budget) per seed that is
not in `--build-dir` yet: about 8 minutes each on a 2-core machine.

Narrative text is never printed: only counts, agreements and ratios.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from bench.machine import this_machine

Graph = Callable[[np.ndarray, np.ndarray], object]

REFERENCE = "fp32-opt"
# Candidates in make serve's preference order (stack/embedded_default.py), fastest first.
DEFAULT_PRECISIONS = ("int8", "openvino-bf16", "int8-block")
TIMING_SEED = 4242  # not training's, the gate's (1001), int8 calibration's or the bench's


def graph_runner(precision: str, path: Path, threads: int = 1) -> Graph:
    """`(ids, mask) -> logits` for one graph on `threads` CPU threads, as the runner runs it."""
    if precision == "openvino-bf16":
        from export.openvino_runner import OpenVinoRunner

        return OpenVinoRunner(path, threads=threads)
    from bench.int8_recipes import session

    graph = session(path, threads)
    return lambda ids, mask: graph.run(None, {"input_ids": ids, "attention_mask": mask})


def timing_chunks(checkpoint, n: int, max_length: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """`n` synthetic narratives (production length mix), each cut to its first chunk and not
    padded: the rows the CPU runner computes."""
    from client.core.tokenization import NarrativeTokenizer
    from corpus import generator as corpus

    tokenizer = NarrativeTokenizer(checkpoint.folder)
    texts = [row["narrative"] for row in corpus.generate(n, TIMING_SEED, "production")]
    chunks = []
    for tokens in tokenizer.encode_batch(texts):
        seq = [tokenizer.cls_id, *tokens.ids[: max_length - 2].tolist(), tokenizer.sep_id]
        ids = np.asarray([seq], dtype=np.int64)
        chunks.append((ids, np.ones_like(ids)))
    return chunks


def speed_vs_reference(reference: Graph, graph: Graph, chunks: list) -> float:
    """Reference time / this graph's time over all chunks, the two alternating per chunk."""
    for ids, mask in chunks[:3]:  # first runs allocate and compile; not timed
        reference(ids, mask)
        graph(ids, mask)
    spent = [0.0, 0.0]
    for ids, mask in chunks:
        for i, runner in enumerate((reference, graph)):
            started = time.perf_counter()
            runner(ids, mask)
            spent[i] += time.perf_counter() - started
    return spent[0] / spent[1]


def measure_build(
    folder: Path, precisions: Sequence[str], n_chunks: int, min_agreement: float
) -> dict:
    from export.onnx_export import export_onnx
    from export.parity import ParityError, check_parity
    from export.pipeline import load_texts
    from helpline_model.checkpoint import load_checkpoint, served_max_length

    checkpoint = load_checkpoint(str(folder))
    length = served_max_length(checkpoint)
    texts = load_texts(None)
    info_path = folder / "training_info.json"
    info = json.loads(info_path.read_text()) if info_path.is_file() else {}
    build = {
        "checkpoint": str(folder),
        "corpus_seed": info.get("corpus", {}).get("seed"),
        "steps": info.get("steps"),
        "precisions": {},
    }
    with tempfile.TemporaryDirectory(prefix="precision-builds-") as work:
        graphs: dict[str, Path] = {}
        for precision in (REFERENCE, *precisions):
            out = Path(work) / precision
            out.mkdir()
            started = time.monotonic()
            path, _ = export_onnx(checkpoint, precision, out)
            entry: dict = {"export_s": round(time.monotonic() - started, 1)}
            graphs[precision] = path
            if precision != REFERENCE:
                try:
                    # The gate's measurement with the bar at 0: the agreement is reported
                    # whether or not it passes, and judged here against the export's bar.
                    report = check_parity(
                        checkpoint,
                        path,
                        precision,
                        texts,
                        min_main_agreement=0.0,
                        text_max_length=length,
                    )
                except ParityError as exc:
                    entry["error"] = str(exc)
                else:
                    agreement = report.argmax_agreement_text
                    entry["agreement"] = {h: round(v, 4) for h, v in agreement.items()}
                    entry["n_texts"] = report.n_texts
                    entry["passes_gate"] = agreement["main"] >= min_agreement
            build["precisions"][precision] = entry
            print(f"  {precision:14s} {json.dumps(entry)}", flush=True)
        chunks = timing_chunks(checkpoint, n_chunks, length)
        reference = graph_runner(REFERENCE, graphs[REFERENCE])
        for precision in precisions:
            speed = speed_vs_reference(
                reference, graph_runner(precision, graphs[precision]), chunks
            )
            build["precisions"][precision]["speed_vs_fp32_opt"] = round(speed, 2)
            print(f"  {precision:14s} speed vs {REFERENCE}: {speed:.2f}x", flush=True)
    served = next((p for p in precisions if build["precisions"][p].get("passes_gate")), REFERENCE)
    build["make_serve_would_serve"] = served
    return build


def build_missing(build_dir: Path, seeds: Sequence[int]) -> list[Path]:
    from training.demo_model import build_demo_checkpoint

    folders = []
    for seed in seeds:
        folder = build_dir / f"seed-{seed}"
        if not (folder / "model.safetensors").is_file():
            build_demo_checkpoint(folder, seed=seed)
        folders.append(folder)
    return folders


def summary(builds: list[dict], precisions: Sequence[str]) -> dict:
    out = {}
    for precision in precisions:
        entries = [b["precisions"][precision] for b in builds]
        speeds = [e["speed_vs_fp32_opt"] for e in entries if "speed_vs_fp32_opt" in e]
        mains = [e["agreement"]["main"] for e in entries if "agreement" in e]
        out[precision] = {
            "builds_passing": sum(bool(e.get("passes_gate")) for e in entries),
            "builds": len(entries),
            "main_agreement_min": min(mains) if mains else None,
            "speed_vs_fp32_opt_median": float(np.median(speeds)) if speeds else None,
        }
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", type=Path, nargs="*", default=[])
    parser.add_argument("--build-dir", type=Path, help="with --seeds: where builds live")
    parser.add_argument("--seeds", type=int, nargs="*", default=[])
    parser.add_argument("--precisions", nargs="*", default=list(DEFAULT_PRECISIONS))
    parser.add_argument("--chunks", type=int, default=120, help="timed chunks per graph")
    parser.add_argument("--min-agreement", type=float, default=None, help="default: the gate's")
    parser.add_argument("--out", type=Path, help="also write the report as JSON")
    args = parser.parse_args(argv)
    from export.parity import DEFAULT_MIN_AGREEMENT

    bar = DEFAULT_MIN_AGREEMENT if args.min_agreement is None else args.min_agreement
    folders = list(args.checkpoints)
    if args.seeds:
        if args.build_dir is None:
            parser.error("--seeds needs --build-dir")
        folders += build_missing(args.build_dir, args.seeds)
    if not folders:
        parser.error("give --checkpoints or --build-dir with --seeds")
    machine = this_machine()
    print(machine.summary(), flush=True)
    builds = []
    for folder in folders:
        print(f"build {folder}", flush=True)
        builds.append(measure_build(folder, args.precisions, args.chunks, bar))
    report = {
        "machine": machine.as_dict(),
        "python": platform.python_version(),
        "min_main_agreement": bar,
        "reference": REFERENCE,
        "builds": builds,
        "summary": summary(builds, args.precisions),
    }
    print(json.dumps(report["summary"], indent=1))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
