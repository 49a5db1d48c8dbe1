"""Names the sources never mention: a question about a place, body or scheme that none of the retrieved pages
names cannot be answered from them.

A small model asked about "les allocations familiales au Luxembourg" or "les horaires de la mairie de
Strasbourg" with French national pages in front of it answers from those pages anyway, as if they applied
(measured on bench/data/answer_questions.jsonl). Before the model is called, the proper names of the
question — capitalised words that do not begin a sentence, elisions removed ("d'Allemagne") — are looked
up, accents and case folded, in the sources' titles, sections and text; one that appears nowhere makes the
retrieval too weak to answer from, and the assistant says so and offers a person.

This only holds in languages whose spelling capitalises proper names alone (French, English), and for
questions in the language the pages are written in: an English question says "French" where French pages
say "français", and German capitalises every noun. The languages it applies to are an option.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from souverain.knowledge.analysis import fold
from souverain.knowledge.types import SearchHit

_TOKEN = re.compile(r"[^\W\d_][\w'’-]*|[.!?]")
_ELISION = re.compile(r"^(?:[ldjmnstc]|qu|jusqu|lorsqu|puisqu)['’]", re.IGNORECASE)
_MIN_STEM = 5  # "Françaises" meets "français": a name matches on its first letters


def names(question: str) -> list[str]:
    """The question's proper names: capitalised words that are not the first word of a sentence."""
    found: list[str] = []
    sentence_start = True
    for piece in _TOKEN.findall(question):
        if piece in ".!?":
            sentence_start = True
            continue
        word = _ELISION.sub("", piece).strip("'’-")
        if word and word[0].isupper() and not sentence_start:
            found.append(word)
        sentence_start = False
    return list(dict.fromkeys(found))


def unmentioned(question: str, sources: Sequence[SearchHit]) -> list[str]:
    """The question's proper names that none of the sources mentions."""
    text = fold(" ".join(f"{hit.title}\n{hit.section}\n{hit.text}" for hit in sources))
    missing = []
    for name in names(question):
        folded = fold(name)
        stem = folded[: max(_MIN_STEM, len(folded) - 3)]
        if stem not in text:
            missing.append(name)
    return missing
