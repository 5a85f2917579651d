"""Command line for the triage gateway (`helpline-triage` / `python -m client.sdk.cli`).

    helpline-triage classify "narrative text" [--chunks]     ("-" reads the text from stdin)
    helpline-triage classify-file cases.jsonl --out results.jsonl|results.csv [--batch-size 16]
    helpline-triage stream call.txt --by word|sentence|line [--transport ws|http] [--delay S]
    helpline-triage info | health

Narrative text is never printed or logged: only results and errors are, and those carry
labels, scores and offsets, not text. Exit codes: 0 success, 1 a request or any row failed
(or the model is degraded, for `health`), 2 bad usage or an unreadable input file.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from tqdm import tqdm

from client.sdk.clients import (
    DEFAULT_URL,
    SPLITS,
    AsyncTriageClient,
    TriageAPIError,
    TriageClient,
    TriageError,
    split_transcript,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
JSONL_SUFFIXES = {".jsonl", ".ndjson", ".json"}
# The flat columns of a `.csv` results file, one row per input row: what a supervisor reads in a
# spreadsheet. `error` holds the gateway's error code for a failed row and is empty otherwise.
# Never a narrative column: results files are shared more widely than the cases they came from.
CSV_LABELS = ("main_category", "sub_category", "intervention", "priority")
CSV_COLUMNS = (
    "id",
    *CSV_LABELS,
    *(f"{label}_confidence" for label in CSV_LABELS),
    "escalated",
    "needs_review",
    "error",
)
# A batch failing with one of these (auth, overload, model down) would fail the same way row by
# row; retrying each row would only add load.
NO_FALLBACK_STATUSES = {401, 403, 429, 503}


@dataclass(frozen=True)
class Row:
    index: int
    id: str | None
    narrative: str


class InputFileError(Exception):
    """The input file cannot be used; the message names the file and line, never its text."""


# --- input -------------------------------------------------------------------------------


def read_rows(path: Path, fmt: str = "auto") -> list[Row]:
    """Rows of a JSONL file (objects with `narrative`, optional `id`) or a CSV file (column
    `narrative`, optional column `id`)."""
    if fmt == "auto":
        suffix = path.suffix.lower()
        if suffix in JSONL_SUFFIXES:
            fmt = "jsonl"
        elif suffix == ".csv":
            fmt = "csv"
        else:
            raise InputFileError(f"{path}: cannot tell the format from the name; use --format")
    try:
        return _read_jsonl(path) if fmt == "jsonl" else _read_csv(path)
    except OSError as exc:
        raise InputFileError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputFileError(f"{path}: not UTF-8 text") from None


def _read_jsonl(path: Path) -> list[Row]:
    rows: list[Row] = []
    with path.open(encoding="utf-8") as file:
        for line_number, line in enumerate(file, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                # `from None`: the decoder's message would quote the line.
                raise InputFileError(f"{path}:{line_number}: not valid JSON") from None
            if not isinstance(record, dict) or not isinstance(record.get("narrative"), str):
                raise InputFileError(
                    f"{path}:{line_number}: expected an object with a string `narrative`"
                )
            rows.append(Row(len(rows), _id_of(record.get("id")), record["narrative"]))
    return rows


def _read_csv(path: Path) -> list[Row]:
    # A narrative over csv's default 128 KiB field limit should fail as one row at the gateway
    # (413), not abort the whole file.
    csv.field_size_limit(max(csv.field_size_limit(), 16 * 1024 * 1024))
    rows: list[Row] = []
    with path.open(encoding="utf-8-sig", newline="") as file:
        reader = csv.DictReader(file)
        if reader.fieldnames is None or "narrative" not in reader.fieldnames:
            raise InputFileError(f"{path}: no `narrative` column in the header")
        try:
            for record in reader:
                # A short row leaves `narrative` None: send it as empty so it fails as a row.
                rows.append(Row(len(rows), _id_of(record.get("id")), record["narrative"] or ""))
        except csv.Error:
            raise InputFileError(f"{path}:{reader.line_num}: malformed CSV") from None
    return rows


def _id_of(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


# --- output ------------------------------------------------------------------------------


def output_format(path: Path) -> str:
    """`csv` or `jsonl`, from the output's name. Anything else is refused rather than guessed, so
    `results.csv.tmp` or a typo does not silently get a format its name does not say."""
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    known = ", ".join(sorted([*JSONL_SUFFIXES, ".csv"]))
    raise InputFileError(f"{path}: the output name must end in one of {known}")


def csv_row(record: dict[str, Any]) -> dict[str, Any]:
    """One output record as flat CSV columns (see CSV_COLUMNS)."""
    row: dict[str, Any] = dict.fromkeys(CSV_COLUMNS, "")
    row["id"] = record["id"] if record["id"] is not None else ""
    if record["status"] != "ok":
        row["error"] = record["error"]["error_code"]
        return row
    result = record["result"]
    for label in CSV_LABELS:
        row[label] = result[label]
        row[f"{label}_confidence"] = round(result["confidence_scores"][label], 4)
    # Lower-case like the JSON output; spreadsheets read both cases as booleans.
    row["escalated"] = "true" if result["escalation"]["escalated"] else "false"
    row["needs_review"] = "true" if result["needs_review"] else "false"
    return row


def record_writer(out: TextIO, fmt: str) -> Callable[[dict[str, Any]], None]:
    """A function writing one output record to `out`: a JSON line, or a CSV row under a header
    written now (so a file of zero rows still says what its columns are)."""
    if fmt == "jsonl":
        return lambda record: out.write(json.dumps(record, ensure_ascii=False) + "\n")
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    return lambda record: writer.writerow(csv_row(record))


# --- classify-file ---------------------------------------------------------------------


def _ok(row: Row, result: dict[str, Any]) -> dict[str, Any]:
    return {"index": row.index, "id": row.id, "status": "ok", "result": result}


def _failed(row: Row, exc: TriageError) -> dict[str, Any]:
    return {"index": row.index, "id": row.id, "status": "error", "error": _error_dict(exc)}


def _error_dict(exc: TriageError) -> dict[str, Any]:
    if isinstance(exc, TriageAPIError):
        return exc.to_dict()
    return {
        "status": None,
        "error_code": "CONNECTION_ERROR",
        "message": str(exc),
        "detail": None,
        "field": None,
        "request_id": None,
    }


async def _classify_one(
    client: AsyncTriageClient, row: Row, include_chunks: bool, timeout_s: float | None
) -> dict[str, Any]:
    try:
        result = await client.classify(
            row.narrative, include_chunks=include_chunks, timeout_s=timeout_s
        )
    except TriageError as exc:
        return _failed(row, exc)
    return _ok(row, result)


async def classify_rows(
    client: AsyncTriageClient, rows: Sequence[Row], include_chunks: bool, timeout_s: float | None
) -> list[dict[str, Any]]:
    """One output record per row: one batch call, and when the gateway refuses the batch (one
    bad row fails it all) one call per row so that only the bad rows are reported as errors.
    When the gateway cannot be reached, or is down or overloaded, every row gets that error."""
    if len(rows) == 1:
        return [await _classify_one(client, rows[0], include_chunks, timeout_s)]
    try:
        # Ids stay on this side: the gateway caps their length and they are not needed there.
        body = await client.classify_batch(
            [row.narrative for row in rows], include_chunks=include_chunks, timeout_s=timeout_s
        )
    except TriageError as exc:
        if not isinstance(exc, TriageAPIError) or exc.status in NO_FALLBACK_STATUSES:
            return [_failed(row, exc) for row in rows]
        return [await _classify_one(client, row, include_chunks, timeout_s) for row in rows]
    return [_ok(row, item["result"]) for row, item in zip(rows, body["results"], strict=True)]


async def classify_file(
    client: AsyncTriageClient,
    rows: Sequence[Row],
    out: TextIO,
    *,
    fmt: str = "jsonl",
    batch_size: int,
    concurrency: int,
    include_chunks: bool = False,
    timeout_s: float | None = None,
    progress: bool = True,
) -> int:
    """Classifies `rows` in batches, at most `concurrency` requests at a time, and writes one
    record per row to `out` in input order, as a JSON line or a CSV row (`fmt`). Returns the
    number of failed rows."""
    write = record_writer(out, fmt)
    limit = asyncio.Semaphore(concurrency)
    bar = tqdm(total=len(rows), unit="row", file=sys.stderr, disable=not progress)

    async def run(batch: Sequence[Row]) -> list[dict[str, Any]]:
        async with limit:
            records = await classify_rows(client, batch, include_chunks, timeout_s)
        bar.update(len(batch))
        return records

    batches = [rows[i : i + batch_size] for i in range(0, len(rows), batch_size)]
    tasks = [asyncio.create_task(run(batch)) for batch in batches]
    failed = 0
    try:
        # Awaited in order so the output follows the input even when batches finish out of order.
        for task in tasks:
            for record in await task:
                if record["status"] != "ok":
                    failed += 1
                write(record)
    finally:
        for task in tasks:
            task.cancel()
        bar.close()
    return failed


# --- commands ---------------------------------------------------------------------------


def _client_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"api_key": args.api_key or None, "max_retries": args.retries}


def _print_json(body: object, file: TextIO | None = None) -> None:
    print(json.dumps(body, indent=2, ensure_ascii=False), file=file)


def _print_error(exc: TriageError) -> None:
    _print_json({"error": _error_dict(exc)}, sys.stderr)


def cmd_classify(args: argparse.Namespace) -> int:
    # "-" lets callers keep narratives out of shell history and process listings.
    narrative = sys.stdin.read() if args.text == ["-"] else " ".join(args.text)
    with TriageClient(args.url, **_client_options(args)) as client:
        result = client.classify(narrative, include_chunks=args.chunks, timeout_s=args.timeout)
    _print_json(result)
    return EXIT_OK


def cmd_classify_file(args: argparse.Namespace) -> int:
    source, target = Path(args.input), Path(args.out)
    # Checked first: a wrong output name should fail before any file is read or request sent.
    out_format = output_format(target)
    if target.exists() and target.resolve() == source.resolve():
        raise InputFileError(f"{target}: the output would overwrite the input")
    rows = read_rows(source, args.format)
    try:
        # newline="": the csv module writes its own line endings (and newlines inside fields).
        out = target.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise InputFileError(f"{target}: {exc.strerror or exc}") from None

    async def run() -> int:
        async with AsyncTriageClient(args.url, **_client_options(args)) as client:
            return await classify_file(
                client,
                rows,
                out,
                fmt=out_format,
                batch_size=args.batch_size,
                concurrency=args.concurrency,
                include_chunks=args.chunks,
                timeout_s=args.timeout,
                progress=not args.no_progress,
            )

    with out:
        failed = asyncio.run(run())
    print(
        f"{len(rows)} rows: {len(rows) - failed} ok, {failed} failed -> {target}", file=sys.stderr
    )
    return EXIT_FAILED if failed else EXIT_OK


# --- stream -----------------------------------------------------------------------------


def _labels(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "main_category": result["main_category"],
        "sub_category": result["sub_category"],
        "intervention": result["intervention"],
        "priority": result["priority"],
        "confidences": {k: round(v, 4) for k, v in result["confidence_scores"].items()},
        "escalated": result["escalation"]["escalated"],
        "needs_review": result["needs_review"],
        "chunks": result["chunks_processed"],
    }


def stream_summary(event: dict[str, Any]) -> dict[str, Any]:
    """One printable line per event: labels, confidences and counts; never text."""
    kind = event["type"]
    line: dict[str, Any] = {"event": kind}
    if kind == "session":
        line.update(session_id=event["session_id"], request_id=event["request_id"])
    elif kind == "alert":
        keys = ("seq", "chunk_index", "chunk_closed", "level", "confidence", "char_start")
        line.update({key: event[key] for key in keys})
        line["char_end"] = event["char_end"]
    elif kind in ("update", "final"):
        if "seq" in event:
            line["seq"] = event["seq"]
        line.update(_labels(event["result"]))
        stats = event["stats"]
        for key in ("segments", "tokens", "chunks_closed", "chunks_tail", "chunks_inferred"):
            line[key] = stats[key]
        if kind == "final":
            line["chunks_reused"] = stats["chunks_reused"]
    else:  # ack
        line.update(seq=event["seq"], tokens=event["stats"]["tokens"])
    return line


def _paced(segments: Sequence[str], delay_s: float) -> Iterator[str]:
    for i, segment in enumerate(segments):
        if i and delay_s:
            time.sleep(delay_s)
        yield segment


async def _paced_async(segments: Sequence[str], delay_s: float) -> AsyncIterator[str]:
    for i, segment in enumerate(segments):
        if i and delay_s:
            await asyncio.sleep(delay_s)
        yield segment


def _read_transcript(name: str) -> str:
    if name == "-":
        return sys.stdin.read()
    try:
        return Path(name).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputFileError(f"{name}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputFileError(f"{name}: not UTF-8 text") from None


def cmd_stream(args: argparse.Namespace) -> int:
    segments = split_transcript(_read_transcript(args.input), args.by)
    if not segments:
        raise InputFileError(f"{args.input}: the transcript is empty")

    def emit(event: dict[str, Any]) -> None:
        print(json.dumps(event if args.full else stream_summary(event), ensure_ascii=False))
        sys.stdout.flush()  # updates are live: do not hold them in a pipe buffer

    if args.transport == "http":
        with TriageClient(args.url, **_client_options(args)) as client:
            for event in client.stream(
                _paced(segments, args.delay), include_chunks=args.chunks, acks=args.acks
            ):
                emit(event)
        return EXIT_OK

    async def run() -> None:
        async with AsyncTriageClient(args.url, **_client_options(args)) as client:
            async for event in client.stream(
                _paced_async(segments, args.delay), include_chunks=args.chunks, acks=args.acks
            ):
                emit(event)

    asyncio.run(run())
    return EXIT_OK


def cmd_info(args: argparse.Namespace) -> int:
    with TriageClient(args.url, **_client_options(args)) as client:
        _print_json(client.info())
    return EXIT_OK


def cmd_health(args: argparse.Namespace) -> int:
    with TriageClient(args.url, **_client_options(args)) as client:
        health = client.health()
    _print_json(health)
    return EXIT_OK if health.get("status") == "ok" else EXIT_FAILED


# --- arguments --------------------------------------------------------------------------


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


def _non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def _add_connection_options(parser: argparse.ArgumentParser, defaults: dict[str, Any]) -> None:
    """The options every command takes. A name missing from `defaults` gets SUPPRESS: given
    after the subcommand it overrides, absent it leaves the value from before the subcommand."""

    def default(name: str) -> Any:
        return defaults.get(name, argparse.SUPPRESS)

    parser.add_argument("--url", default=default("url"), help="gateway base URL")
    parser.add_argument("--api-key", default=default("api_key"), help="sent as a Bearer token")
    parser.add_argument(
        "--timeout",
        type=_positive_float,
        default=default("timeout"),
        help="per-request deadline in seconds (X-Request-Timeout)",
    )
    parser.add_argument(
        "--retries",
        type=_non_negative_int,
        default=default("retries"),
        help="retries after 429/503, honouring Retry-After",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="helpline-triage", description="Classify helpline case narratives via the gateway."
    )
    # Environment read here, not at import, so each call sees the current values.
    _add_connection_options(
        parser,
        {
            "url": os.environ.get("TRIAGE_URL", DEFAULT_URL),
            "api_key": os.environ.get("TRIAGE_API_KEY"),
            "timeout": None,
            "retries": 2,
        },
    )
    connection = argparse.ArgumentParser(add_help=False)
    _add_connection_options(connection, {})

    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    classify = commands.add_parser(
        "classify", parents=[connection], help="classify one narrative, print the JSON result"
    )
    # nargs="+": unquoted words are the narrative, not "unrecognized arguments" that argparse
    # would echo to stderr.
    classify.add_argument("text", nargs="+", help='the narrative; "-" reads it from stdin')
    classify.add_argument("--chunks", action="store_true", help="include per-chunk predictions")
    classify.set_defaults(handler=cmd_classify)

    batch = commands.add_parser(
        "classify-file",
        parents=[connection],
        help="classify every row of a JSONL or CSV file into a JSONL or CSV results file",
    )
    batch.add_argument("input", help="JSONL (`narrative`, optional `id`) or CSV with a header")
    batch.add_argument(
        "--out",
        required=True,
        help="results file: .jsonl/.ndjson/.json get one JSON line per input row, .csv one row "
        "of labels, confidences, escalated, needs_review and error per input row",
    )
    batch.add_argument("--format", choices=["auto", "jsonl", "csv"], default="auto")
    batch.add_argument("--batch-size", type=_positive_int, default=16)
    batch.add_argument("--concurrency", type=_positive_int, default=4)
    batch.add_argument("--chunks", action="store_true", help="include per-chunk predictions")
    batch.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    batch.set_defaults(handler=cmd_classify_file)

    stream = commands.add_parser(
        "stream",
        parents=[connection],
        help="stream a transcript file segment by segment, print updates as they come",
    )
    stream.add_argument("input", help='UTF-8 transcript file; "-" reads stdin')
    stream.add_argument("--by", choices=SPLITS, default="sentence", help="segment size")
    stream.add_argument(
        "--transport",
        choices=["ws", "http"],
        default="ws",
        help="WebSocket session, or the plain-HTTP session API",
    )
    stream.add_argument(
        "--delay", type=float, default=0.0, help="seconds between segments (live pacing)"
    )
    stream.add_argument("--chunks", action="store_true", help="include per-chunk predictions")
    stream.add_argument("--acks", action="store_true", help="also print segments without update")
    stream.add_argument("--full", action="store_true", help="print whole events, not summaries")
    stream.set_defaults(handler=cmd_stream)

    info = commands.add_parser("info", parents=[connection], help="model, chunking and limits")
    info.set_defaults(handler=cmd_info)
    health = commands.add_parser(
        "health", parents=[connection], help="model health; exit 1 when degraded"
    )
    health.set_defaults(handler=cmd_health)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the CLI; returns the exit code (argparse's own exits included)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return args.handler(args)
    except InputFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except TriageError as exc:
        _print_error(exc)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
