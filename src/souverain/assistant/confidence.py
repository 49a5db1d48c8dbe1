"""Retrieval confidence: whether the hits are good enough to answer from, and which of them become sources.

Scores come from the retriever (fused ranks, or a re-ranker's relevance), so the thresholds are parameters
chosen per deployment and validated with ``souverain eval``; below them the assistant does not ask the
model at all, it says plainly that the pages do not answer and offers a person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from souverain.knowledge.types import SearchHit

PASSAGE_GAP = "\n…\n"


def by_document(hits: Sequence[SearchHit]) -> list[SearchHit]:
    """One source per page: a page's later passages are appended to its first (best) one.

    A page found through two passages would otherwise take two numbered sources, two headers in the prompt
    and two citations of the same link; as one source, the prompt's excerpt picks its best sentences.
    """
    merged: dict[tuple[str, str], SearchHit] = {}
    for hit in hits:
        key = (hit.collection, hit.document_id)
        first = merged.get(key)
        if first is None:
            merged[key] = hit
            continue
        heading = f"{hit.section}\n" if hit.section and hit.section != first.section else ""
        merged[key] = replace(first, text=f"{first.text}{PASSAGE_GAP}{heading}{hit.text}")
    return list(merged.values())


class RetrievalConfidence:
    """Thresholds on hit scores: ``min_top_score`` for the best hit, ``min_score`` for any source kept."""

    def __init__(self, min_top_score: float = 0.0, min_score: float = 0.0, min_hits: int = 1) -> None:
        self.min_top_score = min_top_score
        self.min_score = min_score
        self.min_hits = max(1, min_hits)  # no hit is always too few

    def sources(self, hits: Sequence[SearchHit], limit: int) -> list[SearchHit]:
        """The pages worth showing the model: best first, at most ``limit``, each above ``min_score``, each
        page once with its passages together."""
        return by_document([hit for hit in hits if hit.score >= self.min_score])[:limit]

    def is_low(self, sources: Sequence[SearchHit]) -> bool:
        """Whether these sources are too few or too weak to answer from."""
        return len(sources) < self.min_hits or max(hit.score for hit in sources) < self.min_top_score
