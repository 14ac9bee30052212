"""The aggregate cache keeps the datasets used last within its bytes, re-measuring a dataset
each time it is read (fast-forwarding grows it in place)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from adapters.aggregate_cache import BytesBoundedCache, estimated_bytes
from domain.dataset import Dataset

AT = datetime(2026, 12, 7, tzinfo=UTC)


def dataset() -> Dataset:
    return Dataset(
        id=uuid4(),
        name="d",
        description="",
        owner_id="o",
        owner_email="o@x",
        source_type="path",
        snapshot_support=True,
        source_dataset_id=None,
        at=AT,
    )


def test_the_least_recently_used_go_first_once_the_bytes_are_spent() -> None:
    small = estimated_bytes(dataset())
    cache = BytesBoundedCache(max_bytes=3 * small)
    ids: list[UUID] = [uuid4() for _ in range(4)]
    for key in ids[:3]:
        cache.put(key, dataset())
    cache.get(ids[0])  # now the most recently used
    cache.put(ids[3], dataset())
    assert cache.size_bytes <= 3 * small
    with pytest.raises(KeyError):
        cache.get(ids[1])
    for key in (ids[0], ids[2], ids[3]):
        assert isinstance(cache.get(key), Dataset)


def test_a_dataset_that_grew_is_measured_again_when_read() -> None:
    grown = dataset()
    cache = BytesBoundedCache(max_bytes=10**9)
    key = uuid4()
    cache.put(key, grown)
    before = cache.size_bytes
    for i in range(100):  # as fast-forwarding adds checkpoints in place
        grown.checkpoints[f"c{i}"] = {}  # type: ignore[typeddict-item]
    cache.get(key)
    assert cache.size_bytes == estimated_bytes(grown) > before


def test_one_dataset_larger_than_the_cache_still_stays_while_it_is_the_newest() -> None:
    cache = BytesBoundedCache(max_bytes=1)
    key = uuid4()
    cache.put(key, dataset())
    assert isinstance(cache.get(key), Dataset)
    assert len(cache) == 1
    assert cache.get(key, evict=True) is not None
    assert len(cache) == 0
    assert cache.size_bytes == 0
    assert cache  # still a cache when empty: the repository tests its truth
