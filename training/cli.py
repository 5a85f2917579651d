"""`python -m training.cli`: train into the registry, list / roll back / promote versions,
refit a checkpoint's calibration on a labelled file, build the demo model. (The corpus has its
own CLI: `python -m corpus.generator`.)"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from export.parity import ParityError
from helpline_model.layout import PRECISIONS
from training.data import read_records, split_records
from training.finetune import METRICS, TrainConfig
from training.registry import DEFAULT_ROOT, Registry, RegistryError, train_next


def _heads(value: str) -> tuple[str, ...]:
    return tuple(h.strip() for h in value.split(",") if h.strip())


def _count(value: str) -> int:
    count = int(value)
    if count < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {count}")
    return count


def _add_train_arguments(parser: argparse.ArgumentParser) -> None:
    data = parser.add_argument_group("data (JSON list, JSONL or CSV)")
    data.add_argument("--train", type=Path, help="training rows")
    data.add_argument(
        "--validation", type=Path, help="validation rows (early stopping, version decision)"
    )
    data.add_argument("--test", type=Path, help="held-out test rows (reported, never decides)")
    data.add_argument("--data", type=Path, nargs="+", help="file(s) to split instead")
    data.add_argument("--split-seed", type=int, default=13)
    data.add_argument("--val-fraction", type=float, default=0.1)
    data.add_argument("--test-fraction", type=float, default=0.1)

    d = TrainConfig()
    hp = parser.add_argument_group("hyper-parameters")
    hp.add_argument("--epochs", type=int, default=d.epochs)
    hp.add_argument(
        "--lr", "--learning-rate", dest="learning_rate", type=float, default=d.learning_rate
    )
    hp.add_argument(
        "--head-lr",
        dest="head_learning_rate",
        type=float,
        default=None,
        help="learning rate of the randomly initialised heads (default: --lr)",
    )
    hp.add_argument("--batch-size", type=int, default=d.batch_size)
    hp.add_argument("--eval-batch-size", type=int, default=d.eval_batch_size)
    hp.add_argument("--max-length", type=int, default=d.max_length)
    hp.add_argument("--seed", type=int, default=d.seed)
    hp.add_argument("--warmup-ratio", type=float, default=d.warmup_ratio)
    hp.add_argument("--weight-decay", type=float, default=d.weight_decay)
    hp.add_argument("--max-grad-norm", type=float, default=d.max_grad_norm)
    hp.add_argument("--patience", type=int, default=d.patience)
    hp.add_argument(
        "--class-weighted",
        type=_heads,
        default=(),
        metavar="HEADS",
        help="comma-separated heads (main,sub,intervention,priority) or 'all'",
    )
    hp.add_argument("--freeze-layers", type=int, default=d.freeze_layers)
    hp.add_argument("--freeze-embeddings", action="store_true")
    hp.add_argument(
        "--no-restrict-sub",
        dest="restrict_sub_to_main",
        action="store_false",
        help="do not restrict sub-category predictions to the predicted main",
    )
    hp.add_argument(
        "--eval-every",
        dest="eval_every_steps",
        type=int,
        default=None,
        help="validate every N steps (default: every epoch)",
    )
    hp.add_argument("--max-steps", type=int, default=None)
    hp.add_argument(
        "--time-budget",
        dest="time_budget_s",
        type=float,
        default=None,
        help="seconds for training + validation",
    )
    hp.add_argument("--bf16", action="store_true", help="bfloat16 autocast")
    hp.add_argument("--log-every", dest="log_every_steps", type=int, default=d.log_every_steps)

    calibration = parser.add_argument_group(
        "calibration (fitted on --calibration-data, else on the validation split)"
    )
    calibration.add_argument(
        "--calibration-data",
        type=Path,
        default=None,
        metavar="FILE",
        help="labelled file (JSON list, JSONL or CSV) to fit temperatures, decision rule and "
        "escalation threshold on; the hand-written evaluation set is refused",
    )
    calibration.add_argument(
        "--target-recall",
        type=float,
        default=d.target_recall,
        help="recall of the most severe priority the escalation threshold must reach on "
        "the calibration data (default %(default)s)",
    )
    calibration.add_argument(
        "--main-from-sub",
        type=float,
        default=d.main_from_sub,
        metavar="W",
        help="weight of the sub-category head in the served main-category decision, 0-1 "
        "(default %(default)s: the main head alone; the demo model's is chosen in "
        "docs/measurements.md)",
    )
    calibration.add_argument(
        "--no-calibrate",
        dest="calibrate",
        action="store_false",
        help="write no calibration.json (served with temperature 1 and the 0.5 threshold)",
    )

    decision = parser.add_argument_group("version decision")
    decision.add_argument("--metric", choices=METRICS, default="avg_accuracy")
    decision.add_argument(
        "--initial-base",
        type=Path,
        default=None,
        help="checkpoint to start from while the registry is empty (default: converted MiniLM)",
    )
    decision.add_argument(
        "--min-improvement",
        type=float,
        default=0.0,
        help="required gain over the current version's validation metric",
    )


def _config(args: argparse.Namespace) -> TrainConfig:
    fields = TrainConfig.__dataclass_fields__
    values = {name: getattr(args, name) for name in fields if hasattr(args, name)}
    values["class_weighted_heads"] = args.class_weighted
    values["selection_metric"] = args.metric
    return TrainConfig(**values)


def _records(args: argparse.Namespace) -> dict[str, list[dict]]:
    if args.data:
        if args.train or args.validation or args.test:
            raise SystemExit("give either --data or --train/--validation/--test")
        rows = [row for path in args.data for row in read_records(path)]
        return split_records(rows, args.split_seed, (args.val_fraction, args.test_fraction))
    if not (args.train and args.validation and args.test):
        raise SystemExit("give --train, --validation and --test, or --data to split")
    return {
        "train": read_records(args.train),
        "validation": read_records(args.validation),
        "test": read_records(args.test),
    }


def _calibration_data(args: argparse.Namespace) -> Path | None:
    """The fitting file, checked before any training starts."""
    from training.calibration import check_not_evaluation_set

    path = args.calibration_data
    if path is None:
        return None
    if not args.calibrate:
        raise SystemExit("--calibration-data and --no-calibrate contradict each other")
    if not path.is_file():
        raise FileNotFoundError(f"calibration data {path} not found")
    check_not_evaluation_set(path)
    return path


def cmd_train(args: argparse.Namespace) -> int:
    calibration_data = _calibration_data(args)
    outcome = train_next(
        Registry(args.registry),
        _records(args),
        _config(args),
        metric=args.metric,
        min_improvement=args.min_improvement,
        initial_base=args.initial_base,
        calibration_data=calibration_data,
    )
    print(json.dumps({"accepted": outcome.accepted, **outcome.entry}, indent=1, default=str))
    return 0


def cmd_versions(args: argparse.Namespace) -> int:
    registry = Registry(args.registry)
    versions = registry.list_versions()
    if args.json:
        print(json.dumps({"versions": versions, "rejected": registry.list_rejected()}, indent=1))
        return 0
    if not versions:
        print(f"no versions in {registry.root}")
    for v in versions:
        triton = f" triton v{v['triton_version']}" if v.get("triton_version") else ""
        # Entries written before `selected_on` existed were decided on the test split.
        split = v.get("selected_on", "test")
        print(
            f"{'*' if v['current'] else ' '} {v['id']:<5} {split} {v['metric']} {v['value']:.4f} "
            f"parent {v.get('parent_version') or '-':<5} data {v['data_hash'][:12]} "
            f"{v['created_at']}{triton}"
        )
    rejected = registry.list_rejected()
    if rejected:
        print(f"{len(rejected)} rejected attempt(s); last: {rejected[-1]['reason']}")
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    entry = Registry(args.registry).rollback(args.version)
    print(f"current version is now {entry['id']}")
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    promotion = Registry(args.registry).promote(
        args.version, args.repository, args.precision, model_name=args.model_name
    )
    print(json.dumps(promotion, indent=1))
    return 0


def cmd_build_demo(args: argparse.Namespace) -> int:
    from training.demo_model import build_demo_checkpoint

    build_demo_checkpoint(
        args.out,
        args.budget_s,
        target_recall=args.target_recall,
        calibration_data=args.calibration_data,
        handwritten_train=args.handwritten_train,
        handwritten_repeat=args.handwritten_repeat,
        seed=args.seed,
    )
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from training.calibration import refit_checkpoint

    calibration, report = refit_checkpoint(
        args.checkpoint,
        args.calibration_data,
        target_recall=args.target_recall,
        main_from_sub=args.main_from_sub,
    )
    print(
        json.dumps(
            {
                "fitted_on": calibration.fitted_on,
                "temperatures": calibration.temperatures,
                "main_from_sub": calibration.main_from_sub,
                "escalation": report["escalation"] or report.get("escalation_skipped"),
                "rules": report.get("rules"),
            },
            indent=1,
        )
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    from helpline_model.calibration import DEFAULT_TARGET_RECALL
    from training.demo_model import DEFAULT_BUDGET_S, DEMO_HANDWRITTEN_REPEAT, DEMO_SEED

    parser = argparse.ArgumentParser(prog="python -m training.cli", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def with_registry(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--registry", type=Path, default=DEFAULT_ROOT)
        return p

    train = with_registry(sub.add_parser("train", help="train the next version"))
    _add_train_arguments(train)
    train.set_defaults(func=cmd_train)

    versions = with_registry(sub.add_parser("versions", help="list versions"))
    versions.add_argument("--json", action="store_true")
    versions.set_defaults(func=cmd_versions)

    rollback = with_registry(sub.add_parser("rollback", help="make an older version current"))
    rollback.add_argument("version")
    rollback.set_defaults(func=cmd_rollback)

    promote = with_registry(sub.add_parser("promote", help="export a version to Triton"))
    promote.add_argument("version")
    promote.add_argument("--precision", choices=PRECISIONS, default="fp32")
    promote.add_argument("--repository", type=Path, default=Path("model_repository"))
    promote.add_argument("--model-name", default=None)
    promote.set_defaults(func=cmd_promote)

    calibrate = sub.add_parser(
        "calibrate",
        help="refit a checkpoint's calibration.json on a labelled file, without training",
    )
    calibrate.add_argument("--checkpoint", type=Path, required=True)
    calibrate.add_argument("--calibration-data", type=Path, required=True, metavar="FILE")
    calibrate.add_argument("--target-recall", type=float, default=DEFAULT_TARGET_RECALL)
    calibrate.add_argument(
        "--main-from-sub",
        type=float,
        default=None,
        metavar="W",
        help="weight of the sub-category head in the main decision (default: keep the "
        "checkpoint's current one)",
    )
    calibrate.set_defaults(func=cmd_calibrate)

    demo = sub.add_parser("build-demo", help="build the demo checkpoint")
    demo.add_argument("--out", type=Path, required=True)
    demo.add_argument("--budget-s", type=float, default=DEFAULT_BUDGET_S)
    demo.add_argument("--target-recall", type=float, default=DEFAULT_TARGET_RECALL)
    demo.add_argument(
        "--calibration-data",
        type=Path,
        default=None,
        metavar="FILE",
        help="fit calibration on this labelled file (default: data/handwritten_validation.jsonl "
        "when present, else the synthetic validation split)",
    )
    demo.add_argument(
        "--handwritten-train",
        type=Path,
        default=None,
        metavar="DIR",
        help="add the rows of DIR/*.jsonl to the training split (default: data/handwritten_train "
        "when it holds a part); refused if a narrative is in a hand-written evaluation, "
        "validation or fitting set",
    )
    demo.add_argument(
        "--handwritten-repeat",
        type=_count,
        default=DEMO_HANDWRITTEN_REPEAT,
        metavar="K",
        help="times each hand-written training row is repeated (0: synthetic rows only)",
    )
    demo.add_argument("--seed", type=int, default=DEMO_SEED, help="corpus and training seed")
    demo.set_defaults(func=cmd_build_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (RegistryError, ValueError, FileNotFoundError, ParityError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
