"""The legacy serving path, reproduced only to be measured against (never deploy it).

What the service this project replaces does (shared/reference/production-model.md), kept:
FastAPI, PyTorch fp32 eager, one worker, each chunk run alone (batch size 1) and padded to
the model length (512), the chunks of a narrative one after another, the model call blocking
the event loop so one narrative is classified at a time.

Same weights as our stack: the production-format checkpoint loaded by
`helpline_model.checkpoint.load_checkpoint`. Same path: the project's classification pipeline
(`client.core.pipeline`: tokenizer, chunker, aggregation rule) over a PyTorch runner
(`helpline_model.torch_runner`), so both sides run the same number of chunks per narrative
and answers can be compared across the two (the aggregation costs well under a millisecond).

Left out, so this baseline is faster than the legacy service and our speed-ups are
understated: building a tokenizer per request, tokenizing twice, the quadratic chunker,
emptying the GPU cache after every call.

    python -m bench.baseline_server --checkpoint DIR --port 8124
"""

from __future__ import annotations

import argparse
import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import torch
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from client.core.errors import InvalidInput
from client.core.pipeline import ClassificationPipeline
from helpline_model.checkpoint import load_checkpoint
from helpline_model.torch_runner import TorchRunner

log = logging.getLogger("bench.baseline")


def _error(status: int, code: str, message: str) -> JSONResponse:
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    body = {
        "error": {
            "error_code": code,
            "message": message,
            "detail": None,
            "field": "narrative",
            "timestamp": now,
        },
        "status": "error",
        "request_id": None,
    }
    return JSONResponse(body, status_code=status)


class BaselineModel:
    """The checkpoint in PyTorch fp32 through the project's classification pipeline, set up
    as the legacy service runs: greedy chunks of the checkpoint's full length, each chunk run
    alone (batch size 1) padded to that length, one after another."""

    def __init__(self, checkpoint_dir: Path) -> None:
        checkpoint = load_checkpoint(checkpoint_dir)
        self.max_length = checkpoint.max_length
        self.pipeline = ClassificationPipeline.for_folder(
            checkpoint.folder,
            TorchRunner(checkpoint.model),
            max_length=self.max_length,
            balanced=False,  # the legacy chunker fills each chunk
            buckets=(self.max_length,),  # every chunk padded to the model length
            name="baseline",
            max_chunks_per_call=1,  # batch size 1
        )

    async def classify(self, narrative: str) -> dict:
        started = time.perf_counter()
        # The runner computes inline: the chunks run one after another, blocking the loop.
        (c,) = await self.pipeline.classify_many([narrative], "baseline")
        heads = c.result.heads
        return {
            "main_category": heads["main"].label,
            "sub_category": heads["sub"].label,
            "intervention": heads["intervention"].label,
            "priority": heads["priority"].label,
            "confidence_scores": {
                "main_category": heads["main"].confidence,
                "sub_category": heads["sub"].confidence,
                "intervention": heads["intervention"].confidence,
                "priority": heads["priority"].confidence,
            },
            "chunks_processed": len(c.chunks),
            "processing_time": time.perf_counter() - started,
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
        }


def create_app(checkpoint_dir: Path) -> FastAPI:
    model = BaselineModel(checkpoint_dir)
    app = FastAPI(title="baseline (the legacy serving path)")

    @app.get("/livez")
    async def livez() -> dict:
        return {"status": "ok"}

    @app.post("/classifier/classify")
    async def classify(request: Request):
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "INVALID_JSON", "body is not valid JSON")
        text = None
        if isinstance(body, dict):
            text = body.get("narrative") or body.get("text_transcript")
        if not isinstance(text, str) or not text.strip():
            return _error(400, "EMPTY_NARRATIVE", "narrative is empty")
        # Deliberately blocking inside `async def`, as the legacy service's single worker does: one
        # narrative at a time, its chunks one after another.
        try:
            return await model.classify(text)
        except InvalidInput as exc:
            return _error(400, "EMPTY_NARRATIVE", exc.message)

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The legacy serving path (benchmark baseline).")
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8124)
    parser.add_argument("--log-level", default="info")
    parser.add_argument(
        "--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper())
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    log.info("torch %s, %d intra-op threads", torch.__version__, torch.get_num_threads())
    uvicorn.run(
        create_app(args.checkpoint),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        workers=1,
    )


if __name__ == "__main__":
    main()
