"""Identifiers validated by their check digits: LU matricule, IBAN, LU VAT, FR NIR, BE national number,
German tax id and payment cards. A number that fails its checksum is not reported as that type.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from souverain.privacy import checksums
from souverain.privacy.entities import Entity, EntityType

# Digit groups joined by single separators; a leading "+" marks a phone number, not an identifier.
_DIGIT_RUN = re.compile(r"(?<![\w+])\d+(?:[ .\-/]\d+)*(?!\w)")
_DIGIT_GROUP = re.compile(r"\d+")
_IBAN = re.compile(r"(?<!\w)[A-Z]{2}\d{2}(?:[ \-]?[A-Z0-9]){8,32}(?!\w)")
_IBAN_GROUP = re.compile(r"[A-Z0-9]+")
_LU_VAT = re.compile(r"(?<!\w)LU[ \-]?\d{2}[ .\-]?\d{2}[ .\-]?\d{2}[ .\-]?\d{2}(?!\w)")
_FR_NIR = re.compile(
    r"(?<![\w+])[1-478][ .\-]?\d{2}[ .\-]?\d{2}[ .\-]?(?:\d{2}|2[AB])"
    r"[ .\-]?\d{3}[ .\-]?\d{3}[ .\-]?\d{2}(?!\w)",
    re.IGNORECASE,
)

_MAX_GROUPS = 8  # longest group sequence tried inside one run (a card in 4-digit groups plus slack)

Check = tuple[EntityType, float, Callable[[str], bool]]

# Per compact length, the identifiers of that length, with the score a valid one gets: the weaker the
# checksum (the more random numbers pass it), the lower the score.
_BY_LENGTH: dict[int, list[Check]] = {
    11: [
        (EntityType.BE_NATIONAL_NUMBER, 0.9, checksums.is_be_national_number),
        (EntityType.DE_TAX_ID, 0.85, checksums.is_de_tax_id),
    ],
    13: [(EntityType.LU_MATRICULE, 0.99, checksums.is_lu_matricule)],
    15: [(EntityType.FR_NIR, 0.99, checksums.is_fr_nir)],
}
for _length in range(12, 20):
    _BY_LENGTH.setdefault(_length, []).append((EntityType.CREDIT_CARD, 0.95, checksums.is_payment_card))


def _group_spans(text: str, start: int, end: int, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    return [(start + m.start(), start + m.end()) for m in pattern.finditer(text[start:end])]


class IdentifierRecognizer:
    """Finds checksum-validated identifiers, with or without spaces, dots or dashes."""

    def find(self, text: str, language: str | None) -> Iterator[Entity]:
        """Every valid identifier; digit runs are also tried group by group (a date glued to a number)."""
        for match in _DIGIT_RUN.finditer(text):
            yield from self._digit_runs(text, match.start(), match.end())
        for match in _IBAN.finditer(text):
            yield from self._iban(text, match.start(), match.end())
        for match in _LU_VAT.finditer(text):
            if checksums.is_lu_vat(match.group()):
                yield Entity(match.start(), match.end(), EntityType.LU_VAT, 0.95)
        for match in _FR_NIR.finditer(text):
            if checksums.is_fr_nir(match.group()):
                yield Entity(match.start(), match.end(), EntityType.FR_NIR, 0.99)

    def _digit_runs(self, text: str, start: int, end: int) -> Iterator[Entity]:
        groups = _group_spans(text, start, end, _DIGIT_GROUP)
        for i in range(len(groups)):
            length = 0
            for j in range(i, min(len(groups), i + _MAX_GROUPS)):
                length += groups[j][1] - groups[j][0]
                if length > 19:
                    break
                checks = _BY_LENGTH.get(length)
                if not checks:
                    continue
                value = text[groups[i][0] : groups[j][1]]
                for entity_type, score, check in checks:
                    if check(value):
                        yield Entity(groups[i][0], groups[j][1], entity_type, score)

    def _iban(self, text: str, start: int, end: int) -> Iterator[Entity]:
        # The pattern may swallow an upper-case word after the IBAN: try the longest valid prefix.
        groups = _group_spans(text, start, end, _IBAN_GROUP)
        for j in range(len(groups) - 1, -1, -1):
            value_end = groups[j][1]
            if checksums.is_iban(text[start:value_end]):
                yield Entity(start, value_end, EntityType.IBAN, 0.99)
                return
