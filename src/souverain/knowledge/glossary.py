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

The German glossary (``glossaries/de-fr.tsv.gz``, built by ``tools/build_glossary.py``) comes from the
FreeDict + WikDict German-French dictionary of Debian's ``dict-freedict-deu-fra`` (Wiktionary through DBnary,
CC BY-SA 3.0); the Luxembourgish one (``glossaries/lb-fr.tsv``) is written by the project (Apache-2.0); both
are described in ``glossaries/SOURCE.md``. Measured in ``docs/benchmarks.md`` (Knowledge retrieval, Question
translation).
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

from souverain.knowledge.analysis import fold
from souverain.knowledge.stopwords import BY_LANGUAGE, LUXEMBOURGISH

_WORD = re.compile(r"[^\W\d_]+")
_MIN_TAIL = 4  # letters of the shortest compound tail looked up ("karte", not "te")
_INFLECTIONS = ("", "n", "en", "e", "s", "es", "er", "ern")  # endings tried off a plural or a case form
FILES = {"de": "de-fr.tsv.gz", "lb": "lb-fr.tsv"}  # gzip or plain text
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
        """The terms of the query's capitalised words (its nouns), each once, in the query's order."""
        stop = _STOP_WORDS.get(self.language, frozenset())
        terms: dict[str, None] = {}
        for word in _WORD.findall(query):
            if not word[0].isupper() or word.isupper() or fold(word) in stop:
                continue  # verbs, function words, acronyms (PACS is PACS in French too)
            terms.update(dict.fromkeys(self.lookup(word)))
        return " ".join(terms)


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
