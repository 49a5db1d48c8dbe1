"""Text analysis shared by every lexical index: the same terms for documents and for queries.

Lower-case (``casefold``: ß → ss), accents folded (NFKD, combining marks dropped), words split on
anything but letters and digits, stop words removed (French elisions l', d', qu' among them), then
Snowball stemming with PyStemmer. Folding comes before stemming so that a query typed without accents
finds accented text. Documents are analysed in their language (Luxembourgish as German; a language
without a stemmer is only folded); a query's language is unknown, so ``analyze_query`` takes the union
of the French, German and English terms.
"""

from __future__ import annotations

import importlib
import re
import threading
import unicodedata
from typing import Protocol, cast

from souverain.knowledge.stopwords import BY_LANGUAGE


class _Stemmer(Protocol):
    def stemWords(self, words: list[str]) -> list[str]: ...


_ALGORITHMS = {"fr": "french", "de": "german", "en": "english", "lb": "german"}
_STOP_WORDS = {"lb": BY_LANGUAGE["de"], **BY_LANGUAGE}
QUERY_LANGUAGES = ("fr", "de", "en")

_LIGATURES = (("œ", "oe"), ("æ", "ae"), ("ø", "o"), ("ł", "l"), ("đ", "d"))  # NFKD leaves them whole
_COMBINING = re.compile(r"[\u0300-\u036f]+")
_TOKEN = re.compile(r"[^\W_]+")  # letters and digits; "_" splits, as in FTS5 and tsvector

# PyStemmer objects keep a cache that is not thread-safe: one set per thread.
_local = threading.local()
_module = importlib.import_module("Stemmer")  # a C extension without type information


def analyze(text: str, language: str = "fr") -> list[str]:
    """The index terms of ``text`` in ``language``, in order, repeats kept (they weigh in ranking)."""
    language = primary_language(language)
    stop = _STOP_WORDS.get(language, frozenset())
    # Apostrophes split words, so a French elision (l', d', qu', jusqu') is a token of its own, a stop word.
    words = [word for word in _TOKEN.findall(fold(text)) if word not in stop]
    stemmer = _stemmer(language)
    return stemmer.stemWords(words) if stemmer is not None else words


def analyze_query(text: str) -> list[str]:
    """The terms of a query in an unknown language: French, German and English terms, each once."""
    terms: dict[str, None] = {}
    for language in QUERY_LANGUAGES:
        terms.update(dict.fromkeys(analyze(text, language)))
    return list(terms)


def fold(text: str) -> str:
    """Lower-case, ligatures spelled out, accents removed."""
    text = text.casefold()
    if text.isascii():
        return text
    for ligature, letters in _LIGATURES:
        text = text.replace(ligature, letters)
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text))


def primary_language(language: str) -> str:
    """``fr`` from ``fr-FR`` or ``FR``."""
    return language.split("-")[0].split("_")[0].strip().lower()


def _stemmer(language: str) -> _Stemmer | None:
    """This thread's stemmer for ``language``, or None when there is none."""
    algorithm = _ALGORITHMS.get(language)
    if algorithm is None:
        return None
    stemmers: dict[str, _Stemmer] = _local.__dict__.setdefault("stemmers", {})
    if algorithm not in stemmers:
        stemmers[algorithm] = cast(_Stemmer, _module.Stemmer(algorithm))
    return stemmers[algorithm]
