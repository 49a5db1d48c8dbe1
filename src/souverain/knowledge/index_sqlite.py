"""The embedded tier's index: SQLite FTS5 with BM25 over each document's analysed terms, and exact vector
search over chunks in numpy (see ``souverain.knowledge.vectors`` for why not sqlite-vec).

FTS5's ``unicode61`` tokenizer with ``remove_diacritics 2`` folds whatever accents the analyser left, so
"démarche", "demarche" and "DÉMARCHES" meet; the analyser has already stemmed and dropped stop words.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
from sqlalchemy import Connection, Table, bindparam, insert, text

from souverain.knowledge.collections import CollectionView
from souverain.knowledge.index import ChunkRow, DocumentTerms, Scored, query_terms, vector_bytes
from souverain.knowledge.models import KnowledgeChunk
from souverain.knowledge.vectors import VectorCache

_CHUNKS = cast(Table, KnowledgeChunk.__table__)


@dataclass(frozen=True)
class FieldWeights:
    """BM25 weights of the title and body columns (a title match says more than a body one)."""

    title: float = 2.0
    body: float = 1.0


def filter_clause(filters: Mapping[str, str]) -> tuple[str, dict[str, object]]:
    """SQL conditions on the joined document ``d`` for exact metadata matches, and their parameters."""
    conditions: list[str] = []
    params: dict[str, object] = {}
    for position, (key, value) in enumerate(sorted(filters.items())):
        # keys are checked to be plain names (index.checked_filters), so the quoted path is safe
        conditions.append(f"json_extract(d.metadata, :fpath{position}) = :fvalue{position}")
        params[f"fpath{position}"] = f'$."{key}"'
        params[f"fvalue{position}"] = value
    return "".join(f" AND {condition}" for condition in conditions), params


class SqliteIndex:
    """FTS5 + numpy; ``vectors`` caches one matrix per collection."""

    def __init__(self, dimensions: int, weights: FieldWeights | None = None) -> None:
        self.vectors = VectorCache(dimensions)
        self.weights = weights or FieldWeights()

    def write(
        self, connection: Connection, documents: Sequence[DocumentTerms], chunks: Sequence[ChunkRow]
    ) -> None:
        """Insert the documents' terms (FTS rowid = document id), then the chunks."""
        if documents:
            connection.execute(
                text("INSERT INTO knowledge_fts (rowid, title, body) VALUES (:id, :title, :body)"),
                [{"id": d.document_pk, "title": d.title_terms, "body": d.body_terms} for d in documents],
            )
        if chunks:
            connection.execute(
                insert(_CHUNKS),
                [
                    {
                        "document_pk": row.document_pk,
                        "collection_id": row.collection_id,
                        "ordinal": row.ordinal,
                        "section": row.section,
                        "text": row.text,
                        "embedding": vector_bytes(row.embedding),
                    }
                    for row in chunks
                ],
            )

    def lexical(
        self,
        connection: Connection,
        collections: Sequence[CollectionView],
        terms: Sequence[str],
        filters: Mapping[str, str],
        limit: int,
    ) -> list[int]:
        """Ids of documents matching any term, by BM25 (FTS5's ``bm25`` is lower-is-better)."""
        kept = query_terms(terms)
        if not kept or not collections:
            return []
        condition, params = filter_clause(filters)
        statement = text(
            # fixed fragments only; every value is a bound parameter
            "SELECT d.id FROM knowledge_fts JOIN knowledge_documents d ON d.id = knowledge_fts.rowid "  # noqa: S608
            f"WHERE knowledge_fts MATCH :match AND d.collection_id IN :collections{condition} "
            "ORDER BY bm25(knowledge_fts, :wt, :wb) LIMIT :limit"
        ).bindparams(bindparam("collections", expanding=True))
        params.update(
            match=" OR ".join(f'"{term}"' for term in kept),
            collections=[collection.id for collection in collections],
            wt=self.weights.title,
            wb=self.weights.body,
            limit=limit,
        )
        return list(connection.execute(statement, params).scalars())

    def dense(
        self,
        connection: Connection,
        collections: Sequence[CollectionView],
        vector: np.ndarray,
        filters: Mapping[str, str],
        limit: int,
    ) -> list[Scored]:
        """The chunks nearest to ``vector`` by exact inner product (cosine: rows are unit length)."""
        allowed = self.matching_documents(connection, collections, filters) if filters else None
        return self.vectors.nearest(connection, collections, vector, limit, allowed)

    def matching_documents(
        self, connection: Connection, collections: Sequence[CollectionView], filters: Mapping[str, str]
    ) -> np.ndarray:
        """Ids of the collections' documents whose metadata match every filter."""
        condition, params = filter_clause(filters)
        statement = text(
            f"SELECT d.id FROM knowledge_documents d WHERE d.collection_id IN :collections{condition}"  # noqa: S608
        ).bindparams(bindparam("collections", expanding=True))
        params_all: dict[str, object] = {"collections": [c.id for c in collections], **params}
        return np.fromiter(connection.execute(statement, params_all).scalars(), dtype=np.int64)

    def within(
        self,
        connection: Connection,
        collections: Sequence[CollectionView],
        document_pks: Sequence[int],
        vector: np.ndarray,
        per_document: int,
    ) -> list[Scored]:
        """Up to ``per_document`` chunks of each document, nearest first, from the cached matrices."""
        return self.vectors.within(connection, collections, document_pks, vector, per_document)

    def vocabulary(self, connection: Connection, collection: CollectionView) -> Counter[str]:
        """Document frequencies of the collection's terms, counted from its documents' FTS columns."""
        rows = connection.execute(
            text(
                "SELECT f.title, f.body FROM knowledge_fts f JOIN knowledge_documents d ON d.id = f.rowid "
                "WHERE d.collection_id = :collection"
            ),
            {"collection": collection.id},
        ).all()
        counts: Counter[str] = Counter()
        for title, body in rows:  # each document counts a term once, whichever column holds it
            counts.update(set(f"{title or ''} {body or ''}".split()))
        return counts
