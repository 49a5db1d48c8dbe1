"""Ingestion into a collection: chunk, analyse, embed in batches, write; idempotent by content hash.

An unchanged document (same hash) costs a dictionary lookup; a changed one is replaced whole (its old
chunks go by cascade); with ``prune`` the documents absent from the new source are deleted. An id met
again in the same run is skipped and counted (the first one is kept, so that a re-run finds the same
document and embeds nothing); a document with no text is not stored (one that had text before is
deleted), and counted, since it could never be found. Each batch is written in one transaction that also
bumps the collection's revision, so searchers never see half a document and drop their cached vectors.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import cast

import numpy as np
from sqlalchemy import Table, delete, insert, select
from sqlalchemy.orm import Session, sessionmaker

from souverain.errors import NotFound
from souverain.knowledge.collections import CollectionView, bump_revision
from souverain.knowledge.embedder import Embedder
from souverain.knowledge.index import Analyzer, ChunkRow, DocumentTerms, Index
from souverain.knowledge.models import KnowledgeDocument
from souverain.knowledge.types import Chunk, SourceDocument
from souverain.storage.orm import utcnow

ProgressCallback = Callable[[int], object]  # called with the number of documents just processed
Chunker = Callable[[SourceDocument, int], list[Chunk]]
_DOCUMENTS = cast(Table, KnowledgeDocument.__table__)


@dataclass(frozen=True)
class IngestConfig:
    """Chunk size, what the dense side reads, and how many documents go in one batch."""

    max_chars: int = 1200  # chunk size handed to the chunker
    dense_chars: int = 1000  # the encoder reads at most this much of title + section + text
    batch_documents: int = 32


@dataclass
class IngestReport:
    """What an ingestion did."""

    collection: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    chunks: int = 0  # chunks written (those of added and updated documents)
    duplicates: int = 0  # documents skipped because an earlier one of the run had the same id
    empty: int = 0  # documents skipped because they hold no text
    examples: dict[str, list[str]] = field(default_factory=dict)  # a few ids of duplicates and empties
    seconds: float = 0.0

    def example(self, kind: str, document_id: str, keep: int = 5) -> None:
        """Remember up to ``keep`` document ids of a kind of skipped document, to name them."""
        examples = self.examples.setdefault(kind, [])
        if len(examples) < keep:
            examples.append(document_id)


def dense_text(chunk: Chunk, with_title: bool, limit: int) -> str:
    """What the encoder reads for a chunk: its title (if the collection indexes titles), section, text."""
    parts = [chunk.title if with_title else "", chunk.section, chunk.text]
    return "\n".join(part for part in parts if part)[:limit]


class Ingestor:
    """Writes documents into a collection through an ``Index``."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        index: Index,
        embedder: Embedder,
        analyzer: Analyzer,
        chunker: Chunker,
        config: IngestConfig | None = None,
    ) -> None:
        self.sessions = sessions
        self.index = index
        self.embedder = embedder
        self.analyzer = analyzer
        self.chunker = chunker
        self.config = config or IngestConfig()

    def ingest(
        self,
        collection: CollectionView,
        documents: Iterable[SourceDocument],
        progress: ProgressCallback | None = None,
        prune: bool = False,
    ) -> IngestReport:
        """Add new documents, replace changed ones, skip unchanged ones; ``prune`` deletes absent ones."""
        began = time.perf_counter()
        report = IngestReport(collection=collection.name)
        existing = self._hashes(collection)
        known = set(existing)
        seen: set[str] = set()
        for batch in _batches(documents, self.config.batch_documents):
            changed = []
            for document in batch:
                if document.id in seen:
                    report.duplicates += 1
                    report.example("duplicates", document.id)
                    continue
                seen.add(document.id)
                digest = document.content_hash()
                if existing.get(document.id) == digest:
                    report.unchanged += 1
                else:
                    changed.append((document, digest))
            self._write(collection, changed, existing, known, report)
            if progress is not None:
                progress(len(batch))
        if prune:
            report.deleted += self._prune(collection, set(existing) - seen)
        report.seconds = round(time.perf_counter() - began, 3)
        return report

    def delete(self, collection: CollectionView, document_id: str) -> None:
        """Remove one document and its chunks; NotFound if the collection has no such document."""
        if self._prune(collection, {document_id}) == 0:
            raise NotFound(
                f"The collection {collection.name!r} has no document {document_id!r}.",
                param="document_id",
                code="document_not_found",
            )

    def _hashes(self, collection: CollectionView) -> dict[str, str]:
        with self.sessions() as session:
            rows = session.execute(
                select(KnowledgeDocument.document_id, KnowledgeDocument.content_hash).where(
                    KnowledgeDocument.collection_id == collection.id
                )
            )
            return {row[0]: row[1] for row in rows}

    def _write(
        self,
        collection: CollectionView,
        changed: Sequence[tuple[SourceDocument, str]],
        existing: dict[str, str],
        known: set[str],
        report: IngestReport,
    ) -> None:
        if not changed:
            return
        chunked, emptied = [], []
        for document, digest in changed:
            chunks = self.chunker(document, self.config.max_chars)
            if chunks:
                chunked.append((document, digest, chunks))
                continue
            report.empty += 1
            report.example("empty", document.id)
            if existing.pop(document.id, None) is not None:
                emptied.append(document.id)
        if not chunked and not emptied:
            return
        texts = [
            dense_text(chunk, collection.index_titles, self.config.dense_chars)
            for _, _, chunks in chunked
            for chunk in chunks
        ]
        vectors = iter(self.embedder.encode(texts))
        with self.sessions.begin() as session:
            if emptied:  # a document that lost all its text: what it said before must not stay findable
                report.deleted += _delete_documents(session, collection, emptied)
            terms: list[DocumentTerms] = []
            rows: list[ChunkRow] = []
            for document, digest, chunks in chunked:
                if document.id in existing:
                    _delete_documents(session, collection, [document.id])
                document_pk = _insert_document(session, collection, document, digest)
                terms.append(self._terms(collection, document, document_pk, chunks))
                rows.extend(_rows(collection, document_pk, chunks, vectors))
                existing[document.id] = digest
                if document.id in known:
                    report.updated += 1
                else:
                    report.added += 1
                    known.add(document.id)
            self.index.write(session.connection(), terms, rows)
            bump_revision(session, collection.id)
        report.chunks += len(rows)

    def _terms(
        self, collection: CollectionView, document: SourceDocument, document_pk: int, chunks: Sequence[Chunk]
    ) -> DocumentTerms:
        """The document's analysed title (if the collection indexes titles) and body (sections and text)."""
        analyze = self.analyzer.analyze
        sections = dict.fromkeys(chunk.section for chunk in chunks if chunk.section)
        body = "\n".join([*sections, *(chunk.text for chunk in chunks)])
        title = " ".join(analyze(document.title, document.language)) if collection.index_titles else ""
        return DocumentTerms(document_pk, title, " ".join(analyze(body, document.language)))

    def _prune(self, collection: CollectionView, document_ids: set[str]) -> int:
        if not document_ids:
            return 0
        with self.sessions.begin() as session:
            deleted = _delete_documents(session, collection, sorted(document_ids))
            if deleted:
                bump_revision(session, collection.id)
        return deleted


def _insert_document(
    session: Session, collection: CollectionView, document: SourceDocument, digest: str
) -> int:
    now = utcnow()
    values = {
        "collection_id": collection.id,
        "document_id": document.id,
        "title": document.title,
        "url": document.url,
        "language": document.language,
        "metadata": document.metadata,
        "content_hash": digest,
        "created_at": now,
        "updated_at": now,
    }
    document_pk: int = session.execute(insert(_DOCUMENTS).returning(_DOCUMENTS.c.id), values).scalar_one()
    return document_pk


def _delete_documents(session: Session, collection: CollectionView, document_ids: Sequence[str]) -> int:
    """Delete documents by id; their chunks (and, on SQLite, their FTS rows) go by cascade and trigger."""
    deleted = 0
    for start in range(0, len(document_ids), 500):  # bounded IN lists
        result = session.execute(
            delete(KnowledgeDocument)
            .where(
                KnowledgeDocument.collection_id == collection.id,
                KnowledgeDocument.document_id.in_(document_ids[start : start + 500]),
            )
            .execution_options(synchronize_session=False)
        )
        deleted += result.rowcount  # type: ignore[attr-defined]
    return deleted


def _batches(documents: Iterable[SourceDocument], size: int) -> Iterator[list[SourceDocument]]:
    iterator = iter(documents)
    while batch := list(islice(iterator, size)):
        yield batch


def _rows(
    collection: CollectionView, document_pk: int, chunks: Sequence[Chunk], vectors: Iterator[np.ndarray]
) -> list[ChunkRow]:
    return [
        ChunkRow(
            document_pk=document_pk,
            collection_id=collection.id,
            ordinal=chunk.ordinal,
            section=chunk.section,
            text=chunk.text,
            embedding=next(vectors),
        )
        for chunk in chunks
    ]
