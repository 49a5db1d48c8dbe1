"""Retrieval metrics on rankings computed by hand."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from souverain.errors import InvalidRequest
from souverain.evaluation.retrieval import (
    Qrel,
    breakdown,
    document_ranking,
    evaluate,
    load_qrels,
    mean_scores,
    ndcg_at,
    reciprocal_rank,
    score_query,
)


def test_a_document_seen_through_several_chunks_ranks_once_at_its_best_rank() -> None:
    assert document_ranking(["A", "B", "A", "C", "B", "D"]) == ["A", "B", "C", "D"]


def test_scores_of_one_query_with_two_relevant_documents() -> None:
    # Chunks A, B, A, C, D: documents A, B, C, D; C (relevant) at rank 3, X (relevant) never found.
    scores = score_query(document_ranking(["A", "B", "A", "C", "D"]), frozenset({"C", "X"}))
    assert scores["recall@1"] == 0.0
    assert scores["recall@5"] == 0.5
    assert scores["recall@10"] == 0.5
    assert scores["success@5"] == 1.0
    assert scores["mrr@10"] == pytest.approx(1 / 3)  # rank 4 if the repeated chunk of A counted
    ideal = 1 + 1 / math.log2(3)
    assert scores["ndcg@10"] == pytest.approx((1 / math.log2(4)) / ideal)


def test_a_relevant_document_beyond_the_cutoff_counts_for_nothing() -> None:
    ranking = [f"D{i}" for i in range(10)] + ["R"]
    assert reciprocal_rank(ranking, frozenset({"R"}), 10) == 0.0
    assert ndcg_at(ranking, frozenset({"R"}), 10) == 0.0
    assert reciprocal_rank(ranking, frozenset({"R"}), 11) == pytest.approx(1 / 11)


def test_perfect_ranking_scores_one_everywhere() -> None:
    scores = score_query(["A", "B"], frozenset({"A", "B"}))
    assert all(value == 1.0 for name, value in scores.items() if name != "recall@1")
    assert scores["recall@1"] == 0.5  # two relevant documents cannot both be in the top 1


def test_means_and_breakdown_by_tag() -> None:
    qrels = [
        Qrel("1", "q1", frozenset({"A"}), {"kind": "informal"}),
        Qrel("2", "q2", frozenset({"B"}), {"kind": "informal"}),
        Qrel("3", "q3", frozenset({"C"}), {"kind": "misspelt"}),
        Qrel("4", "q4", frozenset({"D"})),
    ]
    rankings = {"1": ["A"], "2": ["X", "B"], "3": ["X", "Y", "Z", "W", "V", "C"]}  # no ranking for 4
    results = evaluate(qrels, rankings)
    means = mean_scores(results)
    assert means["queries"] == 4
    assert means["mrr@10"] == pytest.approx((1 + 1 / 2 + 1 / 6 + 0) / 4)
    assert means["recall@5"] == pytest.approx(2 / 4)
    by_kind = breakdown(results, "kind")
    assert list(by_kind) == ["informal", "misspelt"]  # question 4 has no kind
    assert by_kind["informal"]["recall@1"] == 0.5
    assert by_kind["misspelt"]["recall@10"] == 1.0
    assert by_kind["misspelt"]["recall@5"] == 0.0


def test_load_qrels_keeps_string_tags(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(
        '{"id": "h1", "query": "pasport perdu", "relevant": ["F1", "F2"], "kind": "misspelt", "n": 3}\n\n'
        '{"id": "h2", "query": "carte grise", "relevant": ["F3"]}\n',
        encoding="utf-8",
    )
    first, second = load_qrels(path)
    assert first == Qrel("h1", "pasport perdu", frozenset({"F1", "F2"}), {"kind": "misspelt"})
    assert second.relevant == frozenset({"F3"})
    assert second.tags == {}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "not valid JSON"),
        ('["a"]', "expected a JSON object"),
        ('{"id": "1", "query": "", "relevant": ["F1"]}', '"query"'),
        ('{"id": "1", "query": "q", "relevant": []}', '"relevant"'),
        ('{"id": "1", "query": "q", "relevant": [1]}', '"relevant"'),
    ],
)
def test_malformed_qrels_name_their_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "0", "query": "q", "relevant": ["F1"]}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(InvalidRequest, match=f"line 2: .*{message}"):
        load_qrels(path)
