"""Pseudonymous subject identifiers: who a request is about, without writing down who that is.

A person is recognised by an identifier that points at one individual (a matricule, an e-mail address, a
national number, an IBAN, a phone number). Its subject identifier is a keyed digest of the identifier's
normalised form, ``subj_`` + 32 hex digits: the same person gets the same identifier in every request, so
audit events, conversations and vaults can be found again for an access or erasure request (GDPR Art. 15,
17), while nobody without the key can go from the identifier back to the person, nor test a guess.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence

from souverain.privacy.entities import EntityType

PREFIX = "subj_"
PATTERN = re.compile(r"^subj_[0-9a-f]{32}$")
MAX_PER_EVENT = 5  # an audit event's subject field holds at most this many identifiers

# Types that identify one person on their own; a name, a date of birth or an address does not.
IDENTIFYING = frozenset(
    {
        EntityType.LU_MATRICULE,
        EntityType.EMAIL,
        EntityType.FR_NIR,
        EntityType.BE_NATIONAL_NUMBER,
        EntityType.DE_TAX_ID,
        EntityType.IBAN,
        EntityType.PHONE,
    }
)


def normalize(entity_type: EntityType, value: str) -> str:
    """The form two spellings of one identifier share: e-mails lower-cased, numbers without separators."""
    if entity_type is EntityType.EMAIL:
        return value.strip().lower()
    if entity_type is EntityType.PHONE:
        digits = re.sub(r"\D", "", value)
        return digits[2:] if digits.startswith("00") else digits
    return re.sub(r"[\s.\-/]", "", value).upper()


class SubjectKeys:
    """Derives subject identifiers with a key of their own (taken from the vault secret)."""

    def __init__(self, secret: bytes) -> None:
        self._key = hmac.new(secret, b"souverain-privacy/subject-id", hashlib.sha256).digest()

    def subject_id(self, entity_type: EntityType, value: str) -> str:
        """The pseudonymous identifier of the person ``value`` identifies."""
        message = f"{entity_type.value}\x00{normalize(entity_type, value)}".encode()
        return PREFIX + hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]

    def subject_of(self, entity_type: EntityType, value: str) -> str | None:
        """The subject identifier of ``value`` if its type identifies a person (None: a name, an address)."""
        return self.subject_id(entity_type, value) if entity_type in IDENTIFYING else None

    def subjects_of(self, items: Iterable[tuple[str, EntityType]]) -> list[str]:
        """The distinct subject identifiers of the identifying values among ``items``, sorted."""
        return sorted({self.subject_id(kind, value) for value, kind in items if kind in IDENTIFYING})


def event_subject(subjects: Sequence[str]) -> str | None:
    """The audit event's ``subject`` field: the first identifiers, space-separated (None when none)."""
    return " ".join(subjects[:MAX_PER_EVENT]) or None


def is_subject_id(text: str) -> bool:
    """Whether ``text`` is already a pseudonymous subject identifier."""
    return PATTERN.match(text) is not None
