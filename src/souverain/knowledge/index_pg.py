"""The production tier's index: PostgreSQL full text (``tsvector``, configuration ``simple`` over the
analysed terms, so stemming and accent folding are ours and identical to the SQLite tier) and pgvector.

Migration 0006 adds the pgvector column only where ``CREATE EXTENSION vector`` succeeded; on a server
without it this index refuses every operation with a 503 that says so, rather than half-working.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np
from sqlalchemy import Connection, text

from souverain.errors import BackendUnavailable
from souverain.knowledge.collections import CollectionView
from souverain.knowledge.index import ChunkRow, DocumentTerms, Scored, query_terms, vector_bytes

# title and body weigh as tsvector classes A and D; ts_rank takes the weights as {D, C, B, A}
_RANK_WEIGHTS = "{0.5, 0.6, 0.75, 1.0}"
_TERMS = text(
    "UPDATE knowledge_documents SET tsv = setweight(to_tsvector('simple', :title), 'A') || "
    "to_tsvector('simple', :body) WHERE id = :id"
)
_CHUNK = text(
    "INSERT INTO knowledge_chunks "
    "(document_pk, collection_id, ordinal, section, text, embedding, embedding_vec) VALUES "
    "(:document_pk, :collection_id, :ordinal, :section, :text, :embedding, CAST(:vector AS vector))"
)
_WITHIN = text(
    "SELECT id, document_pk, score FROM (SELECT c.id, c.document_pk, "
    "-(c.embedding_vec <#> CAST(:vector AS vector)) AS score, row_number() OVER ("
    "PARTITION BY c.document_pk ORDER BY c.embedding_vec <#> CAST(:vector AS vector), c.id) AS position "
    "FROM knowledge_chunks c WHERE c.document_pk = ANY(:documents) AND c.collection_id = ANY(:collections)"
    ") ranked WHERE position <= :per_document ORDER BY document_pk, score DESC"
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

    def write(
        self, connection: Connection, documents: Sequence[DocumentTerms], chunks: Sequence[ChunkRow]
    ) -> None:
        """Set the documents' weighted term vectors and insert the chunks with their embeddings."""
        self.check(connection)
        if documents:
            connection.execute(
                _TERMS,
                [{"id": d.document_pk, "title": d.title_terms, "body": d.body_terms} for d in documents],
            )
        if chunks:
            connection.execute(
                _CHUNK,
                [
                    {
                        "document_pk": row.document_pk,
                        "collection_id": row.collection_id,
                        "ordinal": row.ordinal,
                        "section": row.section,
                        "text": row.text,
                        "embedding": vector_bytes(row.embedding),
                        "vector": vector_literal(row.embedding),
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
        """Ids of documents matching any term, by ``ts_rank`` with field weights."""
        self.check(connection)
        kept = query_terms(terms)
        if not kept or not collections:
            return []
        condition, params = filter_clause(filters)
        statement = text(
            # fixed fragments only; every value is a bound parameter
            "SELECT d.id FROM knowledge_documents d, to_tsquery('simple', :query) q "  # noqa: S608
            f"WHERE d.tsv @@ q AND d.collection_id = ANY(:collections){condition} "
            f"ORDER BY ts_rank('{_RANK_WEIGHTS}', d.tsv, q) DESC, d.id LIMIT :limit"
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
    ) -> list[Scored]:
        """The chunks nearest to ``vector`` through the HNSW index, scanning on while filters reject rows."""
        self.check(connection)
        if not collections:
            return []
        connection.execute(text(f"SET LOCAL hnsw.ef_search = {max(int(self.ef_search), limit)}"))
        connection.execute(text("SET LOCAL hnsw.iterative_scan = strict_order"))
        condition, params = filter_clause(filters)
        join = " JOIN knowledge_documents d ON d.id = c.document_pk" if filters else ""
        statement = text(
            "SELECT c.id, c.document_pk, -(c.embedding_vec <#> CAST(:vector AS vector)) "  # noqa: S608 - bound
            f"FROM knowledge_chunks c{join} "
            f"WHERE c.collection_id = ANY(:collections){condition} "
            "ORDER BY c.embedding_vec <#> CAST(:vector AS vector) LIMIT :limit"
        )
        params_all: dict[str, object] = {
            "vector": vector_literal(vector),
            "collections": [collection.id for collection in collections],
            "limit": limit,
            **params,
        }
        return [Scored(row[0], row[1], float(row[2])) for row in connection.execute(statement, params_all)]

    def within(
        self,
        connection: Connection,
        collections: Sequence[CollectionView],
        document_pks: Sequence[int],
        vector: np.ndarray,
        per_document: int,
    ) -> list[Scored]:
        """Up to ``per_document`` chunks of each document, nearest first (exact: a handful of documents)."""
        self.check(connection)
        if not document_pks or not collections:
            return []
        params = {
            "vector": vector_literal(vector),
            "documents": list(document_pks),
            "collections": [collection.id for collection in collections],
            "per_document": per_document,
        }
        return [Scored(row[0], row[1], float(row[2])) for row in connection.execute(_WITHIN, params)]

    def matching_documents(
        self, connection: Connection, collections: Sequence[CollectionView], filters: Mapping[str, str]
    ) -> np.ndarray:
        """Ids of the collections' documents whose metadata match every filter."""
        self.check(connection)
        condition, params = filter_clause(filters)
        statement = text(
            f"SELECT d.id FROM knowledge_documents d WHERE d.collection_id = ANY(:collections){condition}"  # noqa: S608
        )
        params_all: dict[str, object] = {"collections": [c.id for c in collections], **params}
        return np.fromiter(connection.execute(statement, params_all).scalars(), dtype=np.int64)

    def vocabulary(self, connection: Connection, collection: CollectionView) -> Counter[str]:
        """Document frequencies of the collection's terms, from PostgreSQL's own ``ts_stat``."""
        # ts_stat takes its query as text: the collection id is an integer, never client text
        inner = f"SELECT tsv FROM knowledge_documents WHERE collection_id = {int(collection.id)}"  # noqa: S608
        rows = connection.execute(text("SELECT word, ndoc FROM ts_stat(:inner)"), {"inner": inner}).all()
        return Counter({str(word): int(ndoc) for word, ndoc in rows})
