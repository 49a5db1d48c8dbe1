"""Deterministic overlap resolution: from candidate spans, the set of non-overlapping entities to report."""

from __future__ import annotations

from collections.abc import Iterable

from souverain.privacy.entities import SPECIFICITY, Entity, EntityType


def merge_same_type(candidates: Iterable[Entity]) -> list[Entity]:
    """Join overlapping or touching spans of one type into their union (a name found by a rule and by the
    model, an address found by two patterns), keeping the highest score."""
    by_type: dict[EntityType, list[Entity]] = {}
    for entity in candidates:
        by_type.setdefault(entity.type, []).append(entity)
    merged: list[Entity] = []
    for entity_type, spans in by_type.items():
        spans.sort(key=lambda e: (e.start, e.end))
        current = spans[0]
        for span in spans[1:]:
            if span.start <= current.end:
                current = Entity(
                    current.start, max(current.end, span.end), entity_type, max(current.score, span.score)
                )
            else:
                merged.append(current)
                current = span
        merged.append(current)
    return merged


def resolve(candidates: Iterable[Entity]) -> list[Entity]:
    """Non-overlapping entities, in text order: the highest score wins, then the longest span, then the most
    specific type, then the earliest start, so the same input always gives the same output."""
    ranked = sorted(
        merge_same_type(candidates),
        key=lambda e: (-e.score, -(e.end - e.start), SPECIFICITY[e.type], e.start),
    )
    kept: list[Entity] = []
    for entity in ranked:
        if not any(entity.overlaps(other) for other in kept):
            kept.append(entity)
    return sorted(kept, key=lambda e: e.start)
