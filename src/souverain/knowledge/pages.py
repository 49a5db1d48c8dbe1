"""Whole pages on the dense side: each document's centroid (the mean of its chunk vectors) and its opening
chunk, ranked against the query next to the ranking of pages by their best chunk.

Ranking a page by its best chunk favours a page one passage of which echoes the question over the page
about what the question asks. Two page-level views correct that: the centroid stands for everything the
page covers, and the opening chunk states its subject (service-public.fr pages open with a summary). Both
rankings join the reciprocal rank fusion with a weight of their own (``RetrievalConfig``); the measurements
that chose the weights are in ``docs/benchmarks.md`` (Knowledge retrieval).

The vectors come from the stored chunk vectors (the same column on both tiers), are computed once per
collection revision (``RevisionCache``, as the chunk matrices are) and searched exactly in memory: one row
per document, 10 MB for the 4,873 pages of the demo collection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection, text

from souverain.knowledge.collections import CollectionView
from souverain.knowledge.embedder import normalised
from souverain.knowledge.revisions import RevisionCache
from souverain.knowledge.vectors import best_rows, stored_vectors


@dataclass(frozen=True)
class PageRankings:
    """Document ids nearest to a query, nearest first: by centroid, and by opening chunk."""

    by_centroid: list[int]
    by_opening: list[int]


@dataclass(frozen=True)
class Pages:
    """A collection's page vectors, one row per document."""

    document_pks: np.ndarray  # int64, one per row
    centroids: np.ndarray  # float32 unit rows
    openings: np.ndarray  # float32 unit rows: each document's chunk of lowest ordinal


class PageVectors:
    """Per-collection page vectors, computed lazily, replaced when the collection's revision moves on."""

    def __init__(self, dimensions: int) -> None:
        self.dimensions = dimensions
        self._pages = RevisionCache(self._load)

    @property
    def loads(self) -> int:
        """How many times a collection's page vectors were computed."""
        return self._pages.loads

    def of(self, connection: Connection, collection: CollectionView) -> Pages:
        """The collection's page vectors at its current revision."""
        return self._pages.get(connection, collection)

    def rankings(
        self,
        connection: Connection,
        collections: Sequence[CollectionView],
        vector: np.ndarray,
        limit: int,
        allowed_documents: np.ndarray | None = None,
    ) -> PageRankings:
        """The ``limit`` documents nearest to ``vector`` by each view (among ``allowed_documents``)."""
        centroid: list[tuple[float, int]] = []
        opening: list[tuple[float, int]] = []
        for collection in collections:
            pages = self.of(connection, collection)
            allowed = None if allowed_documents is None else np.isin(pages.document_pks, allowed_documents)
            centroid.extend(_nearest(pages.document_pks, pages.centroids @ vector, limit, allowed))
            opening.extend(_nearest(pages.document_pks, pages.openings @ vector, limit, allowed))
        return PageRankings(_best(centroid, limit), _best(opening, limit))

    def _load(self, connection: Connection, collection: CollectionView) -> Pages:
        rows = connection.execute(
            text(
                "SELECT document_pk, embedding FROM knowledge_chunks "
                "WHERE collection_id = :collection ORDER BY document_pk, ordinal"
            ),
            {"collection": collection.id},
        ).all()
        if not rows:
            empty = np.zeros((0, self.dimensions), dtype=np.float32)
            return Pages(np.zeros(0, dtype=np.int64), empty, empty)
        pks = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
        vectors = stored_vectors([row[1] for row in rows], self.dimensions)
        documents, starts = np.unique(pks, return_index=True)  # rows are sorted: a document's rows are a run
        centroids = normalised(np.add.reduceat(vectors, starts, axis=0))
        return Pages(documents, centroids, vectors[starts].astype(np.float32, copy=True))


def _nearest(
    document_pks: np.ndarray, scores: np.ndarray, limit: int, allowed: np.ndarray | None
) -> list[tuple[float, int]]:
    top = best_rows(scores, limit, allowed)
    return list(zip(scores[top].tolist(), document_pks[top].tolist(), strict=True))


def _best(scored: list[tuple[float, int]], limit: int) -> list[int]:
    """Document ids by descending score (ties by id, so rankings are deterministic)."""
    return [pk for _, pk in sorted(scored, key=lambda pair: (-pair[0], pair[1]))[:limit]]
