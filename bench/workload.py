"""The reference workload: N synthetic narratives with a production-like length mix.

Narratives come from the project's synthetic corpus (`corpus.generator.generate`, production
length profile: mean about 340 words, tail to about 1,300, many texts over one 512-token
chunk) with a fixed seed. Where that module is not available, a simple built-in generator
with the same length distribution stands in, so the benchmark never depends on training code.

Each item carries its token count and its chunk layout as the gateway computes it (the
project's tokenizer, chunker and bucket rule), so padding can be derived from the workload
alone and checked against what the servers report. The workload is written to and read from
JSONL. Narrative text is never printed or logged: only counts and distributions are.

    python -m bench.workload --n 300 --seed 5 --out bench/results/workload.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from client.core.buckets import DEFAULT_BUCKETS, choose_bucket
from client.core.chunking import Chunk
from client.core.pipeline import ChunkingPlan
from client.core.tokenization import NarrativeTokenizer

DEFAULT_N = 300
DEFAULT_SEED = 5

# The production profile of corpus.generator, repeated for the fallback generator.
_MEDIAN_WORDS = 320
_SIGMA = 0.55
_MIN_WORDS = 60
_MAX_WORDS = 1300


@dataclass(frozen=True)
class WorkItem:
    """One narrative and how the gateway will cut and pad it."""

    id: str
    narrative: str
    n_words: int
    n_tokens: int  # wordpieces, specials excluded
    chunk_lengths: tuple[int, ...]  # ids per chunk, [CLS]/[SEP] included
    bucket: int  # padded length of every chunk of this narrative on our stack
    # The legacy service: greedy chunks of the checkpoint's full length (empty: as ours).
    baseline_chunk_lengths: tuple[int, ...] = ()

    @property
    def baseline_chunks(self) -> tuple[int, ...]:
        return self.baseline_chunk_lengths or self.chunk_lengths

    @property
    def n_chunks(self) -> int:
        return len(self.chunk_lengths)


@dataclass(frozen=True)
class ChunkPlan:
    """The gateway's chunking settings (its defaults for a model of `max_length`)."""

    max_length: int = 512
    overlap: int = -1  # < 0: the gateway's default for max_length
    buckets: tuple[int, ...] = DEFAULT_BUCKETS
    balanced: bool = True  # the gateway's default chunking (TRIAGE_CHUNKING=balanced)

    def resolved(self) -> ChunkingPlan:
        """The plan the gateway derives from these settings (no bucket longer than the
        model length)."""
        return ChunkingPlan.for_model(
            self.max_length, overlap=self.overlap, buckets=self.buckets, balanced=self.balanced
        )


def resolve(plan: ChunkPlan | ChunkingPlan) -> ChunkingPlan:
    """Settings or an already resolved plan -> the plan."""
    return plan.resolved() if isinstance(plan, ChunkPlan) else plan


# --- narratives -----------------------------------------------------------------------------


_SUBJECTS = ("The child", "The caller", "The mother", "A neighbour", "The teacher", "The girl")
_VERBS = ("reported", "explained", "said", "mentioned", "told the counsellor", "described")
_OBJECTS = (
    "that the family had moved to a rented room near the market last year",
    "that school fees had not been paid since the second term",
    "that an older relative shouts at the children most evenings",
    "that the boy walks four kilometres to school every morning",
    "that there is often no food in the house at the end of the month",
    "that the counsellor should call back on Friday afternoon",
    "that the chief's office had been informed about the situation",
    "that she is worried about her younger siblings",
)


def _fallback_narratives(n: int, seed: int) -> list[dict]:
    """Plain case-note-like text with the corpus's log-normal length mix."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        target = int(min(_MAX_WORDS, max(_MIN_WORDS, rng.lognormvariate(0.0, _SIGMA) * 320)))
        sentences: list[str] = []
        words = 0
        while words < target:
            sentence = f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)}."
            sentences.append(sentence)
            words += len(sentence.split())
        text = " ".join(sentences)
        rows.append({"id": f"bench-{seed}-{i:06d}", "narrative": text})
    return rows


def generate_narratives(n: int, seed: int) -> tuple[list[dict], str]:
    """(rows with `id` and `narrative`, which generator made them)."""
    try:
        from corpus.generator import generate
    except ImportError:
        return _fallback_narratives(n, seed), "bench.workload built-in generator"
    rows = generate(n, seed, length_profile="production")
    return [{"id": r["id"], "narrative": r["narrative"]} for r in rows], "corpus.generator"


def narrative_chunks(
    texts: Sequence[str], tokenizer: NarrativeTokenizer, plan: ChunkPlan | ChunkingPlan
) -> list[tuple[int, list[Chunk]]]:
    """(tokens, chunks) per text, exactly as the gateway cuts it: one batched tokenization,
    then the classification pipeline's chunking plan."""
    resolved = resolve(plan)
    return [
        (len(tokens), resolved.chunk(tokens, text, tokenizer))
        for text, tokens in zip(texts, tokenizer.encode_batch(list(texts)), strict=True)
    ]


def layout(
    texts: Sequence[str], tokenizer: NarrativeTokenizer, plan: ChunkPlan | ChunkingPlan
) -> list[tuple[int, tuple[int, ...], int]]:
    """(tokens, chunk lengths, bucket) per text, exactly as the gateway cuts and pads it."""
    resolved = resolve(plan)
    result = []
    for n_tokens, chunks in narrative_chunks(texts, tokenizer, plan):
        lengths = tuple(c.length for c in chunks)
        bucket = resolved.bucket(chunks) if chunks else 0
        result.append((n_tokens, lengths, bucket))
    return result


def build_workload(
    n: int,
    seed: int,
    tokenizer_dir: Path,
    plan: ChunkPlan | ChunkingPlan | None = None,
    baseline_plan: ChunkPlan | ChunkingPlan | None = None,
) -> tuple[list[WorkItem], str]:
    """`plan`: how our gateway chunks; `baseline_plan`: how the legacy service does, when that
    differs (a model served at a shorter trained length than its position table)."""
    rows, source = generate_narratives(n, seed)
    tokenizer = NarrativeTokenizer(tokenizer_dir)
    texts = [r["narrative"] for r in rows]
    baseline = [()] * len(rows)
    if baseline_plan is not None:
        baseline = [lengths for _, lengths, _ in layout(texts, tokenizer, baseline_plan)]
    items = [
        WorkItem(
            id=row["id"],
            narrative=row["narrative"],
            n_words=len(row["narrative"].split()),
            n_tokens=n_tokens,
            chunk_lengths=lengths,
            bucket=bucket,
            baseline_chunk_lengths=base,
        )
        for row, (n_tokens, lengths, bucket), base in zip(
            rows, layout(texts, tokenizer, plan or ChunkPlan()), baseline, strict=True
        )
    ]
    return items, source


def write_workload(items: Sequence[WorkItem], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for item in items:
            handle.write(json.dumps(asdict(item), ensure_ascii=False) + "\n")


def read_workload(path: Path) -> list[WorkItem]:
    items = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                row["chunk_lengths"] = tuple(row["chunk_lengths"])
                row["baseline_chunk_lengths"] = tuple(row.get("baseline_chunk_lengths", ()))
                items.append(WorkItem(**row))
    return items


# --- what the workload looks like -----------------------------------------------------------


def _distribution(values: Sequence[int]) -> dict[str, float]:
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        return {"mean": 0.0, "min": 0.0, "p50": 0.0, "p90": 0.0, "p99": 0.0, "max": 0.0}
    return {
        "mean": round(float(array.mean()), 1),
        "min": float(array.min()),
        "p50": round(float(np.percentile(array, 50)), 1),
        "p90": round(float(np.percentile(array, 90)), 1),
        "p99": round(float(np.percentile(array, 99)), 1),
        "max": float(array.max()),
    }


def padding_ratio(items: Sequence[WorkItem], fixed_length: int | None = None) -> float:
    """Padded tokens sent to the model / real tokens ([CLS]/[SEP] count as real).

    `fixed_length=None`: every chunk padded to its narrative's bucket (our stack);
    otherwise the legacy service's chunks, every one padded to `fixed_length` (there: 512).
    """
    if fixed_length is not None:
        real = sum(sum(item.baseline_chunks) for item in items)
        padded = sum(len(item.baseline_chunks) * fixed_length for item in items)
    else:
        real = sum(sum(item.chunk_lengths) for item in items)
        padded = sum(item.n_chunks * item.bucket for item in items)
    return padded / real if real else 0.0


def padding_ratio_per_chunk(items: Sequence[WorkItem], buckets: Sequence[int]) -> float:
    """What-if: each chunk padded to its own bucket instead of its narrative's longest one."""
    real = sum(sum(item.chunk_lengths) for item in items)
    padded = sum(choose_bucket(n, buckets) for item in items for n in item.chunk_lengths)
    return padded / real if real else 0.0


def describe(
    items: Sequence[WorkItem], buckets: Sequence[int] = DEFAULT_BUCKETS
) -> dict[str, object]:
    """Length distribution, chunk counts, bucket mix and padding: no text."""
    chunk_counts = Counter(min(item.n_chunks, 5) for item in items)
    n = len(items) or 1
    return {
        "narratives": len(items),
        "words": _distribution([item.n_words for item in items]),
        "tokens": _distribution([item.n_tokens for item in items]),
        "chunks_total": sum(item.n_chunks for item in items),
        "chunks_per_narrative": round(sum(item.n_chunks for item in items) / n, 3),
        "share_by_chunks": {
            ("5+" if k == 5 else str(k)): round(chunk_counts[k] / n, 3)
            for k in sorted(chunk_counts)
        },
        "share_multi_chunk": round(sum(item.n_chunks > 1 for item in items) / n, 3),
        "share_by_bucket": {
            str(b): round(c / n, 3) for b, c in sorted(Counter(i.bucket for i in items).items())
        },
        "padding_ratio_bucketed": round(padding_ratio(items), 4),
        "padding_ratio_pad_to_512": round(padding_ratio(items, 512), 4),
        "padding_ratio_if_bucketed_per_chunk": round(padding_ratio_per_chunk(items, buckets), 4),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the reference workload as JSONL.")
    parser.add_argument("--n", type=int, default=DEFAULT_N)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=Path("bench/results/workload.jsonl"))
    parser.add_argument(
        "--tokenizer", type=Path, default=None, help="tokenizer folder (default: bundled)"
    )
    args = parser.parse_args(argv)
    if args.tokenizer is None:
        from export.tiny import bundled_tokenizer_dir

        args.tokenizer = bundled_tokenizer_dir()
    items, source = build_workload(args.n, args.seed, args.tokenizer)
    write_workload(items, args.out)
    print(json.dumps({"out": str(args.out), "source": source, **describe(items)}, indent=1))


if __name__ == "__main__":
    main()
