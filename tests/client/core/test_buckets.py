import numpy as np
import pytest

from client.core.buckets import DEFAULT_BUCKETS, bucket_for, check_buckets, choose_bucket, pad_batch
from client.core.chunking import Chunk


def make_chunk(index: int, tokens: list[int]) -> Chunk:
    return Chunk(
        index=index,
        token_start=0,
        token_end=len(tokens),
        char_start=0,
        char_end=len(tokens),
        token_count=len(tokens),
        input_ids=np.array([101, *tokens, 102], dtype=np.int64),
    )


@pytest.mark.parametrize(
    ("length", "bucket"),
    [(1, 64), (64, 64), (65, 96), (129, 160), (256, 256), (257, 320), (449, 512), (512, 512)],
)
def test_smallest_fitting_bucket(length: int, bucket: int) -> None:
    assert choose_bucket(length, DEFAULT_BUCKETS) == bucket


def test_unsorted_buckets_and_no_fit() -> None:
    assert choose_bucket(100, (512, 128, 256)) == 128
    with pytest.raises(ValueError):
        choose_bucket(513, DEFAULT_BUCKETS)
    with pytest.raises(ValueError):
        choose_bucket(0, DEFAULT_BUCKETS)


def test_check_buckets() -> None:
    assert check_buckets([256, 64, 256, 128], 256) == (64, 128, 256)
    with pytest.raises(ValueError):
        check_buckets([64, 128], 256)
    with pytest.raises(ValueError):
        check_buckets([], 256)
    with pytest.raises(ValueError):
        check_buckets([0, 512], 256)


def test_pad_batch_pads_to_bucket_not_to_max() -> None:
    chunks = [make_chunk(0, [5, 6, 7]), make_chunk(1, list(range(1000, 1070)))]
    bucket = bucket_for(chunks, DEFAULT_BUCKETS)
    assert bucket == 96  # longest chunk: 72 ids
    ids, mask = pad_batch(chunks, bucket, pad_id=0)
    assert ids.shape == mask.shape == (2, 96)
    assert ids.dtype == mask.dtype == np.int64
    assert ids[0, :5].tolist() == [101, 5, 6, 7, 102]
    assert (ids[0, 5:] == 0).all()
    assert mask[0].tolist() == [1] * 5 + [0] * 91
    assert mask[1].sum() == 72 and ids[1, 71] == 102


def test_pad_id_is_used() -> None:
    ids, mask = pad_batch([make_chunk(0, [9])], 8, pad_id=7)
    assert ids[0].tolist() == [101, 9, 102, 7, 7, 7, 7, 7]
    assert mask[0].tolist() == [1, 1, 1, 0, 0, 0, 0, 0]


def test_chunk_longer_than_bucket_or_no_chunks() -> None:
    with pytest.raises(ValueError):
        pad_batch([make_chunk(0, list(range(10)))], 8, pad_id=0)
    with pytest.raises(ValueError):
        pad_batch([], 64, pad_id=0)
    with pytest.raises(ValueError):
        bucket_for([], DEFAULT_BUCKETS)
