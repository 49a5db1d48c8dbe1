"""Abroad: a question asked from abroad is answered first from the passages about being abroad.

service-public.fr pages split a procedure by situation ("En France" / "À l'étranger"), and the 1.5B model
answers from whichever source it reads first. "Mon fils a perdu sa carte d'identité à l'étranger" retrieved
the page on losing all one's papers first (a police station in France) and the section on a loss abroad (the
consulate) second. When the question says it happens abroad (in any of the assistant's languages) or names
a foreign country (``places``), the retrieved passages whose section is about being abroad are put first,
in their retrieved order, and the others follow in theirs; the sources are then chosen from that order, so
a section about being abroad ranked fourth or fifth can become a source. A passage whose title alone
mentions abroad ("Avec quels documents un mineur peut-il voyager à l'étranger ?") is about travelling, not
about the situation the question is in, and is not moved. Measured on the seven questions asked from abroad
of bench/data/answer_questions.jsonl (docs/benchmarks.md, Citizen assistant).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from souverain.assistant.places import FRANCE, places
from souverain.knowledge.analysis import fold
from souverain.knowledge.types import SearchHit

# the pages' (French) heading for it, folded: "À l'étranger", "Si le vol a eu lieu à l'étranger"
PAGES_ABROAD = re.compile(r"\bl['’]etranger\b")
# a question's own words for it, folded: French, German ("im Ausland", "Auslandsreise"), English,
# Luxembourgish ("am Ausland", "an d'Ausland"); not German "Ausländer" (a foreigner)
_QUESTION_ABROAD = re.compile(r"\bl['’]etranger\b|\bausland(?!er)|\babroad\b|\boverseas\b")


def in_section_abroad(hit: SearchHit) -> bool:
    """Whether a passage's section is about being abroad."""
    return PAGES_ABROAD.search(fold(hit.section)) is not None


def asks_from_abroad(question: str, home: frozenset[str] = FRANCE) -> bool:
    """Whether the question says it happens abroad, or names a country other than ``home``."""
    return _QUESTION_ABROAD.search(fold(question)) is not None or bool(places(question, home))


def abroad_first(question: str, hits: Sequence[SearchHit], home: frozenset[str] = FRANCE) -> list[SearchHit]:
    """``hits`` with those in a section about being abroad first when the question is asked from abroad."""
    if not asks_from_abroad(question, home):
        return list(hits)
    return sorted(hits, key=lambda hit: not in_section_abroad(hit))  # stable: retrieved order kept
