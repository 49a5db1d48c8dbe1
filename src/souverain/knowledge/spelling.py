"""Spelling correction of query terms against the vocabulary of the collections searched.

Citizens misspell ("pasport perdu", "alocation chaumage", "declaraton de décé"), and a misspelt word is a
term no page contains: full-text search then loses it, and the question leans on the dense side alone.
A query word is looked at through its stems in every query language (the analysis of a query in an unknown
language); when none of them is a term that some document of the collection holds, the closest term that
several documents hold joins the query, within a small edit distance (one edit for a word of five or six
letters, two for a longer one), the most frequent such term winning a tie. A word whose stem the collection
knows in any language is never touched (the English stem of "situation" is not corrected to "station" when
the French one is known), words shorter than five letters are left alone, and a correction keeps the first
letter: people rarely mistype it, while a verb form the pages do not use would otherwise change into
another word ("partons" into "carton", "voudrais" into "poudre").

The vocabulary is read per collection, never across tenants (a correction must not reveal that a word
exists in someone else's documents), cached in memory and rebuilt when the collection's revision moves on,
as the vector matrices are (``RevisionCache``). Candidates are found with RapidFuzz (MIT): its Levenshtein
scan over tens of thousands of terms takes a few milliseconds, where a Python loop would take a second.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein
from sqlalchemy import Connection

from souverain.knowledge.collections import CollectionView
from souverain.knowledge.revisions import RevisionCache

VocabularyReader = Callable[[Connection, CollectionView], Counter[str]]


@dataclass(frozen=True)
class SpellingConfig:
    """When a term is corrected, and to what."""

    min_length: int = 5  # shorter words ("hier", codes, abbreviations) are left as they are
    long_term: int = 7  # words at least this long may take two edits, shorter ones one
    min_documents: int = 2  # a replacement must occur in this many documents (not itself a typo)
    candidates: int = 8  # nearest terms considered before choosing the most frequent


@dataclass(frozen=True)
class _Vocabulary:
    frequencies: Counter[str]
    by_initial: dict[str, list[str]]  # the terms frequent enough to be a replacement, by first letter


def max_edits(word: str, config: SpellingConfig) -> int:
    """How many edits a word's stems may be corrected by (0: too short to correct)."""
    if len(word) < config.min_length:
        return 0
    return 2 if len(word) >= config.long_term else 1


class Speller:
    """Per-collection vocabularies, loaded lazily, and the correction of query terms against them."""

    def __init__(self, reader: VocabularyReader, config: SpellingConfig | None = None) -> None:
        self.reader = reader
        self.config = config or SpellingConfig()
        self._vocabularies = RevisionCache(self._read)

    @property
    def loads(self) -> int:
        """How many times a vocabulary was read from the database."""
        return self._vocabularies.loads

    def correct(
        self,
        connection: Connection,
        collections: Sequence[CollectionView],
        words: Sequence[tuple[str, Sequence[str]]],
    ) -> list[str]:
        """The query's terms, given per word as (word, its stems in each language): a word none of whose
        stems any collection holds gains its best known neighbour; every other word keeps its stems."""
        if not collections:
            return [term for _, stems in words for term in stems]
        vocabularies = [self._vocabularies.get(connection, collection) for collection in collections]
        terms: list[str] = []
        for word, stems in words:
            terms.extend(stems)
            known = any(stem in v.frequencies for stem in stems for v in vocabularies)
            edits = max_edits(word, self.config)
            if known or not edits or word.isdigit():
                continue
            best = self._nearest(stems, edits, vocabularies)
            if best is not None:
                terms.append(best)
        return list(dict.fromkeys(terms))

    def _nearest(self, stems: Sequence[str], edits: int, vocabularies: Sequence[_Vocabulary]) -> str | None:
        """The known term fewest edits away from any of the stems, the most used one on a tie."""
        best: tuple[int, int, str] | None = None  # (edits, -documents, term)
        for stem in stems:
            for vocabulary in vocabularies:
                for candidate, distance, _ in process.extract(
                    stem,
                    vocabulary.by_initial.get(stem[:1], []),
                    scorer=Levenshtein.distance,
                    score_cutoff=edits,
                    limit=self.config.candidates,
                ):
                    key = (int(distance), -vocabulary.frequencies[candidate], candidate)
                    best = key if best is None or key < best else best
        return None if best is None else best[2]

    def _read(self, connection: Connection, collection: CollectionView) -> _Vocabulary:
        frequencies = self.reader(connection, collection)
        by_initial: dict[str, list[str]] = {}
        for term, count in frequencies.items():
            if count >= self.config.min_documents:
                by_initial.setdefault(term[:1], []).append(term)
        return _Vocabulary(frequencies, by_initial)
