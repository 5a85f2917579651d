"""`helpline-export`: export checkpoints, run the local Triton, manage model versions."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from pathlib import Path

from export.repository import DEFAULT_MODEL_NAME, DEFAULT_REPOSITORY
from helpline_model.layout import PRECISIONS


def _cmd_export(args: argparse.Namespace) -> int:
    from export.parity import ParityError, PrecisionUnavailable
    from export.pipeline import export_checkpoint
    from helpline_model.calibration import CalibrationError
    from helpline_model.severity import DISABLED, SeverityOrderError, describe, parse_severity_order

    try:
        order = (
            parse_severity_order(args.severity_order) if args.severity_order is not None else None
        )
        result = export_checkpoint(
            args.checkpoint,
            args.repository,
            args.model_name,
            args.precision,
            version=args.version,
            texts_file=args.parity_texts,
            max_texts=args.max_texts,
            min_main_agreement=args.min_agreement,
            severity_order=order,
            target_recall=args.target_recall,
        )
    except (SeverityOrderError, CalibrationError, PrecisionUnavailable) as exc:
        print(f"export refused: {exc}", file=sys.stderr)
        return 2
    except ParityError as exc:
        print(f"export refused: {exc}", file=sys.stderr)
        return 3
    if result.severity is None:
        print(
            f"WARNING: escalation {DISABLED} for version {result.version}: the checkpoint "
            "ships no priority_severity.json. Re-export with --severity-order LEAST,...,MOST "
            "(its priority labels, least to most severe) to enable it.",
            file=sys.stderr,
        )
    print(
        json.dumps(
            {
                "version": result.version,
                "path": str(result.version_dir),
                "seconds": round(result.seconds, 1),
                "parity": result.parity.to_dict(),
                "escalation": describe(result.severity),
                "calibration": result.calibration,
            },
            indent=2,
        )
    )
    return 0


def _cmd_tiny(args: argparse.Namespace) -> int:
    from export.tiny import make_tiny_checkpoint, production_labels, production_sub_to_main

    make_tiny_checkpoint(
        args.out,
        production_labels(),
        seed=args.seed,
        sub_to_main=production_sub_to_main(),
        severity_order=["1", "2", "3"],
    )
    print(args.out)
    return 0


def _cmd_serve_triton(args: argparse.Namespace) -> int:
    from export.launcher import LocalTriton, TritonOptions

    triton = LocalTriton(
        TritonOptions(
            repository=args.repository.resolve(),
            host=args.host,
            http_port=args.http_port,
            grpc_port=args.grpc_port,
            metrics_port=args.metrics_port,
            model_config_name=args.model_config_name,
        )
    ).start()
    stopping = {"signal": None}

    def _forward(signum: int, _frame: object) -> None:
        # Only forward: the main thread is inside Popen.wait(), which must not be re-entered
        # from a signal handler (it would spin on its own lock). Triton drains, then exits.
        stopping["signal"] = signum
        if triton.process is not None and triton.process.poll() is None:
            triton.process.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, _forward)
    signal.signal(signal.SIGINT, _forward)
    try:
        triton.wait_ready(args.ready_timeout)
    except Exception as exc:  # noqa: BLE001 - reported, then the child is stopped
        triton.stop()
        if stopping["signal"]:
            return 0  # asked to stop while still starting
        print(f"tritonserver failed to start: {exc}", file=sys.stderr)
        return 1
    print(f"triton ready: http={triton.http_url} grpc={triton.grpc_url}", flush=True)
    code = triton.process.wait() if triton.process else 1
    triton.stop()  # closes the log handle; the process has already exited
    return 0 if stopping["signal"] else code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="helpline-export", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    exp = sub.add_parser("export", help="checkpoint -> ONNX -> parity -> new model version")
    exp.add_argument("--checkpoint", required=True, help="checkpoint folder or hub id")
    exp.add_argument("--repository", type=Path, default=DEFAULT_REPOSITORY)
    exp.add_argument("--model-name", default=DEFAULT_MODEL_NAME)
    exp.add_argument("--precision", choices=PRECISIONS, default="int8")
    exp.add_argument("--version", type=int, default=None, help="default: highest + 1")
    exp.add_argument("--parity-texts", type=Path, default=None, help="JSON/JSONL with narrative")
    exp.add_argument("--max-texts", type=int, default=500)
    exp.add_argument(
        "--min-agreement", type=float, default=0.99, help="int8/fp16/openvino-bf16 main argmax"
    )
    exp.add_argument(
        "--severity-order",
        default=None,
        metavar="LEAST,...,MOST",
        help="priority labels least to most severe, e.g. 1,2,3 (each label exactly once); "
        "without it, and without priority_severity.json in the checkpoint, escalation is off",
    )
    exp.add_argument(
        "--target-recall",
        type=float,
        default=None,
        help="re-choose the escalation threshold on the checkpoint's validation curve "
        "(calibration.json) for this recall of the most severe priority; default: the point "
        "chosen at training",
    )
    exp.set_defaults(func=_cmd_export)

    tiny = sub.add_parser("tiny-checkpoint", help="random-init production-format checkpoint")
    tiny.add_argument("--out", type=Path, required=True)
    tiny.add_argument("--seed", type=int, default=0)
    tiny.set_defaults(func=_cmd_tiny)

    srv = sub.add_parser("serve-triton", help="run the local tritonserver until SIGTERM")
    srv.add_argument("--repository", type=Path, default=DEFAULT_REPOSITORY)
    srv.add_argument("--host", default="127.0.0.1")
    srv.add_argument("--http-port", type=int, default=8000)
    srv.add_argument("--grpc-port", type=int, default=8001)
    srv.add_argument("--metrics-port", type=int, default=8002)
    srv.add_argument("--model-config-name", default="local")
    srv.add_argument("--ready-timeout", type=float, default=180.0)
    srv.set_defaults(func=_cmd_serve_triton)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
