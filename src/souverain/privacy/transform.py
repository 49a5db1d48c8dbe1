"""Rewriting text around detected entities: typed placeholders (reversible) or type names (irreversible)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from souverain.privacy.entities import Entity
from souverain.privacy.vault import Vault


def substitute(text: str, entities: Sequence[Entity], replacement: Callable[[Entity], str]) -> str:
    """``text`` with each (non-overlapping) entity's span replaced by ``replacement(entity)``."""
    parts: list[str] = []
    position = 0
    for entity in sorted(entities, key=lambda e: e.start):
        parts.append(text[position : entity.start])
        parts.append(replacement(entity))
        position = entity.end
    parts.append(text[position:])
    return "".join(parts)


def pseudonymize(text: str, entities: Sequence[Entity], vault: Vault) -> str:
    """Each value replaced by its placeholder in ``vault`` (``<PERSON_1>``), new ones added."""
    return substitute(text, entities, lambda e: vault.placeholder(e.value(text), e.type))


def redact(text: str, entities: Sequence[Entity]) -> str:
    """Each value replaced by its type in brackets (``[PERSON]``): nothing can restore it."""
    return substitute(text, entities, lambda e: f"[{e.type.value}]")
