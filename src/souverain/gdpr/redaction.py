"""Masking other people's personal data in the free texts of a subject access export (GDPR Art. 15(4)).

A stored conversation may name other people besides the subject (a colleague's e-mail address, a
relative's matricule): a copy given to the subject must not hand those over. An identifier is kept when its
subject identifier, derived with the same key as on the request path, is one the export is about; every
other detected value becomes its type in brackets (``[EMAIL]``, ``[LU_MATRICULE]``).
"""

from __future__ import annotations

from collections.abc import Collection

from souverain.privacy.detector import Detector
from souverain.privacy.entities import Entity
from souverain.privacy.subjects import SubjectKeys


class Redactor:
    """Masks the personal data of a text that is not the subject's own (thread-safe, like its detector)."""

    def __init__(self, detector: Detector, keys: SubjectKeys) -> None:
        self.detector = detector
        self.keys = keys

    def redact(self, text: str, own: Collection[str], language: str | None = None) -> str:
        """``text`` with every detected value masked as ``[TYPE]`` except the identifiers of ``own``.

        Only identifiers (``IDENTIFYING``) can be tied to a subject identifier: names, addresses, dates of
        birth and the like are masked even when they are the subject's own, since nothing tells whose they
        are. A detection failure raises ``DetectionError``: the text is never returned unmasked.
        """
        kept: list[str] = []
        cursor = 0
        for entity in self.detector.analyze(text, language):  # non-overlapping, in text order
            kept.append(text[cursor : entity.start])
            kept.append(entity.value(text) if self._is_own(entity, text, own) else f"[{entity.type.value}]")
            cursor = entity.end
        kept.append(text[cursor:])
        return "".join(kept)

    def _is_own(self, entity: Entity, text: str, own: Collection[str]) -> bool:
        subject = self.keys.subject_of(entity.type, entity.value(text))
        return subject is not None and subject in own
