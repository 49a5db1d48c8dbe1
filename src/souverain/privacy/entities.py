"""What the detector reports: typed character spans, never the values themselves."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class EntityType(StrEnum):
    """The canonical personal-data types souverain detects."""

    PERSON = "PERSON"
    EMAIL = "EMAIL"
    PHONE = "PHONE"
    LU_MATRICULE = "LU_MATRICULE"
    IBAN = "IBAN"
    LU_VAT = "LU_VAT"
    FR_NIR = "FR_NIR"
    BE_NATIONAL_NUMBER = "BE_NATIONAL_NUMBER"
    DE_TAX_ID = "DE_TAX_ID"
    CREDIT_CARD = "CREDIT_CARD"
    ADDRESS = "ADDRESS"
    LICENSE_PLATE = "LICENSE_PLATE"
    DATE_OF_BIRTH = "DATE_OF_BIRTH"
    IP_ADDRESS = "IP_ADDRESS"


# Tie-break when two overlapping spans have the same score and length: a validated identifier says more
# about the span than a pattern, and a pattern more than the statistical name model.
SPECIFICITY: dict[EntityType, int] = {
    EntityType.LU_MATRICULE: 0,
    EntityType.FR_NIR: 1,
    EntityType.BE_NATIONAL_NUMBER: 2,
    EntityType.IBAN: 3,
    EntityType.CREDIT_CARD: 4,
    EntityType.LU_VAT: 5,
    EntityType.DE_TAX_ID: 6,
    EntityType.EMAIL: 7,
    EntityType.IP_ADDRESS: 8,
    EntityType.PHONE: 9,
    EntityType.LICENSE_PLATE: 10,
    EntityType.DATE_OF_BIRTH: 11,
    EntityType.ADDRESS: 12,
    EntityType.PERSON: 13,
}


@dataclass(frozen=True, slots=True)
class Entity:
    """One detected span: ``text[start:end]`` (character offsets, end exclusive) is personal data of ``type``.

    The value is deliberately not stored, so that entities can be logged, counted and passed around without
    carrying the personal data they point at.
    """

    start: int
    end: int
    type: EntityType
    score: float

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end:
            raise ValueError(f"invalid span [{self.start}, {self.end})")

    def value(self, text: str) -> str:
        """The covered value, read from the text the entity was found in."""
        return text[self.start : self.end]

    def overlaps(self, other: Entity) -> bool:
        """Whether the two spans share at least one character."""
        return self.start < other.end and other.start < self.end

    def to_dict(self) -> dict[str, object]:
        """The JSON form used by the CLI and the API: start, end, type, score."""
        return {"start": self.start, "end": self.end, "type": self.type.value, "score": round(self.score, 4)}
