"""Names the sources never mention: a question about a place, body or scheme that none of the retrieved pages
names cannot be answered from them.

A small model asked about "les allocations familiales au Luxembourg" or "les horaires de la mairie de
Strasbourg" with French national pages in front of it answers from those pages anyway, as if they applied
(measured on bench/data/answer_questions.jsonl). Two kinds of names are looked up, accents and case folded,
in the sources' titles, sections and text:

- **Countries**, in any of the assistant's languages (``places``: "in Deutschland", "en Espagne"), under
  any of their names ("Allemagne"). A country is also covered by a passage whose title or section is about
  being abroad ("à l'étranger"): "perdu sa carte d'identité en Espagne" is answered by the section on a
  loss abroad, which names no country. The pages' own country is never reported.
- **Other proper names** (a town, a body) in a question in the pages' language: capitalised words that do
  not begin a sentence, elisions removed. Capitals mark proper names only there: an English question says
  "French" where French pages say "français", and German capitalises every noun. The names of people ("je
  m'appelle Jean Muller", "Madame Weber"), as the privacy layer's person recognizer finds them, are left
  out: a citizen who signs a question still asks about something the pages may cover.

The assistant checks both against all its sources before the model is called, and again against the
sources its answer cites: a name that appears nowhere makes the retrieval too weak to answer from (or the
answer rest on a page about something else), and the assistant says so and offers a person.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

from souverain.assistant.places import FRANCE, all_country_names, places
from souverain.assistant.situation import PAGES_ABROAD
from souverain.knowledge.analysis import fold
from souverain.knowledge.types import SearchHit
from souverain.privacy.recognizers.person import PersonRecognizer

_TOKEN = re.compile(r"[^\W\d_][\w'’-]*|[.!?]")
_ELISION = re.compile(r"^(?:[ldjmnstc]|qu|jusqu|lorsqu|puisqu)['’]", re.IGNORECASE)
_MIN_STEM = 5  # "Françaises" meets "français": a name matches on its first letters


@cache
def _people() -> PersonRecognizer:
    """The privacy layer's person recognizer (its tagger is loaded once)."""
    return PersonRecognizer()


def names(question: str) -> list[str]:
    """The question's proper names: capitalised words that are not the first word of a sentence, nor part
    of a person's name."""
    people = [(entity.start, entity.end) for entity in _people().find(question, None)]
    found: list[str] = []
    sentence_start = True
    for match in _TOKEN.finditer(question):
        piece = match.group()
        if piece in ".!?":
            sentence_start = True
            continue
        word = _ELISION.sub("", piece).strip("'’-")
        in_person = any(start <= match.start() < end for start, end in people)
        if word and word[0].isupper() and not sentence_start and not in_person:
            found.append(word)
        sentence_start = False
    return list(dict.fromkeys(found))


def unmentioned(
    question: str,
    sources: Sequence[SearchHit],
    language: str,
    pages_language: str = "fr",
    home: frozenset[str] = FRANCE,
) -> list[str]:
    """The question's countries and (in the pages' language) other proper names that none of the sources
    mentions, as written in the question."""
    missing = missing_countries(question, sources, home)
    if language == pages_language:
        missing += [name for name in missing_names(question, sources) if name not in missing]
    return missing


def missing_countries(
    question: str, sources: Sequence[SearchHit], home: frozenset[str] = FRANCE
) -> list[str]:
    """The countries (other than ``home``) the question names that no source names nor treats as abroad."""
    if any(PAGES_ABROAD.search(fold(f"{hit.title}\n{hit.section}")) for hit in sources):
        return []
    text = _text(sources)
    return [
        place.said
        for place in places(question, home)
        if not any(_mentions(text, name) for name in (place.said, *place.names))
    ]


def missing_names(question: str, sources: Sequence[SearchHit]) -> list[str]:
    """The question's capitalised names, countries aside, that none of the sources mentions."""
    text = _text(sources)
    every_country = all_country_names()
    return [name for name in names(question) if fold(name) not in every_country and not _mentions(text, name)]


def _text(sources: Sequence[SearchHit]) -> str:
    return fold(" ".join(f"{hit.title}\n{hit.section}\n{hit.text}" for hit in sources))


def _mentions(text: str, name: str) -> bool:
    """Whether the folded ``text`` holds a word beginning as ``name`` does (another form of it)."""
    folded = fold(name)
    return re.search(r"\b" + re.escape(folded[: max(_MIN_STEM, len(folded) - 3)]), text) is not None
