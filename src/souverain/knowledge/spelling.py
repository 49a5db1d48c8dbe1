"""Spelling correction of query terms against the vocabulary of the collections searched.

Citizens misspell ("pasport perdu", "alocation chaumage", "declaraton de décé"), and a misspelt word is a
term no page contains: full-text search then loses it, and the question leans on the dense side alone.
After analysis (folding, stemming), a query term that no document of the collection holds is replaced by
the closest term that some documents hold, within a small edit distance (one edit for short terms, two for
longer ones), the most frequent such term winning a tie. Terms the collection knows are never touched.

The vocabulary is read per collection, never across tenants (a correction must not reveal that a word
exists in someone else's documents), cached in memory and rebuilt when the collection's revision moves on,
as the vector matrices are. Candidates are found with RapidFuzz (MIT): its Levenshtein scan over tens of
thousands of terms takes a few milliseconds, where a Python loop would take a second.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein
from sqlalchemy import Connection

from souverain.knowledge.collections import CollectionView

VocabularyReader = Callable[[Connection, CollectionView], Counter[str]]


@dataclass(frozen=True)
class SpellingConfig:
    """When a term is corrected, and to what."""

    min_length: int = 4  # shorter terms (codes, abbreviations) are left as they are
    long_term: int = 7  # terms at least this long may take two edits, shorter ones one
    min_documents: int = 2  # a replacement must occur in this many documents (not itself a typo)
    candidates: int = 8  # nearest terms considered before choosing the most frequent


@dataclass(frozen=True)
class _Vocabulary:
    revision: int
    frequencies: Counter[str]
    terms: list[str]  # the terms frequent enough to be a replacement


def max_edits(term: str, config: SpellingConfig) -> int:
    """How many edits a term may be corrected by (0: too short to correct)."""
    if len(term) < config.min_length:
        return 0
    return 2 if len(term) >= config.long_term else 1


class Speller:
    """Per-collection vocabularies, loaded lazily, and the correction of query terms against them."""

    def __init__(self, reader: VocabularyReader, config: SpellingConfig | None = None) -> None:
        self.reader = reader
        self.config = config or SpellingConfig()
        self._vocabularies: dict[int, _Vocabulary] = {}
        self._lock = threading.Lock()
        self.loads = 0  # how many times a vocabulary was read (tests check invalidation)

    def correct(
        self, connection: Connection, collections: Sequence[CollectionView], terms: Sequence[str]
    ) -> list[str]:
        """``terms`` with each one unknown to every collection replaced by its best known neighbour."""
        if not collections:
            return list(terms)
        vocabularies = [self._vocabulary(connection, collection) for collection in collections]
        return [self._corrected(term, vocabularies) for term in terms]

    def _corrected(self, term: str, vocabularies: Sequence[_Vocabulary]) -> str:
        edits = max_edits(term, self.config)
        if not edits or term.isdigit() or any(term in v.frequencies for v in vocabularies):
            return term
        best: tuple[int, int, str] | None = None  # (edits, -documents, term): fewest edits, then most used
        for vocabulary in vocabularies:
            for candidate, distance, _ in process.extract(
                term,
                vocabulary.terms,
                scorer=Levenshtein.distance,
                score_cutoff=edits,
                limit=self.config.candidates,
            ):
                key = (int(distance), -vocabulary.frequencies[candidate], candidate)
                best = key if best is None or key < best else best
        return term if best is None else best[2]

    def _vocabulary(self, connection: Connection, collection: CollectionView) -> _Vocabulary:
        with self._lock:
            cached = self._vocabularies.get(collection.id)
            if cached is not None and cached.revision == collection.revision:
                return cached
            frequencies = self.reader(connection, collection)
            kept = [term for term, count in frequencies.items() if count >= self.config.min_documents]
            loaded = _Vocabulary(collection.revision, frequencies, kept)
            self._vocabularies[collection.id] = loaded
            self.loads += 1
            return loaded


def document_frequencies(rows: Sequence[str] | Sequence[tuple[str, ...]]) -> Counter[str]:
    """How many documents hold each term, from each document's space-separated analysed terms."""
    counts: Counter[str] = Counter()
    for row in rows:
        fields = (row,) if isinstance(row, str) else row
        counts.update({term for field in fields for term in (field or "").split()})
    return counts
