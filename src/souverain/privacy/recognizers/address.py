"""Postal addresses: street (French, German, Luxembourgish or English conventions), house number, and the
postcode and locality that follow when present ("12, rue de la Gare, L-1611 Luxembourg", "Hauptstraße 5,
54290 Trier", "15 avenue de la Liberté"). A postcode and locality alone are not reported: without a street
they name a commune, which is not personal data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from souverain.privacy.entities import Entity, EntityType

_CAP = r"[A-ZÀ-ÖØ-Þ][\w’'.\-]*"
_PARTICLE = (
    r"(?:(?:de|du|des|la|le|les|von|van|der|den|dem|vom|zum|zur|am|an|im|auf|of|the|op|um|a|da)\s+"
    r"|[dlDL]['’])"
)
_NAME = rf"(?:{_PARTICLE})*{_CAP}(?:[\s\-]+(?:{_PARTICLE})*{_CAP}){{0,4}}"
_NUMBER = r"\d{1,4}(?:\s?[a-zA-Z](?!\w)|\s?(?:bis|ter)(?!\w))?"
_FR_TYPES = (
    r"rue|avenue|av\.|boulevard|bd\.?|bvd\.?|route|rte\.?|place|pl\.|chemin|all[ée]e|impasse|quai|cit[ée]|"
    r"mont[ée]e|c[ôo]te|square|passage|sentier|rond-point|esplanade|parvis|cours|faubourg|val|"
    r"Rue|Avenue|Boulevard|Route|Place|Chemin|All[ée]e|Impasse|Quai|Cit[ée]|Mont[ée]e|Square|Passage"
)
_DE_SUFFIXES = (
    r"stra(?:ß|ss)e|str\.|weg|gasse|platz|allee|ring|damm|ufer|chaussee|steig|pfad|strooss|gaass|plaz|wee"
)
_DE_WORDS = r"Stra(?:ß|ss)e|Str\.|Weg|Gasse|Platz|Allee|Ring|Damm|Ufer|Chaussee|Strooss|Gaass|Plaz|Wee"
_EN_TYPES = (
    r"Street|St\.?|Road|Rd\.?|Avenue|Ave\.?|Lane|Ln\.?|Drive|Dr\.?|Boulevard|Blvd\.?|Court|Ct\.?|Way|"
    r"Place|Pl\.?|Square|Sq\.?|Terrace|Crescent|Close|Parkway|Pkwy\.?|Highway|Hwy\.?|Circle|Trail|Row"
)
_LOCALITY = r"[A-ZÀ-ÖØ-Þ][\w’'\-]*(?:[ \-](?:sur|sous|an|am|der|la|le|[A-ZÀ-ÖØ-Þ][\w’'\-]*)){0,3}"
_TAIL = (
    r"(?P<tail>\s*,?\s*(?:(?:bo[îi]te|bte|apt\.?|apartment|app\.?|suite|etage|[ée]tage)\s*\w+\s*,?\s*)?"
    rf"(?:(?:L|F|D|B|CH|A)\s?-\s?\d{{4,5}}|\d{{4,5}})\s+{_LOCALITY})?"
)

_PATTERNS = [
    # 12, rue de la Gare / 15 avenue de la Liberté / 3bis, place Guillaume II
    re.compile(rf"(?<![\w,.])(?:{_NUMBER})\s*,?\s+(?:{_FR_TYPES})\s+{_NAME}{_TAIL}"),
    # rue Principale 78, L-8001 Strassen (Luxembourgish usage: the number after the street)
    re.compile(rf"(?<![\w,.])(?:{_FR_TYPES})\s+{_NAME}\s+{_NUMBER}(?!\d){_TAIL}"),
    # Am Markt 45 / An der Mosel 3 / Op der Hei 12
    re.compile(
        rf"(?<!\w)(?:Am|An der|Auf der|Im|Zum|Zur|Op der|Um|In der)\s+{_NAME}\s+{_NUMBER}(?!\d){_TAIL}"
    ),
    # Hauptstraße 5 / Rue de la Gare 12 / Berliner Straße 12a / Haaptstrooss 3
    re.compile(rf"(?<!\w){_CAP}(?:{_DE_SUFFIXES})\s+{_NUMBER}(?!\d){_TAIL}"),
    re.compile(rf"(?<!\w){_NAME}\s+(?:{_DE_WORDS})\s+{_NUMBER}(?!\d){_TAIL}"),
    # 221 Baker Street / 6750 Elm St.
    re.compile(rf"(?<![\w,.])\d{{1,5}}\s+{_NAME}\s+(?:{_EN_TYPES})(?!\w){_TAIL}"),
]
# rue de la Gare, L-1611 Luxembourg: a street without a number counts only with its postcode.
_STREET_WITH_POSTCODE = re.compile(
    rf"(?<!\w)(?:{_FR_TYPES})\s+{_NAME}\s*,?\s*(?:L|F|B)\s?-\s?\d{{4,5}}\s+{_LOCALITY}"
)


class AddressRecognizer:
    """Street addresses with a house number or a postcode."""

    def find(self, text: str, language: str | None) -> Iterator[Entity]:
        """Every street address, extended to the postcode and locality that follow it."""
        for pattern in _PATTERNS:
            for match in pattern.finditer(text):
                end = match.end()
                while text[end - 1] in " ,-":
                    end -= 1
                score = 0.9 if match.group("tail") else 0.85
                yield Entity(match.start(), end, EntityType.ADDRESS, score)
        for match in _STREET_WITH_POSTCODE.finditer(text):
            yield Entity(match.start(), match.end(), EntityType.ADDRESS, 0.85)
