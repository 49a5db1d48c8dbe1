"""The knowledge base as one service: collections, ingestion and hybrid search within a caller's scope.

``build_knowledge_service`` picks the index tier from the database's dialect (SQLite: FTS5 + numpy;
PostgreSQL: tsvector + pgvector). Every method is blocking (CPU and database work): the API calls them on
a worker thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from souverain.errors import InvalidRequest
from souverain.knowledge import collections as collections_
from souverain.knowledge.collections import CollectionView
from souverain.knowledge.embedder import Embedder, SentenceEncoder
from souverain.knowledge.index import Analyzer, Index
from souverain.knowledge.index_pg import PgIndex
from souverain.knowledge.index_sqlite import SqliteIndex
from souverain.knowledge.ingest import Chunker, IngestConfig, Ingestor, IngestReport, ProgressCallback
from souverain.knowledge.search import HybridRetriever, RetrievalConfig
from souverain.knowledge.types import Scope, SearchHit, SearchRequest, SourceDocument
from souverain.settings import Classification, KnowledgeSettings
from souverain.storage.database import Database


def owner_scope(tenant: str) -> Scope:
    """The scope of a tenant's operator (command line, administration): every collection of the tenant."""
    return Scope(tenant=tenant, use_case=None, classification=Classification.SECRET)


def index_for(database: Database, dimensions: int) -> Index:
    """The index tier the database's dialect supports."""
    if database.dialect == "sqlite":
        return SqliteIndex(dimensions)
    if database.dialect == "postgresql":
        return PgIndex()
    raise InvalidRequest(f"The knowledge base does not support {database.dialect!r} databases.")


class KnowledgeService:
    """Collections, ingestion and search over one database."""

    def __init__(
        self,
        database: Database,
        embedder: Embedder,
        analyzer: Analyzer,
        chunker: Chunker,
        retrieval: RetrievalConfig | None = None,
        ingestion: IngestConfig | None = None,
    ) -> None:
        self.database = database
        self.embedder = embedder
        self.index = index_for(database, embedder.dimensions)
        sessions = database.sessions
        self.retriever = HybridRetriever(sessions, self.index, embedder, analyzer, retrieval)
        self.ingestor = Ingestor(sessions, self.index, embedder, analyzer, chunker, ingestion)

    def create_collection(
        self,
        owner: Scope | str,
        name: str,
        classification: Classification,
        use_cases: Sequence[str] = (),
        index_titles: bool = True,
        registered_readers: bool = False,
    ) -> CollectionView:
        """A new collection of the owner's tenant (Conflict if the name is taken); with
        ``registered_readers``, every reader must be a use case registered for the tenant."""
        scope = owner if isinstance(owner, Scope) else owner_scope(owner)
        with self.database.sessions.begin() as session:
            return collections_.create(
                session, scope, name, classification, use_cases, index_titles, registered_readers
            )

    def unregistered_readers(self, tenant: str, use_cases: Sequence[str]) -> list[str]:
        """Those of ``use_cases`` that are not use cases registered for ``tenant``."""
        with self.database.sessions() as session:
            return collections_.unregistered(session, tenant, use_cases)

    def delete_collection(self, owner: Scope | str, name: str) -> None:
        """Delete a readable collection with its documents and chunks; NotFound otherwise."""
        scope = owner if isinstance(owner, Scope) else owner_scope(owner)
        with self.database.sessions.begin() as session:
            collections_.delete(session, scope, name)

    def collections(self, scope: Scope) -> list[CollectionView]:
        """The collections the scope may read."""
        with self.database.sessions() as session:
            return collections_.listed(session, scope)

    def collection(self, scope: Scope | str, name: str) -> CollectionView:
        """One collection the scope may read; NotFound otherwise."""
        scope = scope if isinstance(scope, Scope) else owner_scope(scope)
        with self.database.sessions() as session:
            return collections_.one(session, scope, name)

    def ingest(
        self,
        owner: Scope | str,
        collection: str,
        documents: Iterable[SourceDocument],
        progress: ProgressCallback | None = None,
        prune: bool = False,
    ) -> IngestReport:
        """Add, replace or skip ``documents`` (``prune``: delete absent ones) in a readable collection."""
        return self.ingestor.ingest(self.collection(owner, collection), documents, progress, prune)

    def delete_document(self, owner: Scope | str, collection: str, document_id: str) -> None:
        """Remove a document and its chunks; NotFound if either is missing or out of scope."""
        self.ingestor.delete(self.collection(owner, collection), document_id)

    def search(self, scope: Scope, request: SearchRequest) -> list[SearchHit]:
        """Hybrid search within the scope (the ``Retriever`` interface)."""
        return self.retriever.search(scope, request)


def retrieval_config(settings: KnowledgeSettings) -> RetrievalConfig:
    """The retrieval settings a deployment chooses (the rest are the tuned defaults)."""
    return RetrievalConfig(glossary_languages=tuple(settings.glossaries))


def build_knowledge_service(
    database: Database,
    embedder: Embedder | None = None,
    retrieval: RetrievalConfig | None = None,
    ingestion: IngestConfig | None = None,
) -> KnowledgeService:
    """The service with the bundled sentence encoder, the shared analyser and the structure-aware chunker."""
    from souverain.knowledge import analysis, chunking

    return KnowledgeService(
        database,
        embedder or SentenceEncoder(threads=2),
        analysis,
        chunking.chunk_document,
        retrieval,
        ingestion,
    )
