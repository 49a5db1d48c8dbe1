"""Licence plates and dates of birth: formats too common to report alone ("AB 1234" is also a form code, a
date is usually a procedure date), so they are reported only after a context word in fr, de, en or lb.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from souverain.privacy.entities import Entity, EntityType

_CONTEXT_WINDOW = 48

_PLATE_CONTEXT = re.compile(
    r"(plaque|immatricul|kennzeichen|nummernschild|kfz|licen[cs]e|number\s+plate|registration|reg\.|"
    r"plack|nummerplack|numm?erschëld|v[ée]hicule|voiture|fahrzeug|wagen|auto\b|car\b|vehicle|camion|"
    r"moto|scooter|camionnette|lkw|pkw)",
    re.IGNORECASE,
)
_PLATE = re.compile(
    r"(?<![\w\-])(?:"
    r"[A-Z]{2}[ \-]?\d{3}[ \-]?[A-Z]{2}"  # FR (SIV): AB-123-CD
    r"|[A-ZÄÖÜ]{1,3}[ \-][A-Z]{1,2}[ \-]?\d{1,4}[EH]?"  # DE: TR-AB 123, B AB 1234
    r"|\d[ \-]?[A-Z]{3}[ \-]?\d{3}"  # BE: 1-ABC-123
    r"|[A-Z]{2}[ \-]?\d{4}"  # LU: AB 1234
    r"|\d{1,4}[ \-]?[A-Z]{2,3}[ \-]?\d{2}"  # FR (FNI): 123 ABC 75
    r")(?![\w\-])"
)

_DOB_CONTEXT = re.compile(
    r"(n[ée]e?(\s*\(e\))?\s+le|date\s+de\s+naissance|naissance|geboren(\s+am)?|geb\.|geburtsdatum|"
    r"geburtstag|date\s+of\s+birth|birth\s*date|born(\s+on)?|d\.?\s?o\.?\s?b\.?|birthday|"
    r"gebuer(en)?(\s+(den|de|am|um))?|gebuertsdatum|gebuertsdag)(\s*[:,]?\s*(le|am|on|den|de|der|the|is|est|ist|ass|was|war|:))*\s*[:,]?\s*$",
    re.IGNORECASE,
)
_MONTHS = (
    r"janvier|f[ée]vrier|mars|avril|mai|juin|juillet|ao[ûu]t|septembre|octobre|novembre|d[ée]cembre|"
    r"januar|j[äa]nner|februar|m[äa]rz|m[äa]erz|april|abr[ëe]ll|mee|juni|juli|august|september|oktober|"
    r"november|dezember|january|february|march|may|june|july|october|december|"
    r"jan\.?|f[ée]v\.?|feb\.?|m[äa]r\.?|apr\.?|avr\.?|jun\.?|jul\.?|juil\.?|aug\.?|sep\.?|sept\.?|oct\.?|"
    r"okt\.?|nov\.?|d[ée]c\.?|dez\.?"
)
_DATE = re.compile(
    r"(?<![\w./\-])(?:"
    r"\d{1,2}[./\-]\d{1,2}[./\-](?:\d{4}|\d{2})"
    r"|\d{4}-\d{2}-\d{2}"
    rf"|(?:1er|\d{{1,2}})\.?\s+(?:{_MONTHS})\s+\d{{4}}"
    rf"|(?:{_MONTHS})\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    r")(?![\w/\-]|\.\d)",
    re.IGNORECASE,
)


class LicensePlateRecognizer:
    """Licence plates (LU, FR, DE, BE formats) after a vehicle or plate context word."""

    def find(self, text: str, language: str | None) -> Iterator[Entity]:
        """Plates whose preceding words mention a plate or a vehicle."""
        for match in _PLATE.finditer(text):
            before = text[max(0, match.start() - _CONTEXT_WINDOW) : match.start()]
            if _PLATE_CONTEXT.search(before):
                yield Entity(match.start(), match.end(), EntityType.LICENSE_PLATE, 0.85)


class DateOfBirthRecognizer:
    """Dates directly announced as a birth date (né le, geboren am, date of birth, gebuer den, DOB...)."""

    def find(self, text: str, language: str | None) -> Iterator[Entity]:
        """Dates whose preceding words say they are a date of birth."""
        for match in _DATE.finditer(text):
            before = text[max(0, match.start() - _CONTEXT_WINDOW) : match.start()]
            if _DOB_CONTEXT.search(before):
                yield Entity(match.start(), match.end(), EntityType.DATE_OF_BIRTH, 0.9)
