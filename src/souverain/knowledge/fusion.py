"""Reciprocal rank fusion of ranked lists, and the per-document cap that keeps one page from filling the
results. Pure functions over identifiers, so they are tested without an index.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TypeVar

from souverain.errors import InvalidRequest

K = TypeVar("K", bound=Hashable)
G = TypeVar("G", bound=Hashable)

DEFAULT_K = 60  # the constant of Cormack, Clarke and Büttcher (SIGIR 2009)


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[K]], weights: Sequence[float] | None = None, k: int = DEFAULT_K
) -> list[tuple[K, float]]:
    """Items of all ``rankings`` scored by the sum of ``weight / (k + rank)`` (rank from 1), best first.

    Ties keep the order in which items were first seen, so the result is deterministic.
    """
    if weights is None:
        weights = [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise InvalidRequest("One weight per ranking is needed.", code="invalid_fusion_weights")
    if k < 0:
        raise InvalidRequest("The fusion constant k must not be negative.", code="invalid_fusion_k")
    scores: dict[K, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for position, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + position)
    order = {item: index for index, item in enumerate(scores)}
    return sorted(scores.items(), key=lambda pair: (-pair[1], order[pair[0]]))


def cap_per_group(
    ranked: Iterable[tuple[K, float]], group: Callable[[K], G], per_group: int, limit: int
) -> list[tuple[K, float]]:
    """The first ``limit`` items of ``ranked`` keeping at most ``per_group`` of any one group."""
    kept: list[tuple[K, float]] = []
    counts: dict[G, int] = {}
    for item, score in ranked:
        if len(kept) >= limit:
            break
        key = group(item)
        if counts.get(key, 0) >= per_group:
            continue
        counts[key] = counts.get(key, 0) + 1
        kept.append((item, score))
    return kept
