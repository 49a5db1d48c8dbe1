"""E-mail addresses, IP addresses (v4 and v6, checked by ``ipaddress``) and phone numbers (``phonenumbers``).

Phones are the hard case: Luxembourg numbers have no trunk prefix and landlines as short as six digits, so
a bare run of digits is only a phone when it is long enough, written internationally, or announced by a
context word; amounts, dates and case references next to it veto it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

import phonenumbers

from souverain.privacy.entities import Entity, EntityType

_EMAIL = re.compile(
    r"(?<![\w.%+\-])[\w%+\-]+(?:\.[\w%+\-]+)*@[\w\-]+(?:\.[\w\-]+)*\.[A-Za-z]{2,24}(?![\w\-])"
)
_IPV4 = re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w]|\.\d)")
_IPV6 = re.compile(
    r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|\d{1,3}(?:\.\d{1,3}){3})?(?![\w:])"
)

# A cluster of at least six digits, optionally international: phonenumbers only ever sees these windows,
# which keeps its cost proportional to the digits in a message, not to its length.
_CLUSTER = re.compile(r"(?:\+|(?<!\d)00)?\(?\d(?:[ \t.\-/()]{0,3}\d){5,}(?:\s?(?:x|ext\.?)\s?\d{1,5})?")
_PHONE_CONTEXT = re.compile(
    r"(t[ée]l[ée]?phone|t[ée]l\b|tel\b|gsm|portable|mobile?|fax|appel|joindre|telefon|handy|anruf|ruf\b|"
    r"erreichbar|phone|call|cell|whatsapp|uruff|contact|kontakt)",
    re.IGNORECASE,
)
# Dates (ISO, dd.mm.yyyy), a date followed by a time, US social security and licence formats.
_NOT_A_PHONE = re.compile(
    r"^(\d{4}-\d{2}(-\d{2})?|\d{1,2}[./\-]\d{1,2}[./\-]\d{2,4}|\d{3}-\d{2}-\d{4}|\d{4}-\d{2}-\d{4}|"
    r"\d{4}[./\-]\d{4})(\s|$)"
)
_REFERENCE_BEFORE = re.compile(
    r"(art(icle)?s?\.?|§|loi|gesetz|law|r[ée]f(\.|[ée]rence)?|dossier|affaire|aktenzeichen|az\.?|case|"
    r"formulaire|formular|form|iban|tva|vat|compte|konto|account|matricule|bus|ligne|linie|route|"
    r"code|postal|jahr|ann[ée]e|year|page|seite|p\.)\s*(n[°o]\.?|nr\.?|no\.?|num\.?)?\s*[:#]?\s*$",
    re.IGNORECASE,
)
_AMOUNT_AFTER = re.compile(r"^\s*(,\d|€|eur\b|euros?\b|%|chf\b|usd\b|\$|m²|m2\b|km\b|kg\b)", re.IGNORECASE)
_REGIONS = ("LU", "FR", "DE", "BE")
_EXTRA_REGIONS = {"en": ("GB", "US")}
_MIN_BARE_DIGITS = 8
_MAX_UNSEPARATED_DIGITS = 9  # a longer unbroken run without context is an identifier, not a phone


class EmailRecognizer:
    """E-mail addresses."""

    def find(self, text: str, language: str | None) -> Iterator[Entity]:
        """Every address of the form local@domain.tld."""
        for match in _EMAIL.finditer(text):
            yield Entity(match.start(), match.end(), EntityType.EMAIL, 0.99)


class IpAddressRecognizer:
    """IPv4 and IPv6 addresses that ``ipaddress`` accepts."""

    def find(self, text: str, language: str | None) -> Iterator[Entity]:
        """Every valid IPv4 or IPv6 address."""
        for match in _IPV4.finditer(text):
            try:
                ipaddress.IPv4Address(match.group())
            except ValueError:
                continue
            yield Entity(match.start(), match.end(), EntityType.IP_ADDRESS, 0.9)
        for match in _IPV6.finditer(text):
            value = match.group()
            if value.count(":") < 2 or not any(c.isalnum() for c in value):
                continue
            try:
                ipaddress.IPv6Address(value)
            except ValueError:
                continue
            yield Entity(match.start(), match.end(), EntityType.IP_ADDRESS, 0.9)


class PhoneRecognizer:
    """Phone numbers valid for Luxembourg (default region), France, Germany or Belgium, or international;
    for English text also the United Kingdom and the United States."""

    def __init__(self, regions: tuple[str, ...] = _REGIONS) -> None:
        self._regions = regions

    def find(self, text: str, language: str | None) -> Iterator[Entity]:
        """Valid numbers, minus those that look like amounts, dates, references or bare digit runs."""
        regions = self._regions + _EXTRA_REGIONS.get(language or "", ())
        for cluster in _CLUSTER.finditer(text):
            yield from self._in_window(
                text, cluster.start(), cluster.end(), _plausible(cluster.group(), regions)
            )

    def _in_window(self, text: str, start: int, end: int, regions: tuple[str, ...]) -> Iterator[Entity]:
        window = text[start:end]
        # "+<country code> ..." is a phone number even when the number is not allocated (yet): only its
        # length is checked. A national-format number must be valid for the region.
        international = window.startswith(("+", "00"))
        leniency = phonenumbers.Leniency.POSSIBLE if international else phonenumbers.Leniency.VALID
        seen: list[tuple[int, int]] = []
        for region in regions:
            for match in phonenumbers.PhoneNumberMatcher(window, region, leniency=leniency):
                s, e = start + match.start, start + match.end
                if any(a < e and s < b for a, b in seen):
                    continue
                score = _score(text, s, e, match.number)
                if score > 0:
                    seen.append((s, e))
                    yield Entity(s, e, EntityType.PHONE, score)


def _plausible(cluster: str, regions: tuple[str, ...]) -> tuple[str, ...]:
    """The regions worth trying: an international number parses in any region, a trunk 0 rules out
    Luxembourg (which has none), and no trunk 0 rules out the countries that require one."""
    if cluster.startswith(("+", "00")):
        return regions[:1]
    if cluster.lstrip("(").startswith("0"):
        return tuple(r for r in regions if r != "LU")
    return tuple(r for r in regions if r in ("LU", "US"))


def _score(text: str, start: int, end: int, number: phonenumbers.PhoneNumber) -> float:
    """0 to reject the match, else the confidence that it is a phone number."""
    raw = text[start:end]
    before, after = text[max(0, start - 40) : start], text[end : end + 8]
    if _REFERENCE_BEFORE.search(before) or _AMOUNT_AFTER.match(after) or _NOT_A_PHONE.match(raw):
        return 0.0
    if raw.startswith(("+", "00")) or before.endswith("+"):
        return 0.9
    if _PHONE_CONTEXT.search(before):
        return 0.9
    digits = sum(c.isdigit() for c in raw)
    if digits < _MIN_BARE_DIGITS or (raw.isdigit() and digits > _MAX_UNSEPARATED_DIGITS):
        return 0.0
    return 0.75
