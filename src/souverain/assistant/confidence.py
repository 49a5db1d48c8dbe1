"""Retrieval confidence: whether the hits are good enough to answer from, and which of them become sources.

Scores come from the retriever (fused ranks, or a re-ranker's relevance), so the thresholds are parameters
chosen per deployment and validated with ``souverain eval``; below them the assistant does not ask the
model at all, it says plainly that the pages do not answer and offers a person.
"""

from __future__ import annotations

from collections.abc import Sequence

from souverain.knowledge.types import SearchHit


class RetrievalConfidence:
    """Thresholds on hit scores: ``min_top_score`` for the best hit, ``min_score`` for any source kept."""

    def __init__(self, min_top_score: float = 0.0, min_score: float = 0.0, min_hits: int = 1) -> None:
        self.min_top_score = min_top_score
        self.min_score = min_score
        self.min_hits = max(1, min_hits)  # no hit is always too few

    def sources(self, hits: Sequence[SearchHit], limit: int) -> list[SearchHit]:
        """The hits worth showing the model: best first, at most ``limit``, each above ``min_score``."""
        return [hit for hit in hits if hit.score >= self.min_score][:limit]

    def is_low(self, sources: Sequence[SearchHit]) -> bool:
        """Whether these sources are too few or too weak to answer from."""
        return len(sources) < self.min_hits or max(hit.score for hit in sources) < self.min_top_score
