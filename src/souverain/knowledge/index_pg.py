"""The production tier's index: PostgreSQL full text (``tsvector``, configuration ``simple`` over the
analysed terms, so stemming and accent folding are ours and identical to the SQLite tier) and pgvector.

Migration 0006 adds the pgvector column only where ``CREATE EXTENSION vector`` succeeded; on a server
without it this index refuses every operation with a 503 that says so, rather than half-working.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from sqlalchemy import Connection, text

from souverain.errors import BackendUnavailable
from souverain.knowledge.collections import CollectionView
from souverain.knowledge.index import ChunkRow, query_terms, vector_bytes

# title, section and body weigh as tsvector classes A, B and D; ts_rank takes the weights as {D, C, B, A}
_RANK_WEIGHTS = "{0.5, 0.6, 0.75, 1.0}"
_INSERT = text(
    "INSERT INTO knowledge_chunks "
    "(document_pk, collection_id, ordinal, section, text, embedding, tsv, embedding_vec) VALUES "
    "(:document_pk, :collection_id, :ordinal, :section, :text, :embedding, "
    "setweight(to_tsvector('simple', :title_terms), 'A') || "
    "setweight(to_tsvector('simple', :section_terms), 'B') || to_tsvector('simple', :body_terms), "
    "CAST(:vector AS vector))"
)


def filter_clause(filters: Mapping[str, str]) -> tuple[str, dict[str, object]]:
    """SQL conditions on the joined document ``d`` for exact metadata matches, and their parameters."""
    conditions: list[str] = []
    params: dict[str, object] = {}
    for position, (key, value) in enumerate(sorted(filters.items())):
        conditions.append(f"d.metadata ->> :fkey{position} = :fvalue{position}")
        params[f"fkey{position}"] = key
        params[f"fvalue{position}"] = value
    return "".join(f" AND {condition}" for condition in conditions), params


def vector_literal(vector: np.ndarray) -> str:
    """pgvector's text form of a vector."""
    return "[" + ",".join(f"{value:.7g}" for value in np.asarray(vector, dtype=np.float32).tolist()) + "]"


class PgIndex:
    """``tsvector`` + GIN for full text, pgvector + HNSW (inner product) for vectors."""

    def __init__(self, ef_search: int = 100) -> None:
        self.ef_search = ef_search
        self._ready: bool | None = None

    def check(self, connection: Connection) -> None:
        """Refuse (503) when the database has no pgvector column: the extension was missing at migration."""
        if self._ready is None:
            self._ready = (
                connection.execute(
                    text(
                        "SELECT 1 FROM information_schema.columns WHERE table_name = 'knowledge_chunks' "
                        "AND column_name = 'embedding_vec' AND table_schema = current_schema()"
                    )
                ).first()
                is not None
            )
        if not self._ready:
            raise BackendUnavailable(
                "The knowledge base needs the pgvector extension on PostgreSQL, and this database has none "
                "(CREATE EXTENSION vector failed when its tables were created). Install pgvector on the "
                "server, then downgrade to revision 0005 and upgrade again.",
                code="pgvector_missing",
            )

    def write(self, connection: Connection, rows: Sequence[ChunkRow]) -> None:
        """Insert the chunks with their weighted term vectors and embeddings, in one round of statements."""
        self.check(connection)
        if not rows:
            return
        connection.execute(
            _INSERT,
            [
                {
                    "document_pk": row.document_pk,
                    "collection_id": row.collection_id,
                    "ordinal": row.ordinal,
                    "section": row.section,
                    "text": row.text,
                    "embedding": vector_bytes(row.embedding),
                    "title_terms": row.title_terms,
                    "section_terms": row.section_terms,
                    "body_terms": row.body_terms,
                    "vector": vector_literal(row.embedding),
                }
                for row in rows
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
        """Chunk ids matching any term, by ``ts_rank`` with field weights."""
        self.check(connection)
        kept = query_terms(terms)
        if not kept or not collections:
            return []
        condition, params = filter_clause(filters)
        join = " JOIN knowledge_documents d ON d.id = c.document_pk" if filters else ""
        statement = text(
            # fixed fragments only; every value is a bound parameter
            f"SELECT c.id FROM knowledge_chunks c{join}, to_tsquery('simple', :query) q "  # noqa: S608
            f"WHERE c.tsv @@ q AND c.collection_id = ANY(:collections){condition} "
            f"ORDER BY ts_rank('{_RANK_WEIGHTS}', c.tsv, q) DESC, c.id LIMIT :limit"
        )
        # terms are word characters only (query_terms), quoted as tsquery lexemes
        params_all: dict[str, object] = {
            "query": " | ".join(f"'{term}'" for term in kept),
            "collections": [collection.id for collection in collections],
            "limit": limit,
            **params,
        }
        return list(connection.execute(statement, params_all).scalars())

    def dense(
        self,
        connection: Connection,
        collections: Sequence[CollectionView],
        vector: np.ndarray,
        filters: Mapping[str, str],
        limit: int,
    ) -> list[int]:
        """Chunk ids nearest to ``vector`` through the HNSW index, scanning on while filters reject rows."""
        self.check(connection)
        if not collections:
            return []
        connection.execute(text(f"SET LOCAL hnsw.ef_search = {max(int(self.ef_search), limit)}"))
        connection.execute(text("SET LOCAL hnsw.iterative_scan = strict_order"))
        condition, params = filter_clause(filters)
        join = " JOIN knowledge_documents d ON d.id = c.document_pk" if filters else ""
        statement = text(
            f"SELECT c.id FROM knowledge_chunks c{join} "  # noqa: S608 - fixed fragments, values bound
            f"WHERE c.collection_id = ANY(:collections){condition} "
            "ORDER BY c.embedding_vec <#> CAST(:vector AS vector) LIMIT :limit"
        )
        params_all: dict[str, object] = {
            "vector": vector_literal(vector),
            "collections": [collection.id for collection in collections],
            "limit": limit,
            **params,
        }
        return list(connection.execute(statement, params_all).scalars())
