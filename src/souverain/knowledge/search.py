"""Hybrid retrieval within a scope: full-text and dense candidates fused by reciprocal rank fusion, at most
a few chunks per document, metadata filters, and the tenant/use-case/classification partition.

The lexical side finds exact terms (procedure names, form numbers) in French and German; the dense side
finds paraphrases and questions asked in another language than the page's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from sqlalchemy import Connection, bindparam, text
from sqlalchemy.orm import Session, sessionmaker

from souverain.errors import InvalidRequest
from souverain.knowledge import collections as collections_
from souverain.knowledge.analysis import fold, primary_language
from souverain.knowledge.collections import CollectionView
from souverain.knowledge.context import Located, with_section_context
from souverain.knowledge.embedder import Embedder
from souverain.knowledge.fusion import reciprocal_rank_fusion
from souverain.knowledge.glossary import Glossary, bundled, expanded
from souverain.knowledge.index import Analyzer, Index, Scored, checked_filters
from souverain.knowledge.pages import PageRankings, PageVectors
from souverain.knowledge.spelling import Speller
from souverain.knowledge.stopwords import BY_LANGUAGE
from souverain.knowledge.types import Scope, SearchHit, SearchRequest
from souverain.protocol.wire import is_blank

MAX_K = 100
MAX_QUERY_CHARS = 2000
MAX_CONTEXT_CHARS = 8000
_WORD = re.compile(r"[^\W_]+")
_STOP_WORDS = frozenset().union(*BY_LANGUAGE.values())


@dataclass(frozen=True)
class RetrievalConfig:
    """How candidates are gathered, fused and turned into passages."""

    # tuned on the PIAF questions over the 4,873 service-public.fr pages (titles excluded): full text is
    # the stronger side in French, the dense side breaks its ties and carries questions in other languages
    candidates: int = 20  # documents per side, before fusion
    rrf_k: int = 10
    lexical_weight: float = 1.0
    dense_weight: float = 0.5
    per_document: int = 2  # at most this many passages of one document in the results
    next_passage: float = 0.5  # a document's second passage scores this fraction of its first
    choices: int = 4  # a document's passages are chosen among its most similar chunks
    term_weight: float = 0.2  # weight of the query terms a chunk contains, when choosing passages
    # A question known to be in another language than the pages' shares few stems with them by chance
    # (German "Sohn", "Ausland"): full text then only adds noise, and the dense side must lead.
    language: str = "fr"  # the language of the pages
    foreign_lexical_weight: float = 0.3
    # whole pages on the dense side (``pages``): by their centroid and by their opening chunk; 0.15 to 0.35
    # each gave the same figures on both question sets (docs/benchmarks.md, Knowledge retrieval)
    centroid_weight: float = 0.25
    opening_weight: float = 0.25
    # For a question in another language the best-chunk ranking leads alone: with the page views at 0.1 the
    # harder set's English questions gained (recall@5 0.47 -> 0.63), but the assistant's German and English
    # answers lost facts and refused more (its first sources changed); at 0 they are as before.
    foreign_page_weight: float = 0.0
    spelling: bool = True  # correct query terms that no page holds (not for a question in another language)
    # a question in a language with a glossary gains the pages' terms for its nouns (``glossary``), when its
    # language is listed (none: no glossary at all); English is not by default (its glossary finds the pages
    # more often, but the bundled 1.5B model then answered fewer English questions: docs/benchmarks.md,
    # Knowledge retrieval)
    glossary_languages: tuple[str, ...] = ("de", "lb")

    @classmethod
    def lexical_only(cls, spelling: bool = True) -> RetrievalConfig:
        """Full text alone, every dense ranking weighing nothing (the benchmark's baseline row)."""
        return cls(
            dense_weight=0.0,
            centroid_weight=0.0,
            opening_weight=0.0,
            foreign_page_weight=0.0,
            spelling=spelling,
        )

    def is_foreign(self, language: str | None) -> bool:
        """Whether a query in ``language`` (None: unknown, taken as the pages') is in another language."""
        return language is not None and language != self.language

    def lexical_weight_for(self, language: str | None) -> float:
        """The full-text side's weight for a query in ``language``."""
        return self.foreign_lexical_weight if self.is_foreign(language) else self.lexical_weight

    def page_weights_for(self, language: str | None) -> tuple[float, float]:
        """The weights of the centroid and opening-chunk rankings for a query in ``language``."""
        if self.is_foreign(language):
            return self.foreign_page_weight, self.foreign_page_weight
        return self.centroid_weight, self.opening_weight


@dataclass(frozen=True)
class _Found:
    chunk_id: int
    document_pk: int
    ordinal: int
    language: str
    hit: SearchHit


class HybridRetriever:
    """The ``Retriever`` of both tiers; the ``Index`` given decides which.

    Documents are ranked by fusing full-text (per document) and dense (best chunk per document) rankings;
    each document then contributes its best passages: chunks close to the query that contain its terms.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        index: Index,
        embedder: Embedder,
        analyzer: Analyzer,
        config: RetrievalConfig | None = None,
        speller: Speller | None = None,
        glossaries: Callable[[str], Glossary | None] = bundled,
    ) -> None:
        self.sessions = sessions
        self.index = index
        self.embedder = embedder
        self.analyzer = analyzer
        self.config = config or RetrievalConfig()
        self.speller = speller if speller is not None else Speller(index.vocabulary)
        self.pages = PageVectors(embedder.dimensions)
        self.glossaries = glossaries

    def search(self, scope: Scope, request: SearchRequest) -> list[SearchHit]:
        """The best ``request.k`` passages, best first; NotFound for a collection outside the scope."""
        query = self._translated(_checked_query(request), request.language)
        filters = checked_filters(request.filters)
        words = query_words(self.analyzer, query)
        terms = [term for _, stems in words for term in stems]
        vector = self.embedder.encode([query])[0]
        config = self.config
        size = max(config.candidates, request.k)
        with self.sessions() as session:
            readable = collections_.readable(session, scope, request.collections)
            connection = session.connection()
            if config.spelling and not config.is_foreign(request.language):
                terms = self.speller.correct(connection, readable, words)
            lexical = self.index.lexical(connection, readable, terms, filters, size)
            dense = [
                item.document_pk for item in self.index.dense(connection, readable, vector, filters, size)
            ]
            rankings = [lexical, list(dict.fromkeys(dense))]
            weights = [config.lexical_weight_for(request.language), config.dense_weight]
            page_weights = config.page_weights_for(request.language)
            if any(page_weights):
                pages = self._page_rankings(connection, readable, vector, filters, size)
                rankings += [pages.by_centroid, pages.by_opening]
                weights += page_weights
            ranked = reciprocal_rank_fusion(rankings, weights, config.rrf_k)[: request.k]
            chunks = self.index.within(connection, readable, [pk for pk, _ in ranked], vector, config.choices)
            found = _hydrate(connection, [chunk.chunk_id for chunk in chunks], readable)
            passages = self._passages(ranked, chunks, found, {term for term in terms if len(term) > 2})
            return with_section_context(connection, passages[: request.k], request.context_chars)

    def _translated(self, query: str, language: str | None) -> str:
        """The query with the pages' terms for its nouns, when it is in another language with a glossary."""
        if language is None or not self.config.is_foreign(language):
            return query
        primary = primary_language(language)
        if primary not in self.config.glossary_languages:
            return query
        return expanded(query, self.glossaries(primary))

    def _page_rankings(
        self,
        connection: Connection,
        readable: Sequence[CollectionView],
        vector: np.ndarray,
        filters: dict[str, str],
        size: int,
    ) -> PageRankings:
        """The documents nearest to the query as whole pages, among those the filters allow."""
        allowed = self.index.matching_documents(connection, readable, filters) if filters else None
        return self.pages.rankings(connection, readable, vector, size, allowed)

    def _passages(
        self,
        ranked: Sequence[tuple[int, float]],
        chunks: Sequence[Scored],
        found: dict[int, _Found],
        terms: set[str],
    ) -> list[Located]:
        """Each document's best passages, scored from the document's fused score, best first."""
        by_document: dict[int, list[Scored]] = {}
        for chunk in chunks:
            by_document.setdefault(chunk.document_pk, []).append(chunk)
        passages: list[Located] = []
        for document_pk, score in ranked:
            choices = by_document.get(document_pk, [])
            if len(choices) > 1:
                choices = sorted(choices, key=lambda chunk: -self._fit(chunk, found[chunk.chunk_id], terms))
            for position, chunk in enumerate(choices[: self.config.per_document]):
                passage_score = score * self.config.next_passage**position
                chunk_found = found[chunk.chunk_id]
                hit = replace(chunk_found.hit, score=round(passage_score, 6))
                passages.append(Located(hit, document_pk, chunk_found.ordinal))
        return sorted(passages, key=lambda passage: -passage.hit.score)

    def _fit(self, chunk: Scored, found: _Found, terms: set[str]) -> float:
        """How well a chunk answers: its similarity, plus the share of the query terms it contains.

        A stem is looked up as a substring of the folded text: stems are word prefixes, and this costs a
        fraction of analysing every candidate chunk on each query."""
        if not terms:
            return chunk.score
        text = fold(f"{found.hit.section}\n{found.hit.text}")
        present = sum(1 for term in terms if term in text)
        return chunk.score + self.config.term_weight * present / len(terms)


def query_terms(analyzer: Analyzer, query: str) -> list[str]:
    """The query's terms, leaving out words that are stop words in any language (the query's language is
    unknown: "que" or "die" would otherwise be searched as English or German words)."""
    return list(dict.fromkeys(term for _, stems in query_words(analyzer, query) for term in stems))


def query_words(analyzer: Analyzer, query: str) -> list[tuple[str, list[str]]]:
    """Each distinct word of the query that is not a stop word, with its terms (stems in each language)."""
    words = [word for word in dict.fromkeys(_WORD.findall(fold(query))) if word not in _STOP_WORDS]
    return [(word, analyzer.analyze_query(word)) for word in words]


def _checked_query(request: SearchRequest) -> str:
    query = request.query.strip()
    if is_blank(query):
        raise InvalidRequest("The query is empty.", param="query", code="empty_query")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidRequest(
            f"The query is longer than {MAX_QUERY_CHARS} characters.", param="query", code="query_too_long"
        )
    if not 1 <= request.k <= MAX_K:
        raise InvalidRequest(f"k must be between 1 and {MAX_K}.", param="k", code="invalid_k")
    if not 0 <= request.context_chars <= MAX_CONTEXT_CHARS:
        raise InvalidRequest(
            f"context_chars must be between 0 and {MAX_CONTEXT_CHARS}.",
            param="context_chars",
            code="invalid_context_chars",
        )
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
        "d.document_id, d.title, d.url, d.language, d.metadata FROM knowledge_chunks c "
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
        found[row["id"]] = _Found(row["id"], row["document_pk"], row["ordinal"], row["language"], hit)
    return found


def _metadata(value: object) -> dict[str, object]:
    # a raw SELECT returns the JSON column as text on SQLite and as a dict on PostgreSQL
    if isinstance(value, str):
        loaded = json.loads(value)
        return loaded if isinstance(loaded, dict) else {}
    return value if isinstance(value, dict) else {}
