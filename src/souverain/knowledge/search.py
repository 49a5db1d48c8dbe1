"""Hybrid retrieval within a scope: full-text and dense candidates fused by reciprocal rank fusion, at most
a few chunks per document, metadata filters, and the tenant/use-case/classification partition.

The lexical side finds exact terms (procedure names, form numbers) in French and German; the dense side
finds paraphrases and questions asked in another language than the page's.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import Connection, bindparam, text
from sqlalchemy.orm import Session, sessionmaker

from souverain.errors import InvalidRequest
from souverain.knowledge import collections as collections_
from souverain.knowledge.collections import CollectionView
from souverain.knowledge.embedder import Embedder
from souverain.knowledge.fusion import DEFAULT_K, cap_per_group, reciprocal_rank_fusion
from souverain.knowledge.index import Analyzer, Index, checked_filters
from souverain.knowledge.types import Scope, SearchHit, SearchRequest

MAX_K = 100
MAX_QUERY_CHARS = 2000


@dataclass(frozen=True)
class RetrievalConfig:
    """How candidates are gathered and fused."""

    candidates: int = 50  # per side, before fusion
    rrf_k: int = DEFAULT_K
    lexical_weight: float = 1.0
    dense_weight: float = 1.0
    per_document: int = 2  # at most this many chunks of one document in the results


@dataclass(frozen=True)
class _Found:
    chunk_id: int
    document_pk: int
    hit: SearchHit


class HybridRetriever:
    """The ``Retriever`` of both tiers; the ``Index`` given decides which."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        index: Index,
        embedder: Embedder,
        analyzer: Analyzer,
        config: RetrievalConfig | None = None,
    ) -> None:
        self.sessions = sessions
        self.index = index
        self.embedder = embedder
        self.analyzer = analyzer
        self.config = config or RetrievalConfig()

    def search(self, scope: Scope, request: SearchRequest) -> list[SearchHit]:
        """The best ``request.k`` hits, best first; NotFound for a collection outside the scope."""
        query = _checked_query(request)
        filters = checked_filters(request.filters)
        terms = self.analyzer.analyze_query(query)
        vector = self.embedder.encode([query])[0]
        size = max(self.config.candidates, request.k)
        with self.sessions() as session:
            readable = collections_.readable(session, scope, request.collections)
            connection = session.connection()
            lexical = self.index.lexical(connection, readable, terms, filters, size)
            dense = self.index.dense(connection, readable, vector, filters, size)
            fused = reciprocal_rank_fusion(
                [lexical, dense], [self.config.lexical_weight, self.config.dense_weight], self.config.rrf_k
            )
            found = _hydrate(connection, [chunk_id for chunk_id, _ in fused], readable)
        capped = cap_per_group(
            fused, lambda chunk_id: found[chunk_id].document_pk, self.config.per_document, request.k
        )
        return [replace(found[chunk_id].hit, score=round(score, 6)) for chunk_id, score in capped]


def _checked_query(request: SearchRequest) -> str:
    query = request.query.strip()
    if not query:
        raise InvalidRequest("The query is empty.", param="query", code="empty_query")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidRequest(
            f"The query is longer than {MAX_QUERY_CHARS} characters.", param="query", code="query_too_long"
        )
    if not 1 <= request.k <= MAX_K:
        raise InvalidRequest(f"k must be between 1 and {MAX_K}.", param="k", code="invalid_k")
    return query


def _hydrate(
    connection: Connection, chunk_ids: Sequence[int], readable: Sequence[CollectionView]
) -> dict[int, _Found]:
    """The chunks with their document and collection, by chunk id (one query)."""
    if not chunk_ids:
        return {}
    names = {collection.id: collection.name for collection in readable}
    statement = text(
        "SELECT c.id, c.document_pk, c.collection_id, c.ordinal, c.section, c.text, "
        "d.document_id, d.title, d.url, d.metadata FROM knowledge_chunks c "
        "JOIN knowledge_documents d ON d.id = c.document_pk WHERE c.id IN :ids"
    ).bindparams(bindparam("ids", expanding=True))
    found = {}
    for row in connection.execute(statement, {"ids": list(chunk_ids)}).mappings():
        hit = SearchHit(
            collection=names[row["collection_id"]],
            document_id=row["document_id"],
            chunk_id=f"{row['document_id']}#{row['ordinal']}",
            score=0.0,
            title=row["title"],
            section=row["section"],
            text=row["text"],
            url=row["url"],
            metadata=_metadata(row["metadata"]),
        )
        found[row["id"]] = _Found(row["id"], row["document_pk"], hit)
    return found


def _metadata(value: object) -> dict[str, object]:
    # a raw SELECT returns the JSON column as text on SQLite and as a dict on PostgreSQL
    if isinstance(value, str):
        loaded = json.loads(value)
        return loaded if isinstance(loaded, dict) else {}
    return value if isinstance(value, dict) else {}
