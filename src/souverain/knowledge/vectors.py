"""Exact nearest-neighbour search over a collection's chunk vectors held in memory as one numpy matrix.

The embedded tier's vector index. sqlite-vec is not usable here: the Python build's ``sqlite3`` module
cannot load extensions (``enable_load_extension`` is missing), and a brute-force matrix product over a few
tens of thousands of 512-dimension rows takes milliseconds anyway. The matrix is loaded on a collection's
first search and reloaded when its revision (bumped by every ingest or deletion, in any process) changes.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection, text

from souverain.knowledge.collections import CollectionView


@dataclass(frozen=True)
class _Matrix:
    revision: int
    chunk_ids: np.ndarray  # int64, one per row
    document_pks: np.ndarray  # int64, one per row
    vectors: np.ndarray  # float32 (rows, dimensions), unit rows


class VectorCache:
    """One matrix per collection, loaded lazily, replaced when the collection's revision moves on."""

    def __init__(self, dimensions: int) -> None:
        self.dimensions = dimensions
        self._matrices: dict[int, _Matrix] = {}
        self._lock = threading.Lock()
        self.loads = 0  # how many times a matrix was read from the database (tests check invalidation)

    def matrix(self, connection: Connection, collection: CollectionView) -> _Matrix:
        """The collection's matrix at its current revision."""
        with self._lock:
            cached = self._matrices.get(collection.id)
            if cached is not None and cached.revision == collection.revision:
                return cached
            loaded = self._load(connection, collection)
            self._matrices[collection.id] = loaded
            self.loads += 1
            return loaded

    def _load(self, connection: Connection, collection: CollectionView) -> _Matrix:
        rows = connection.execute(
            text(
                "SELECT id, document_pk, embedding FROM knowledge_chunks "
                "WHERE collection_id = :collection ORDER BY id"
            ),
            {"collection": collection.id},
        ).all()
        blob = b"".join(row[2] for row in rows)
        vectors = np.frombuffer(blob, dtype="<f4").reshape(len(rows), self.dimensions)
        return _Matrix(
            revision=collection.revision,
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
    ) -> list[int]:
        """Chunk ids of the ``limit`` rows most similar to ``vector`` across ``collections``."""
        scored: list[tuple[float, int]] = []
        for collection in collections:
            matrix = self.matrix(connection, collection)
            scores = matrix.vectors @ vector
            ids = matrix.chunk_ids
            if allowed_documents is not None:
                keep = np.isin(matrix.document_pks, allowed_documents)
                scores, ids = scores[keep], ids[keep]
            top = _top(scores, limit)
            scored.extend(zip(scores[top].tolist(), ids[top].tolist(), strict=True))
        scored.sort(key=lambda pair: -pair[0])
        return [chunk_id for _, chunk_id in scored[:limit]]


def _top(scores: np.ndarray, limit: int) -> np.ndarray:
    """Indices of the ``limit`` highest scores, highest first (argpartition: no full sort)."""
    if len(scores) <= limit:
        return np.argsort(-scores, kind="stable")
    part = np.argpartition(-scores, limit)[:limit]
    return part[np.argsort(-scores[part], kind="stable")]
