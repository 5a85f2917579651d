"""How many times to repeat the hand-written training rows in the demo build: chosen on the
hand-written validation set, reported (never chosen) on the hand-written evaluation set.

For each (seed, repeat) a demo checkpoint is built (training.demo_model.build_demo_checkpoint,
repeat 0 = synthetic rows only) with a fixed number of optimizer steps instead of the time
budget, so that variants compare equally however loaded the machine is. Each is then read as
served (gateway chunking, calibration fitted on the validation set, aggregation):

* validation (selection): main / sub accuracy, and the fewest false alarms at urgent recall
  >= 0.95 over all thresholds on these rows (the operating point is fitted on them, so this is
  the best the fitted point can do there, not an out-of-sample figure);
* evaluation (report only): main / sub accuracy, urgent recall and false alarms at the
  shipped operating point, ECE.

The repeat with the best validation main + sub accuracy is printed as the choice.

    python -m bench.handwritten_mix --build-dir /tmp/mix --repeats 0 3 --seeds 13 --steps 460

About 8 minutes per build on a 2-core machine. Narrative text is never printed.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from bench.machine import this_machine

TARGET_RECALL = 0.95


def fewest_false_alarms(curve: list, target: float = TARGET_RECALL) -> float | None:
    """The lowest false-alarm rate among (threshold, recall, false alarms) points whose recall
    reaches `target`; None when none does."""
    rates = [false_alarms for _, recall, false_alarms in curve if recall >= target]
    return min(rates) if rates else None


def read_as_served(folder: Path, data: Path) -> dict:
    from training.calibration import checkpoint_set_report
    from training.rows import load_rows

    rows, _ = load_rows(data, folder)
    report, _ = checkpoint_set_report(folder, rows)
    shipped = report["shipped"]
    return {
        "n": shipped["n"],
        "main": shipped["main_accuracy"],
        "sub": shipped["sub_accuracy"],
        "recall": shipped.get("most_severe_recall"),
        "false_alarms": shipped.get("false_alarm_rate"),
        "fewest_false_alarms_at_target": fewest_false_alarms(report["curve"]),
        "ece_main": shipped["ece"]["main"],
        "ece_priority": shipped["ece"]["priority"],
    }


def chosen_repeat(results: list[dict]) -> int:
    """The repeat with the best validation main + sub accuracy, averaged over its seeds (ties:
    the smaller repeat). The evaluation figures are never read here."""
    repeats = sorted({r["repeat"] for r in results})

    def score(repeat: int) -> float:
        mine = [r["validation"] for r in results if r["repeat"] == repeat]
        return sum(v["main"] + v["sub"] for v in mine) / len(mine)

    return max(repeats, key=lambda repeat: (score(repeat), -repeat))


def built(
    build_dir: Path, seed: int, repeat: int, steps: int, ema_decay: float = 0.0
) -> tuple[Path, float | None]:
    """(the build's folder under `build_dir`, seconds spent building it; None when a finished
    build was already there and is reused)."""
    folder = build_dir / f"seed-{seed}-repeat-{repeat}"
    if (folder / "model.safetensors").is_file():
        return folder, None
    return folder, build(folder, seed, repeat, steps, ema_decay)


def build(folder: Path, seed: int, repeat: int, steps: int, ema_decay: float = 0.0) -> float:
    from training.demo_model import build_demo_checkpoint

    started = time.monotonic()
    build_demo_checkpoint(
        folder,
        None,
        seed=seed,
        handwritten_repeat=repeat,
        max_steps=steps,
        ema_decay=ema_decay,
        progress=print,
    )
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    from training.demo_model import HANDWRITTEN_EVAL, HANDWRITTEN_VALIDATION

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", type=Path, required=True)
    parser.add_argument("--repeats", type=int, nargs="+", default=[0, 3])
    parser.add_argument("--seeds", type=int, nargs="+", default=[13])
    parser.add_argument("--steps", type=int, default=460)
    parser.add_argument(
        "--ema-decay", type=float, default=0.0, help="> 0: keep a moving average of the weights"
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    machine = this_machine()
    print(machine.summary(), flush=True)
    results = []
    for seed in args.seeds:
        for repeat in args.repeats:
            folder, seconds = built(args.build_dir, seed, repeat, args.steps, args.ema_decay)
            result = {
                "seed": seed,
                "repeat": repeat,
                "steps": args.steps,
                "ema_decay": args.ema_decay,
                "build_s": seconds,
                "validation": read_as_served(folder, HANDWRITTEN_VALIDATION),
                "evaluation": read_as_served(folder, HANDWRITTEN_EVAL),
            }
            results.append(result)
            print(json.dumps(result), flush=True)

    chosen = chosen_repeat(results)
    print(f"{'seed':>4} {'repeat':>6} | validation main sub fa@0.95 | eval main sub recall fa")
    for r in results:
        v, e = r["validation"], r["evaluation"]
        print(
            f"{r['seed']:>4} {r['repeat']:>6} | {v['main']:.3f} {v['sub']:.3f} "
            f"{_rate(v['fewest_false_alarms_at_target'])} | {e['main']:.3f} {e['sub']:.3f} "
            f"{_rate(e['recall'])} {_rate(e['false_alarms'])}"
        )
    print(f"chosen on validation (main + sub accuracy): repeat {chosen}")
    if args.out:
        report = {"machine": machine.as_dict(), "chosen_repeat": chosen, "results": results}
        args.out.write_text(json.dumps(report, indent=1))
    return 0


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    raise SystemExit(main())
