"""Person names in fr, de, en and lb: the statistical tagger plus context rules that a model may miss
(salutations, self-introductions, signatures after a closing formula)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from souverain.privacy.entities import Entity, EntityType
from souverain.privacy.tagger import PersonTagger

_WORD = r"[A-ZÀ-ÖØ-Þ](?:[a-zß-öø-ÿ]+|[A-ZÀ-ÖØ-Þ]+)(?:-[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+)?"
_PARTICLE = r"(?:(?:de|du|des|von|van|der|den|da|di|le|la|vom|zu)\s+|[dD]['’])"
_NAME = rf"(?P<name>{_WORD}(?:\s+{_PARTICLE}?{_WORD}){{0,3}})"

_TITLE_WORDS = (
    "ministre président présidente directeur directrice bourgmestre maire juge premier première secrétaire "
    "conseiller conseillère commissaire ambassadeur ambassadrice député députée échevin échevine préfet "
    "minister ministerin präsident präsidentin bürgermeister bürgermeisterin direktor direktorin richter "
    "richterin professor professorin doktor president mayor judge director secretary commissioner "
    "ambassador senator governor officer chairman madame monsieur herr frau mister sir dame"
)
_TITLES = frozenset(_TITLE_WORDS.split())
_SALUTATION = re.compile(
    r"(?<!\w)(?:Madame|Monsieur|Mme\.?|Mmes|M\.|MM\.|Mlle\.?|Mademoiselle|Ma[îi]tre|Me|Docteur|Dr\.?|Prof\.?|"
    r"Herrn?|Frau|Fräulein|Mr\.?|Mrs\.?|Ms\.?|Miss|Mister|Här|Madamm|Dear|Cher|Chère|Liebe|Lieber|Léif|Léiwen?)"
    rf"\s+{_NAME}"
)
_INTRODUCTION = re.compile(
    r"(?i:je\s+m['’]appelle|je\s+me\s+nomme|mon\s+nom\s+est|mon\s+nom\s+c['’]est|mein\s+name\s+ist|"
    r"ich\s+hei(?:ß|ss)e|my\s+name\s+is|my\s+name['’]s|i\s+am\s+called|ech\s+heeschen|ech\s+hee(?:ß|ss)en|"
    r"mäin\s+numm\s+ass|soussign[ée]e?|unterzeichnete?r?|undersigned|sign[ée]\s*:?|gez\.|signed\s*:?)"
    rf"\s*,?\s*{_NAME}"
)
_SIGNATURE = re.compile(
    r"(?i:cordialement|bien\s+cordialement|bien\s+à\s+vous|salutations\s+distinguées|respectueusement|"
    r"mit\s+freundlichen\s+gr(?:ü|ue)(?:ß|ss)en|freundliche\s+gr(?:ü|ue)(?:ß|ss)e|viele\s+gr(?:ü|ue)(?:ß|ss)e|"
    r"beste\s+gr(?:ü|ue)(?:ß|ss)e|mfg|best\s+regards|kind\s+regards|regards|sincerely|yours\s+sincerely|"
    r"yours\s+faithfully|best\s+wishes|léiwe\s+gréiss|mat\s+beschte\s+gréiss|mat\s+frëndleche\s+gréiss|"
    rf"villmools\s+merci)\s*[,.!]?\s*\n\s*{_NAME}\s*$",
    re.MULTILINE,
)
_RULE_SCORE = 0.9
_MODEL_MAX_SCORE = 0.8


def _rule_entities(text: str) -> Iterator[Entity]:
    for pattern in (_SALUTATION, _INTRODUCTION, _SIGNATURE):
        for match in pattern.finditer(text):
            offset = match.start("name")
            # "Madame la Ministre", "Herr Präsident Müller": a title is not part of the name.
            words = [w for w in re.finditer(r"\S+", match.group("name")) if w.group().lower() not in _TITLES]
            if words:
                yield Entity(offset + words[0].start(), match.end("name"), EntityType.PERSON, _RULE_SCORE)


class PersonRecognizer:
    """Names from the tagger, plus the spans the context rules find."""

    def __init__(self, tagger: PersonTagger | None = None) -> None:
        self._tagger = tagger if tagger is not None else PersonTagger.load()

    def find(self, text: str, language: str | None) -> Iterator[Entity]:
        """Tagger spans and rule spans (overlaps are merged by the detector)."""
        for start, end, score in self._tagger.spans(text):
            # Capped below the patterns' scores: a street or a number the model mistakes for a name loses.
            yield Entity(start, end, EntityType.PERSON, round(min(score, _MODEL_MAX_SCORE), 4))
        yield from _rule_entities(text)
