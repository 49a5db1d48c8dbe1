"""Retrieval metrics over qrels: recall@k, success@k, MRR@10 and nDCG@10, at document level.

A qrels file holds one JSON object a line, ``{"id", "query", "relevant": ["doc id", ...]}``, plus optional
string tags (``kind``, ``language``, ...) used to break the figures down. A ranking is the list of document
ids of a search's hits, best first: a chunk hit counts for its document, and a document that comes back
through several chunks counts once, at its best rank (so ten hits may rank fewer than ten documents).

recall@k is the share of a question's relevant documents in the top k; success@k is 1 when at least one
is (the two coincide for a question with one relevant document); MRR@10 is the reciprocal rank of the first
relevant document in the top 10 (0 when none); nDCG@10 uses binary gains and log2 discounts, normalised by
the ideal ranking of min(|relevant|, 10) relevant documents.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from souverain.errors import InvalidRequest

CUTOFFS = (1, 5, 10)
METRICS = ("recall@1", "recall@5", "recall@10", "success@5", "mrr@10", "ndcg@10")


@dataclass(frozen=True)
class Qrel:
    """One question and the documents that answer it."""

    id: str
    query: str
    relevant: frozenset[str]
    tags: dict[str, str] = field(default_factory=dict)


def parse_qrel(record: Any, line: int) -> Qrel:
    """A ``Qrel`` from one decoded JSON line; ``InvalidRequest`` naming the line when malformed."""
    if not isinstance(record, dict):
        raise InvalidRequest(f"qrels line {line}: expected a JSON object")
    query, relevant = record.get("query"), record.get("relevant")
    if not isinstance(query, str) or not query.strip():
        raise InvalidRequest(f'qrels line {line}: "query" must be a non-empty string')
    if not isinstance(relevant, list) or not relevant or not all(isinstance(d, str) for d in relevant):
        raise InvalidRequest(f'qrels line {line}: "relevant" must be a non-empty list of document ids')
    tags = {k: v for k, v in record.items() if k not in ("id", "query", "relevant") and isinstance(v, str)}
    return Qrel(str(record.get("id", line)), query, frozenset(relevant), tags)


def load_qrels(path: Path) -> list[Qrel]:
    """Every qrel of a JSON-lines file, blank lines skipped."""
    qrels = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                raise InvalidRequest(f"qrels line {number}: not valid JSON") from None
            qrels.append(parse_qrel(record, number))
    return qrels


def document_ranking(document_ids: Iterable[str]) -> list[str]:
    """Hits' document ids, best first, each document kept once at its best rank."""
    return list(dict.fromkeys(document_ids))


def recall_at(ranking: Sequence[str], relevant: frozenset[str], k: int) -> float:
    """Share of the relevant documents found in the top ``k``."""
    return len(relevant.intersection(ranking[:k])) / len(relevant)


def success_at(ranking: Sequence[str], relevant: frozenset[str], k: int) -> float:
    """1.0 when at least one relevant document is in the top ``k``, else 0.0."""
    return 1.0 if relevant.intersection(ranking[:k]) else 0.0


def reciprocal_rank(ranking: Sequence[str], relevant: frozenset[str], k: int = 10) -> float:
    """1 / rank of the first relevant document in the top ``k``; 0.0 when there is none."""
    for rank, document in enumerate(ranking[:k], start=1):
        if document in relevant:
            return 1.0 / rank
    return 0.0


def ndcg_at(ranking: Sequence[str], relevant: frozenset[str], k: int = 10) -> float:
    """Normalised discounted cumulative gain with binary relevance."""
    dcg = sum(1.0 / math.log2(rank + 1) for rank, d in enumerate(ranking[:k], start=1) if d in relevant)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(relevant), k) + 1))
    return dcg / ideal


def score_query(ranking: Sequence[str], relevant: frozenset[str]) -> dict[str, float]:
    """Every metric of one question, ``ranking`` already at document level."""
    scores = {f"recall@{k}": recall_at(ranking, relevant, k) for k in CUTOFFS}
    scores["success@5"] = success_at(ranking, relevant, 5)
    scores["mrr@10"] = reciprocal_rank(ranking, relevant, 10)
    scores["ndcg@10"] = ndcg_at(ranking, relevant, 10)
    return scores


@dataclass(frozen=True)
class QueryResult:
    """One question's ranking (document level) and scores."""

    qrel: Qrel
    ranking: list[str]
    scores: dict[str, float]


def evaluate(qrels: Sequence[Qrel], rankings: Mapping[str, Sequence[str]]) -> list[QueryResult]:
    """Score every qrel against its hits' document ids (a missing ranking scores zero everywhere)."""
    results = []
    for qrel in qrels:
        ranking = document_ranking(rankings.get(qrel.id, ()))
        results.append(QueryResult(qrel, ranking, score_query(ranking, qrel.relevant)))
    return results


def mean_scores(results: Sequence[QueryResult]) -> dict[str, float]:
    """The mean of each metric over ``results`` (and their count as ``queries``)."""
    means = {m: sum(r.scores[m] for r in results) / len(results) if results else 0.0 for m in METRICS}
    return {**means, "queries": float(len(results))}


def breakdown(results: Sequence[QueryResult], tag: str) -> dict[str, dict[str, float]]:
    """Mean scores per value of ``tag`` (questions without the tag are left out), values sorted."""
    groups: dict[str, list[QueryResult]] = {}
    for result in results:
        value = result.qrel.tags.get(tag)
        if value is not None:
            groups.setdefault(value, []).append(result)
    return {value: mean_scores(groups[value]) for value in sorted(groups)}
