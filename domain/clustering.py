"""Near-duplicate clusters: what they are, and how they are named.

Two items are near-duplicates when the Hamming distance of their 64-bit perceptual hashes is
at most the threshold t (0 to 32 bits); a cluster is a connected component of that relation
(single linkage: a chain a~b~c puts a and c together even when they are further apart than
t), and an item in no group of two or more has no cluster. A cluster's id is uuid5 of its
smallest member key, so the same members keep their id whatever the order they come in.
Finding them at scale is ``application.operations.hash_clusters``.
"""

from __future__ import annotations

from uuid import uuid5

from domain.errors import Invalid
from domain.ids import NAMESPACE

HASH_BITS = 64
MAX_THRESHOLD = 32
DEFAULT_THRESHOLD = 8


def cluster_id(smallest_key: str) -> str:
    """A cluster's id: uuid5 of its smallest member key, so the same members keep it."""
    return str(uuid5(NAMESPACE, f"cluster:{smallest_key}"))


def check_threshold(threshold: int) -> None:
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int)
        or not 0 <= threshold <= MAX_THRESHOLD
    ):
        raise Invalid(
            f"The threshold must be a whole number of bits from 0 to "
            f"{MAX_THRESHOLD}, not {threshold!r}."
        )


def check_hash(key: str, value: int) -> None:
    if not 0 <= value < 1 << HASH_BITS:
        raise Invalid(f"The hash of {key!r} is not a 64-bit value.")
