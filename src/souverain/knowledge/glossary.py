"""Query translation through bilingual glossaries: a German or Luxembourgish question gains the French names
of its nouns.

The pages are French. A German question shares few words with them, and the multilingual encoder alone
ranks the right page in the first five for about half of such questions. The nouns carry the question's
subject ("Geburtsurkunde", "Personalausweis", "Mietkaution"), and an administrative noun has one usual
translation ("acte de naissance", "carte d'identité", "dépôt de garantie"), so the French terms of the
question's nouns are added to the query: the full-text side then finds the French words, and the dense side
reads both. German writes its nouns with a capital letter, which is how they are told apart from verbs and
function words without a tagger; a compound absent from the glossary is looked up by its longest known
tail ("Bankkarte" → "Karte") and head.

Luxembourgish also writes its nouns with a capital letter, and the multilingual encoder hardly knows it: a
Luxembourgish question gains the French terms of its nouns the same way, from a shorter glossary of the
administrative vocabulary ("Gebuertsurkonn" → "acte de naissance", "Kautioun" → "dépôt de garantie").

English does not capitalise its nouns and names its administrative things with phrases ("security
deposit", "housing benefit", "driving licence"), whose words alone mean little. An English question is read
phrase by phrase instead: at each word, the longest glossary phrase of up to four words that starts there
(its last word also tried without a plural "s"), its function words never looked up alone. The English
glossary is short and written by the project from the topics of the demo pages' titles, because a general
dictionary gives a common English word many senses (a glossary built through pivot languages lowered the
assistant's English recall, docs/benchmarks.md). Which languages use their glossary is a deployment's
setting (``[knowledge] glossaries``); English is not among the defaults.

The German glossary (``glossaries/de-fr.tsv.gz``, built by ``tools/build_glossary.py``) comes from the
FreeDict + WikDict German-French dictionary of Debian's ``dict-freedict-deu-fra`` (Wiktionary through DBnary,
CC BY-SA 3.0); the Luxembourgish and English ones (``glossaries/lb-fr.tsv``, ``glossaries/en-fr.tsv``) are
written by the project (Apache-2.0); all are described in ``glossaries/SOURCE.md``. Measured in
``docs/benchmarks.md`` (Knowledge retrieval, Question translation).
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

from souverain.knowledge.analysis import fold
from souverain.knowledge.stopwords import BY_LANGUAGE, LUXEMBOURGISH

_WORD = re.compile(r"[^\W\d_]+")
_PHRASE_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")  # "driver's", "part-time" as one word
_MIN_TAIL = 4  # letters of the shortest compound tail looked up ("karte", not "te")
_INFLECTIONS = ("", "n", "en", "e", "s", "es", "er", "ern")  # endings tried off a plural or a case form
FILES = {"de": "de-fr.tsv.gz", "lb": "lb-fr.tsv", "en": "en-fr.tsv"}  # gzip or plain text
CAPITALISED_NOUNS = frozenset({"de", "lb"})  # languages whose nouns a capital letter tells; others: phrases
_MAX_PHRASE = 4  # words in the longest glossary phrase
_STOP_WORDS = {**BY_LANGUAGE, "lb": LUXEMBOURGISH}


@dataclass(frozen=True)
class Glossary:
    """Nouns of one language (lower case) with their terms in the pages' language, usual sense first."""

    language: str
    entries: Mapping[str, tuple[str, ...]]

    @classmethod
    def parse(cls, language: str, lines: str) -> Glossary:
        """A glossary from ``word<TAB>term|term`` lines (``#`` starts a comment line)."""
        entries = {}
        for line in lines.splitlines():
            if line.startswith("#"):
                continue
            word, _, terms = line.partition("\t")
            if word and terms:
                entries[word] = tuple(term for term in terms.split("|") if term)
        return cls(language, entries)

    def lookup(self, word: str) -> tuple[str, ...]:
        """The terms of ``word``: itself, then without an inflection ending, then as a compound."""
        word = word.lower()
        for ending in _INFLECTIONS:
            if ending and not word.endswith(ending):
                continue
            stem = word[: len(word) - len(ending)]
            if stem in self.entries:
                return self.entries[stem]
        return self._compound(word)

    def _compound(self, word: str) -> tuple[str, ...]:
        """A compound's terms: its longest known tail, then its head (without a linking "s") when known."""
        for cut in range(1, len(word) - _MIN_TAIL + 1):
            tail = self.entries.get(word[cut:])
            if tail:
                head = self.entries.get(word[:cut]) or self.entries.get(word[:cut].removesuffix("s"))
                return tail[:1] + (head[:1] if head else ())
        return ()

    def translate(self, query: str) -> str:
        """The terms of the query's nouns (capitalised ones, or known phrases), each once, in its order."""
        if self.language in CAPITALISED_NOUNS:
            return " ".join(dict.fromkeys(self._nouns(query)))
        return " ".join(dict.fromkeys(self._phrases(query)))

    def _nouns(self, query: str) -> Iterator[str]:
        stop = _STOP_WORDS.get(self.language, frozenset())
        for word in _WORD.findall(query):
            if not word[0].isupper() or word.isupper() or fold(word) in stop:
                continue  # verbs, function words, acronyms (PACS is PACS in French too)
            yield from self.lookup(word)

    def _phrases(self, query: str) -> Iterator[str]:
        """The terms of the longest known phrases, read left to right (words: letters and apostrophes)."""
        stop = _STOP_WORDS.get(self.language, frozenset())
        words = [word.lower().replace("’", "'") for word in _PHRASE_WORD.findall(query)]
        start = 0
        while start < len(words):
            for size in range(min(_MAX_PHRASE, len(words) - start), 0, -1):
                phrase = words[start : start + size]
                terms = self._phrase(phrase) if size > 1 or phrase[0] not in stop else ()
                if terms:
                    yield from terms
                    start += size
                    break
            else:
                start += 1

    def _phrase(self, words: list[str]) -> tuple[str, ...]:
        """A phrase's terms, its last word also tried without a plural ending."""
        *head, last = words
        for form in (last, last.removesuffix("s"), last.removesuffix("es")):
            terms = self.entries.get(" ".join([*head, form]))
            if terms:
                return terms
        return ()


@cache
def bundled(language: str) -> Glossary | None:
    """The glossary shipped for questions in ``language`` (None when there is none), read once."""
    name = FILES.get(language)
    if name is None:
        return None
    data = resources.files("souverain.knowledge.glossaries").joinpath(name).read_bytes()
    if name.endswith(".gz"):
        data = gzip.decompress(data)
    return Glossary.parse(language, data.decode("utf-8"))


def expanded(query: str, glossary: Glossary | None) -> str:
    """The query followed by its glossary terms (the query itself when there are none)."""
    terms = glossary.translate(query) if glossary is not None else ""
    return f"{query} {terms}" if terms else query
