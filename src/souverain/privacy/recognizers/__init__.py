"""Recognizers, one module per family; each finds candidate spans of a few entity types in a text.

A recognizer is any object with ``find(text, language) -> Iterable[Entity]``. Candidates may overlap; the
detector resolves overlaps. Recognizers are stateless after construction, so one instance serves all threads.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from souverain.privacy.entities import Entity


class Recognizer(Protocol):
    """Finds candidate entities of some types."""

    def find(self, text: str, language: str | None) -> Iterable[Entity]:
        """Candidate spans in ``text``; ``language`` (fr, de, en, lb) is a hint and may be None."""
        ...
