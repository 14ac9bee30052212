"""Diffs in users' words: added/removed/changed, the parts a change touched, pages, and a
diff of a large tree that reads only the nodes on the changed paths."""

from __future__ import annotations

from typing import Any

import pytest

from domain.content_diff import PART_ORDER, changed_facets, changed_parts, page_of
from domain.content_tree import Change, ContentTree, Record
from tests.unit.fakes import DictNodeStore


def media(i: int, **changes: Any) -> Record:
    record: Record = {
        "media_id": f"m{i:05d}",
        "kind": "image",
        "file_name": f"img{i:05d}.png",
        "blob": f"{i:064x}",
        "size": 100 + i,
        "width": 16,
        "height": 12,
        "metadata": {"camera": "a"},
        "tags": ["x"],
        "labels": [],
        "enrichment": {},
        "cluster_id": None,
    }
    record.update(changes)
    return record


# Naming the changed parts.


@pytest.mark.parametrize(
    ("key", "value", "part"),
    [
        ("file_name", "renamed.png", "file"),
        ("blob", "f" * 64, "file"),
        ("size", 1, "file"),
        ("width", 99, "file"),
        ("kind", "video", "file"),
        ("metadata", {"camera": "b"}, "metadata"),
        ("tags", ["x", "y"], "tags"),
        (
            "labels",
            [{"class_name": "cat", "bbox": None, "source": "manual", "source_media_id": None}],
            "labels",
        ),
        ("enrichment", {"CAPTION": {"model_id": "m1", "text": "a cat"}}, "enrichment"),
        ("cluster_id", "c7", "cluster"),
    ],
)
def test_a_change_to_one_key_names_exactly_its_part(key: str, value: Any, part: str) -> None:
    assert changed_parts(media(1), media(1, **{key: value})) == [part]


def test_several_changed_parts_are_named_once_each_in_a_fixed_order() -> None:
    new = media(1, cluster_id="c1", tags=[], metadata={}, file_name="b.png", size=5)
    assert changed_parts(media(1), new) == ["file", "metadata", "tags", "cluster"]
    assert list(PART_ORDER) == ["file", "metadata", "tags", "labels", "enrichment", "cluster"]


def test_an_unknown_key_is_named_for_itself_rather_than_hidden() -> None:
    assert changed_parts(media(1), media(1, rating=5)) == ["rating"]
    assert changed_parts(media(1, zeta=1, alpha=1), media(1, tags=["z"])) == [
        "tags",
        "alpha",
        "zeta",
    ]


def test_an_absent_key_equals_its_empty_value_and_equal_records_have_no_parts() -> None:
    old = media(1, tags=[], labels=[], cluster_id=None)
    new = {k: v for k, v in old.items() if k not in ("tags", "labels", "cluster_id")}
    assert changed_parts(old, new) == []
    assert changed_parts(media(1), media(1)) == []


def test_changed_facets_lists_each_differing_facet_with_both_sides() -> None:
    old = {"clustered": False, "models": {}, "schema": {"a": {"type": "str"}}}
    new = {"clustered": True, "models": {}, "schema": {"a": {"type": "str"}}, "extra": 1}
    assert changed_facets(old, new) == {
        "clustered": {"before": False, "after": True},
        "extra": {"before": None, "after": 1},
    }
    assert changed_facets(old, dict(old)) == {}


# Classifying and paging.


def changes() -> list[Change]:
    return [
        Change("a", None, media(1)),  # added
        Change("b", media(2), None),  # removed
        Change("c", media(3), media(3, tags=["y"])),  # changed
        Change("d", None, media(4)),  # added
        Change("e", media(5), media(5, cluster_id="c")),  # changed
    ]


def test_a_page_counts_every_change_and_lists_its_own_under_their_kind() -> None:
    first = page_of(changes(), page=1, page_size=3)
    assert first.counts == {"added": 2, "removed": 1, "changed": 2}
    assert first.total == 5
    assert [i["media_id"] for i in first.added] == ["a"]
    assert first.added[0] == {"media_id": "a", "kind": "image", "file_name": "img00001.png"}
    assert first.removed == [{"media_id": "b", "kind": "image", "file_name": "img00002.png"}]
    assert first.changed == [
        {"media_id": "c", "kind": "image", "file_name": "img00003.png", "parts": ["tags"]}
    ]


def test_pages_cut_the_change_stream_without_gaps_or_repeats() -> None:
    seen: list[str] = []
    for number in (1, 2, 3):
        page = page_of(changes(), page=number, page_size=2)
        assert page.counts == {"added": 2, "removed": 1, "changed": 2}
        listed = [*page.added, *page.removed, *page.changed]
        assert len(listed) == (2 if number < 3 else 1)
        seen += [item["media_id"] for item in listed]
    assert sorted(seen) == ["a", "b", "c", "d", "e"]
    beyond = page_of(changes(), page=4, page_size=2)
    assert (beyond.added, beyond.removed, beyond.changed, beyond.total) == ([], [], [], 5)


def test_a_page_number_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        page_of(changes(), page=0, page_size=2)


# Against a real tree: O(changes).


def test_diffing_two_versions_of_a_large_tree_reads_only_nodes_on_changed_paths() -> None:
    store = DictNodeStore()
    writer = ContentTree(store)
    items = {f"m{i:05d}": media(i) for i in range(20_000)}
    old_root = writer.build(items.items())
    edits: dict[str, Record | None] = {
        "m00010": None,
        "m05000": None,
        "m19999": None,  # removed
        "new-1": media(20_001),
        "new-2": media(20_002),
        "new-3": media(20_003),  # added
        "m00001": media(1, tags=["x", "edited"]),
        "m00002": media(2, metadata={"camera": "b"}),
        "m00003": media(3, cluster_id="c9"),
        "m00004": media(
            4,
            labels=[
                {
                    "class_name": "dog",
                    "bbox": [0, 0, 1, 1],
                    "source": "manual",
                    "source_media_id": None,
                }
            ],
        ),
    }
    new_root = writer.update(old_root, edits)

    probe = ContentTree(store)  # an empty node cache: every node it needs is a store read
    before = store.reads
    probe.get(old_root, "m00001")
    path_length = store.reads - before

    reader = ContentTree(store)
    before = store.reads
    page = page_of(reader.diff(old_root, new_root), page=1, page_size=100)
    reads = store.reads - before

    assert page.counts == {"added": 3, "removed": 3, "changed": 4}
    assert sorted(i["media_id"] for i in page.added) == ["new-1", "new-2", "new-3"]
    assert sorted(i["media_id"] for i in page.removed) == ["m00010", "m05000", "m19999"]
    assert {i["media_id"]: i["parts"] for i in page.changed} == {
        "m00001": ["tags"],
        "m00002": ["metadata"],
        "m00003": ["cluster"],
        "m00004": ["labels"],
    }
    # Each change reads at most one root-to-leaf path in each version.
    assert reads <= 2 * len(edits) * path_length
    whole = ContentTree(store)
    before = store.reads
    assert sum(1 for _ in whole.nodes(old_root)) > 20 * reads  # a full walk is far bigger
    assert store.reads - before > 20 * reads
