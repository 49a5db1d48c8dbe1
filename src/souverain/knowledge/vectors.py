"""Exact nearest-neighbour search over a collection's chunk vectors held in memory as one numpy matrix.

The embedded tier's vector index. sqlite-vec is not usable here: the Python build's ``sqlite3`` module
cannot load extensions (``enable_load_extension`` is missing), and a brute-force matrix product over a few
tens of thousands of 512-dimension rows takes milliseconds anyway. The matrix is loaded on a collection's
first search and reloaded when its revision (bumped by every ingest or deletion, in any process) changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection, text

from souverain.knowledge.collections import CollectionView
from souverain.knowledge.index import Scored
from souverain.knowledge.revisions import RevisionCache


@dataclass(frozen=True)
class _Matrix:
    chunk_ids: np.ndarray  # int64, one per row
    document_pks: np.ndarray  # int64, one per row
    vectors: np.ndarray  # float32 (rows, dimensions), unit rows


class VectorCache:
    """One matrix per collection, loaded lazily, replaced when the collection's revision moves on."""

    def __init__(self, dimensions: int) -> None:
        self.dimensions = dimensions
        self._matrices = RevisionCache(self._load)

    @property
    def loads(self) -> int:
        """How many times a matrix was read from the database."""
        return self._matrices.loads

    def matrix(self, connection: Connection, collection: CollectionView) -> _Matrix:
        """The collection's matrix at its current revision."""
        return self._matrices.get(connection, collection)

    def _load(self, connection: Connection, collection: CollectionView) -> _Matrix:
        rows = connection.execute(
            text(
                "SELECT id, document_pk, embedding FROM knowledge_chunks "
                "WHERE collection_id = :collection ORDER BY id"
            ),
            {"collection": collection.id},
        ).all()
        vectors = stored_vectors([row[2] for row in rows], self.dimensions)
        return _Matrix(
            chunk_ids=np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows)),
            document_pks=np.fromiter((row[1] for row in rows), dtype=np.int64, count=len(rows)),
            vectors=vectors.astype(np.float32, copy=False),
        )

    def nearest(
        self,
        connection: Connection,
        collections: Sequence[CollectionView],
        vector: np.ndarray,
        limit: int,
        allowed_documents: np.ndarray | None = None,
    ) -> list[Scored]:
        """The ``limit`` chunks most similar to ``vector`` across ``collections``."""
        scored: list[Scored] = []
        for collection in collections:
            matrix = self.matrix(connection, collection)
            scores = matrix.vectors @ vector  # one pass over the whole matrix: a few milliseconds
            allowed = None if allowed_documents is None else np.isin(matrix.document_pks, allowed_documents)
            top = best_rows(scores, limit, allowed)
            scored.extend(_scored(matrix, top, scores[top]))
        scored.sort(key=lambda item: -item.score)
        return scored[:limit]

    def within(
        self,
        connection: Connection,
        collections: Sequence[CollectionView],
        document_pks: Sequence[int],
        vector: np.ndarray,
        per_document: int,
    ) -> list[Scored]:
        """Up to ``per_document`` chunks of each of ``document_pks``, most similar first."""
        wanted = np.asarray(document_pks, dtype=np.int64)
        found: list[Scored] = []
        for collection in collections:
            matrix = self.matrix(connection, collection)
            rows = np.nonzero(np.isin(matrix.document_pks, wanted))[0]
            found.extend(_scored(matrix, rows, matrix.vectors[rows] @ vector))
        found.sort(key=lambda item: (item.document_pk, -item.score))
        kept: list[Scored] = []
        counts: dict[int, int] = {}
        for item in found:
            counts[item.document_pk] = counts.get(item.document_pk, 0) + 1
            if counts[item.document_pk] <= per_document:
                kept.append(item)
        return kept


def _scored(matrix: _Matrix, rows: np.ndarray, scores: np.ndarray) -> list[Scored]:
    return [
        Scored(int(chunk), int(document), float(score))
        for chunk, document, score in zip(
            matrix.chunk_ids[rows].tolist(), matrix.document_pks[rows].tolist(), scores.tolist(), strict=True
        )
    ]


def top_indices(scores: np.ndarray, limit: int) -> np.ndarray:
    """Indices of the ``limit`` highest scores, highest first (argpartition: no full sort)."""
    if len(scores) <= limit:
        return np.argsort(-scores, kind="stable")
    part = np.argpartition(-scores, limit)[:limit]
    return part[np.argsort(-scores[part], kind="stable")]


def best_rows(scores: np.ndarray, limit: int, allowed: np.ndarray | None = None) -> np.ndarray:
    """Indices of the ``limit`` highest scores, highest first, among the rows ``allowed`` (a mask) marks."""
    if allowed is not None:
        scores = np.where(allowed, scores, -np.inf)
    top = top_indices(scores, limit)
    kept: np.ndarray = top[np.isfinite(scores[top])]
    return kept


def stored_vectors(blobs: Sequence[bytes], dimensions: int) -> np.ndarray:
    """Vectors as stored (float32, little-endian), one row per blob."""
    return np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(blobs), dimensions)
