"""What the two index tiers share: the row written per chunk, the ``Index`` interface, the text analyser
they both rely on, and the checks on query terms and metadata filters.

The SQLite tier (``index_sqlite``) and the PostgreSQL tier (``index_pg``) index the same analysed terms
(``souverain.knowledge.analysis``), so a query finds the same documents on both; only the ranking formula
differs (BM25 in FTS5, ``ts_rank`` in PostgreSQL). Full text is per document, vectors per chunk.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from sqlalchemy import Connection

from souverain.errors import InvalidRequest
from souverain.knowledge.collections import CollectionView

_FILTER_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_TERM = re.compile(r"^\w+$")
MAX_QUERY_TERMS = 64  # a pasted page as a query should not turn into a thousand-way OR


class Analyzer(Protocol):
    """Turns text into index terms (``souverain.knowledge.analysis`` is one, as a module)."""

    def analyze(self, text: str, language: str = "fr") -> list[str]:
        """The terms of a document's text in ``language``."""
        ...

    def analyze_query(self, text: str) -> list[str]:
        """The terms of a query in an unknown language."""
        ...


@dataclass(frozen=True)
class ChunkRow:
    """One chunk ready to be written, with its vector."""

    document_pk: int
    collection_id: int
    ordinal: int
    section: str
    text: str
    embedding: np.ndarray  # float32, unit length


@dataclass(frozen=True)
class DocumentTerms:
    """A document's analysed terms for the full-text index, per field."""

    document_pk: int
    title_terms: str  # empty when the collection does not index titles
    body_terms: str  # its sections' headings and its text


@dataclass(frozen=True)
class Scored:
    """A chunk found by the dense side, with its document and its similarity to the query."""

    chunk_id: int
    document_pk: int
    score: float


class Index(Protocol):
    """Full text per document, vectors per chunk; both go when their document is deleted (cascade)."""

    def write(
        self, connection: Connection, documents: Sequence[DocumentTerms], chunks: Sequence[ChunkRow]
    ) -> None:
        """Insert the documents' terms and the chunks with their vectors."""
        ...

    def lexical(
        self,
        connection: Connection,
        collections: Sequence[CollectionView],
        terms: Sequence[str],
        filters: Mapping[str, str],
        limit: int,
    ) -> list[int]:
        """Ids of documents matching any of ``terms``, best full-text score first."""
        ...

    def dense(
        self,
        connection: Connection,
        collections: Sequence[CollectionView],
        vector: np.ndarray,
        filters: Mapping[str, str],
        limit: int,
    ) -> list[Scored]:
        """The chunks nearest to ``vector``, nearest first."""
        ...

    def within(
        self,
        connection: Connection,
        collections: Sequence[CollectionView],
        document_pks: Sequence[int],
        vector: np.ndarray,
        per_document: int,
    ) -> list[Scored]:
        """Up to ``per_document`` chunks of each given document, nearest to ``vector`` first."""
        ...

    def matching_documents(
        self, connection: Connection, collections: Sequence[CollectionView], filters: Mapping[str, str]
    ) -> np.ndarray:
        """Ids (int64) of the collections' documents whose metadata match every filter."""
        ...

    def vocabulary(self, connection: Connection, collection: CollectionView) -> Counter[str]:
        """How many of the collection's documents hold each analysed term (for spelling correction)."""
        ...


def query_terms(terms: Sequence[str]) -> list[str]:
    """The distinct word terms of a query, in order, at most ``MAX_QUERY_TERMS``."""
    kept = [term for term in dict.fromkeys(terms) if _TERM.match(term)]
    return kept[:MAX_QUERY_TERMS]


def checked_filters(filters: Mapping[str, str]) -> dict[str, str]:
    """``filters`` if every key is a plain metadata name and every value a string; InvalidRequest if not."""
    for key, value in filters.items():
        if not _FILTER_KEY.match(key) or not isinstance(value, str):
            raise InvalidRequest(
                "Filters map metadata names (letters, digits, '_' or '-') to exact string values.",
                param="filters",
                code="invalid_filter",
            )
    return dict(filters)


def vector_bytes(vector: np.ndarray) -> bytes:
    """A vector as stored: float32, little-endian."""
    return np.asarray(vector, dtype="<f4").tobytes()
