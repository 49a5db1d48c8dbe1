"""Reciprocal rank fusion and the per-document cap, on plain identifiers."""

from __future__ import annotations

import pytest

from souverain.errors import InvalidRequest
from souverain.knowledge.fusion import cap_per_group, reciprocal_rank_fusion


def test_scores_are_sums_of_reciprocal_ranks() -> None:
    fused = dict(reciprocal_rank_fusion([["a", "b", "c"], ["b", "d"]], k=60))
    assert fused["a"] == pytest.approx(1 / 61)
    assert fused["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert fused["c"] == pytest.approx(1 / 63)
    assert fused["d"] == pytest.approx(1 / 62)


def test_an_item_found_by_both_sides_beats_one_found_by_one() -> None:
    fused = reciprocal_rank_fusion([["a", "b"], ["b", "a"], ["b"]])
    assert [item for item, _ in fused] == ["b", "a"]


def test_weights_tilt_the_fusion() -> None:
    lexical, dense = ["x", "y"], ["y", "x"]
    assert reciprocal_rank_fusion([lexical, dense], [2.0, 1.0])[0][0] == "x"
    assert reciprocal_rank_fusion([lexical, dense], [1.0, 2.0])[0][0] == "y"


def test_small_k_rewards_the_top_ranks_more() -> None:
    # "a" is first on one side only; "b" is second on both: a small k favours "a", a large one "b"
    rankings = [["a", "b"], ["c", "b", "d", "a"]]
    assert reciprocal_rank_fusion(rankings, k=0)[0][0] == "a"
    assert reciprocal_rank_fusion(rankings, k=60)[0][0] == "b"


def test_ties_keep_first_seen_order() -> None:
    fused = reciprocal_rank_fusion([["p", "q"], ["q", "p"]])
    assert [item for item, _ in fused] == ["p", "q"]
    assert fused[0][1] == pytest.approx(fused[1][1])


def test_empty_rankings_fuse_to_nothing() -> None:
    assert reciprocal_rank_fusion([[], []]) == []


def test_one_weight_per_ranking() -> None:
    with pytest.raises(InvalidRequest):
        reciprocal_rank_fusion([["a"], ["b"]], [1.0])
    with pytest.raises(InvalidRequest):
        reciprocal_rank_fusion([["a"]], k=-1)


def test_cap_keeps_at_most_n_per_group_and_the_limit() -> None:
    ranked = [
        (f"doc{d}#{c}", 1.0 - 0.01 * i)
        for i, (d, c) in enumerate([(1, 0), (1, 1), (1, 2), (2, 0), (1, 3), (3, 0)])
    ]
    kept = cap_per_group(ranked, lambda chunk: chunk.split("#")[0], per_group=2, limit=4)
    assert [chunk for chunk, _ in kept] == ["doc1#0", "doc1#1", "doc2#0", "doc3#0"]
    one = cap_per_group(ranked, lambda chunk: chunk.split("#")[0], per_group=1, limit=10)
    assert [chunk for chunk, _ in one] == ["doc1#0", "doc2#0", "doc3#0"]
