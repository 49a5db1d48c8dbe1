"""Linking the people a stored text is about to its conversation, for texts kept outside the model path.

The chat path links the people whose identifying values it detects to the conversation's vault scope
(``pipeline/privacy.py``); a text kept elsewhere, such as a hand-over ticket's question, is linked the same
way, so that subject access and erasure find it. Detection failing refuses (``DetectionError``, 503): a
text that nobody could find again for its subject is not stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from souverain.privacy.budget import detect
from souverain.privacy.detector import Detector
from souverain.privacy.entities import EntityType
from souverain.privacy.subject_links import SubjectLinks
from souverain.privacy.subjects import SubjectKeys


async def link_values(
    keys: SubjectKeys,
    links: SubjectLinks,
    scope: str,
    conversation_id: str,
    values: Iterable[tuple[str, EntityType]],
    keep_days: int,
) -> list[str]:
    """The subject identifiers of the identifying ``values``, linked to the conversation for ``keep_days``
    at least (a stored vault or text that subject access and erasure must find)."""
    subjects = keys.subjects_of(values)
    if subjects:
        await asyncio.to_thread(links.link, scope, conversation_id, subjects, keep_days)
    return subjects


class SubjectRecorder:
    """Finds who a text is about (pseudonymous identifiers) and links them to a conversation."""

    def __init__(self, detector: Detector, keys: SubjectKeys, links: SubjectLinks, budget_ms: float) -> None:
        self.detector = detector
        self.keys = keys
        self.links = links
        self.budget_ms = budget_ms

    async def link(self, scope: str, conversation_id: str, text: str, keep_days: int) -> list[str]:
        """The subject identifiers of ``text``, linked to the conversation for ``keep_days`` at least."""
        [found] = await detect(self.detector, [text], self.budget_ms)
        values = ((e.value(text), e.type) for e in found)
        return await link_values(self.keys, self.links, scope, conversation_id, values, keep_days)
