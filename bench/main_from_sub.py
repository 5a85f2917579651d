"""How much the sub-category head should weigh in the main-category decision: chosen on the
hand-written validation set, reported (never chosen) on the hand-written evaluation set.

The gateway decides main from p_main^(1-w) * q^w, q being the voted sub distribution's mass
per main (client/core/aggregation.py, rule 2; w is `main_from_sub` in calibration.json). For
each demo checkpoint given (or built at a fixed step count, as bench.handwritten_mix builds
them) the chunk logits of both sets are computed once, and every weight is read as served:
the gateway's own aggregation with the checkpoint's calibration, only w replaced.

* validation (selection): main / sub accuracy per weight;
* evaluation (report only): main / sub accuracy and the served main confidence's ECE.

The weight with the best validation main + sub accuracy averaged over the checkpoints is
printed as the choice (ties: the smaller weight).

    python -m bench.main_from_sub --build-dir /tmp/mix --seeds 13 14 15 16 --steps 460

About 4.5 minutes per build on a 2-core machine, 1 minute per checkpoint to read. Narrative
text is never printed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.machine import this_machine

WEIGHTS = tuple(round(0.1 * i, 1) for i in range(11))


def read_weights(folder: Path, data: Path, weights: Sequence[float] = WEIGHTS) -> dict:
    """{weight: {"main", "sub", "ece_main"}} of one checkpoint on one labelled file, served."""
    from client.core.aggregation import aggregate_logits
    from client.core.tokenization import NarrativeTokenizer
    from helpline_model.calibration import Calibration
    from helpline_model.checkpoint import load_checkpoint
    from helpline_model.layout import trained_max_length
    from training.calibration import set_summary
    from training.rows import load_rows
    from training.served import chunk_logits, served_settings

    checkpoint = load_checkpoint(folder)
    labels = checkpoint.labels
    rows, _ = load_rows(data, folder)
    if not rows:
        raise ValueError(f"no row of {data} fits the labels of {folder}")
    max_length = trained_max_length(checkpoint.folder) or checkpoint.max_length
    cases = chunk_logits(
        checkpoint.model,
        NarrativeTokenizer(checkpoint.folder),
        [str(r["narrative"]) for r in rows],
        min(int(max_length), checkpoint.max_length),
    )
    sub_to_main, severity, calibration = served_settings(checkpoint.folder, True)
    calibration = calibration or Calibration({})
    out = {}
    for weight in weights:
        served = dataclasses.replace(calibration, main_from_sub=weight)
        results = [
            aggregate_logits(
                case.logits,
                case.token_counts,
                labels,
                sub_to_main=sub_to_main,
                severity=severity,
                calibration=served,
            )
            for case in cases
        ]
        summary = set_summary(results, rows, cases, labels, served, None)
        out[weight] = {
            "main": summary["main_accuracy"],
            "sub": summary["sub_accuracy"],
            "ece_main": summary["ece_served_main"],
        }
    return out


def chosen_weight(results: Sequence[dict]) -> float:
    """The weight with the best validation main + sub accuracy averaged over the checkpoints
    (ties: the smaller weight). The evaluation figures are never read here."""
    weights = sorted({float(w) for r in results for w in r["validation"]})

    def score(weight: float) -> float:
        mine = [r["validation"][weight] for r in results]
        return sum(v["main"] + v["sub"] for v in mine) / len(mine)

    return max(weights, key=lambda weight: (round(score(weight), 9), -weight))


def main(argv: list[str] | None = None) -> int:
    from bench.handwritten_mix import built
    from training.demo_model import (
        DEMO_HANDWRITTEN_REPEAT,
        HANDWRITTEN_EVAL,
        HANDWRITTEN_VALIDATION,
    )

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", type=Path, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[13, 14])
    parser.add_argument("--steps", type=int, default=460)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    machine = this_machine()
    print(machine.summary(), flush=True)
    results = []
    for seed in args.seeds:
        # The shipped repeat, in bench.handwritten_mix's folders: its builds are reused.
        folder, _ = built(args.build_dir, seed, DEMO_HANDWRITTEN_REPEAT, args.steps)
        results.append(
            {
                "seed": seed,
                "validation": read_weights(folder, HANDWRITTEN_VALIDATION),
                "evaluation": read_weights(folder, HANDWRITTEN_EVAL),
            }
        )
    chosen = chosen_weight(results)
    print("weight | validation main sub (mean over seeds) | evaluation main sub ece_main")
    for weight in WEIGHTS:
        v = [r["validation"][weight] for r in results]
        e = [r["evaluation"][weight] for r in results]
        print(
            f"{weight:>6} | {_mean(v, 'main'):.3f} {_mean(v, 'sub'):.3f} | "
            f"{_mean(e, 'main'):.3f} {_mean(e, 'sub'):.3f} {_mean(e, 'ece_main'):.3f} "
            f"(main per seed {' '.join(format(x['main'], '.3f') for x in e)})"
        )
    print(f"chosen on validation (main + sub accuracy): main_from_sub {chosen}")
    if args.out:
        report = {
            "machine": machine.as_dict(),
            "seeds": args.seeds,
            "steps": args.steps,
            "chosen": chosen,
            "results": [
                {
                    "seed": r["seed"],
                    "validation": {str(w): v for w, v in r["validation"].items()},
                    "evaluation": {str(w): v for w, v in r["evaluation"].items()},
                }
                for r in results
            ],
        }
        args.out.write_text(json.dumps(report, indent=1))
    return 0


def _mean(values: Sequence[dict], key: str) -> float:
    return float(np.mean([v[key] for v in values]))


if __name__ == "__main__":
    raise SystemExit(main())
