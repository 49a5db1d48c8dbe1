"""Country names in a question, in any of the assistant's languages, with their names in the others.

German capitalises every noun and an English question says "French" where French pages say "français", so
capitals alone do not tell a proper name in those languages (``coverage``). Country names can still be
found there: "Wie hoch ist das Kindergeld in Deutschland?" asks about Germany, and French pages that never
mention "Allemagne" cannot answer it. The names come from the Unicode CLDR through Babel (BSD-3-Clause, the
maintained package that carries CLDR's data for every language) rather than from a hand-kept list: about
250 countries and territories in French, German, English and Luxembourgish, loaded once on first use.

A name counts only as written with a capital (an English "turkey" or "jersey" is not a place), as whole
words, with a German genitive "s" allowed ("Deutschlands"). The pages' own country ("home": France and its
overseas departments and territories for the demo pages) is never reported: every page is about it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from babel import Locale

from souverain import settings
from souverain.knowledge.analysis import fold

LANGUAGES = ("fr", "de", "en", "lb")
_WORD = re.compile(r"[^\W\d_]+")
_ALIAS = re.compile(r"\s*\(.*?\)")  # "Hongkong (Sonderverwaltungsregion China)" -> "Hongkong"
_NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"})  # unions, regions, pseudo-codes
FRANCE = frozenset(settings.FRANCE)  # with its overseas departments and territories


@dataclass(frozen=True)
class Place:
    """A country named in a question: its code, as written, and its names in every language (folded)."""

    code: str
    said: str
    names: tuple[str, ...]


@cache
def _names() -> dict[str, tuple[str, ...]]:
    """Each country code's names in the assistant's languages, folded, without parenthesised precisions."""
    by_code: dict[str, list[str]] = {}
    for language in LANGUAGES:
        for code, name in Locale.parse(language).territories.items():
            if len(code) != 2 or not code.isalpha() or code in _NOT_COUNTRIES:
                continue
            folded = fold(_ALIAS.sub("", name)).strip()
            if folded:
                by_code.setdefault(code, []).append(folded)
    return {code: tuple(dict.fromkeys(names)) for code, names in by_code.items()}


def country_names(code: str) -> tuple[str, ...]:
    """A country's names in the assistant's languages, folded ("allemagne", "deutschland", ...)."""
    return _names().get(code, ())


@cache
def all_country_names() -> frozenset[str]:
    """Every country's names in the assistant's languages, folded."""
    return frozenset(name for names in _names().values() for name in names)


@cache
def _index() -> tuple[dict[tuple[str, ...], str], int]:
    """Each name as a tuple of words, to its code; and the longest name in words."""
    index: dict[tuple[str, ...], str] = {}
    for code, names in _names().items():
        for name in names:
            index.setdefault(tuple(_WORD.findall(name)), code)
    return index, max(len(words) for words in index)


def places(question: str, home: frozenset[str] = FRANCE) -> list[Place]:
    """The countries ``question`` names (not those in ``home``), in order, each once."""
    index, longest = _index()
    words = [match.group() for match in _WORD.finditer(question)]
    folded = [fold(word) for word in words]
    found: dict[str, Place] = {}
    start = 0
    while start < len(words):
        match = _longest_match(index, folded, start, longest)
        if match is None or not words[start][0].isupper():
            start += 1
            continue
        code, length = match
        if code not in home and code not in found:
            said = " ".join(words[start : start + length])
            found[code] = Place(code, said, country_names(code))
        start += length
    return list(found.values())


def _longest_match(
    index: dict[tuple[str, ...], str], folded: list[str], start: int, longest: int
) -> tuple[str, int] | None:
    """The longest name beginning at word ``start`` (a final genitive "s" allowed), as (code, words)."""
    for length in range(min(longest, len(folded) - start), 0, -1):
        words = tuple(folded[start : start + length])
        code = index.get(words)
        if code is None and words[-1].endswith("s"):
            code = index.get((*words[:-1], words[-1][:-1]))
        if code is not None:
            return code, length
    return None
