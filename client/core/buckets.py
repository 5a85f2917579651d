"""Pad one narrative's chunks into a single batch of a bucketed length.

Triton's dynamic batcher only merges requests of equal shape, and padding every
chunk to 512 wastes most of the compute on short narratives. So each narrative
becomes one batch padded to the smallest configured bucket that holds its
longest chunk: few distinct shapes, little padding.

The default buckets come from the reference workload (bench/workload.py, production
length mix) with balanced chunks: steps of 32 up to 256 and of 64 above keep each
bucket within about 12-25% of the next, which gives a padding ratio of 1.09 at model
lengths 256 and 512 (1.17-1.22 with 64/128/256/384/512). Eleven shapes are still few
enough for the dynamic batcher to merge requests, and the production config holds one
TensorRT profile per bucket.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from client.core.chunking import Chunk

DEFAULT_BUCKETS: tuple[int, ...] = (64, 96, 128, 160, 192, 224, 256, 320, 384, 448, 512)


def check_buckets(buckets: Sequence[int], max_length: int) -> tuple[int, ...]:
    """Sorted, de-duplicated buckets; the largest must hold a `max_length` chunk."""
    if not buckets:
        raise ValueError("at least one bucket is required")
    if any(not isinstance(b, int) or b < 1 for b in buckets):
        raise ValueError(f"buckets must be positive integers, got {list(buckets)}")
    ordered = tuple(sorted(set(buckets)))
    if ordered[-1] < max_length:
        raise ValueError(f"largest bucket {ordered[-1]} is smaller than max_length {max_length}")
    return ordered


def choose_bucket(length: int, buckets: Sequence[int]) -> int:
    """Smallest bucket >= `length`."""
    if length < 1:
        raise ValueError(f"length must be positive, got {length}")
    fitting = [b for b in buckets if b >= length]
    if not fitting:
        raise ValueError(f"no bucket holds {length} tokens (buckets: {sorted(buckets)})")
    return min(fitting)


def bucket_for(chunks: Sequence[Chunk], buckets: Sequence[int]) -> int:
    """The bucket of a narrative: the one that fits its longest chunk."""
    if not chunks:
        raise ValueError("no chunks to batch")
    return choose_bucket(max(chunk.length for chunk in chunks), buckets)


def pad_batch(chunks: Sequence[Chunk], bucket: int, pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """(input_ids, attention_mask), both int64 of shape (len(chunks), bucket), right-padded."""
    if not chunks:
        raise ValueError("no chunks to batch")
    input_ids = np.full((len(chunks), bucket), pad_id, dtype=np.int64)
    attention_mask = np.zeros((len(chunks), bucket), dtype=np.int64)
    for row, chunk in enumerate(chunks):
        if chunk.length > bucket:
            raise ValueError(f"chunk {chunk.index} has {chunk.length} ids, bucket is {bucket}")
        input_ids[row, : chunk.length] = chunk.input_ids
        attention_mask[row, : chunk.length] = 1
    return input_ids, attention_mask
