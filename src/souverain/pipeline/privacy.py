"""Privacy stage: personal data in a request is found and, per the use case's policy, passed on, counted,
pseudonymised (and restored in the answer), redacted, or refused, before any backend sees it.

It runs last before routing. The router picks the backend only afterwards, so the rule "a backend in the
external zone receives pseudonymised text at least" is applied to every backend the call could be routed
to: if any cleared route of the model is external, ``off`` and ``detect`` become ``pseudonymize``.
Detection covers every message's text (string content, text parts, tool-call arguments) and the ``user``
field of chat requests, and every embeddings input. A chat request's vault is the conversation's when the
client sends ``X-Conversation-Id`` (the route puts it in ``call.notes["conversation_id"]``), scoped to the
use case (another use case's key sending the same id gets another vault), else one that lives for this
request only. Only entity types and counts are noted on the call (for events); values are
never logged. Any failure refuses the request (fail closed): ``DetectionError`` is 503
``privacy_unavailable``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from souverain.backends.base import Backend
from souverain.errors import DetectionError, Forbidden, PolicyRefused, SouverainError
from souverain.governance.principal import PrivacyPolicy, UseCaseView
from souverain.pipeline.call import Call
from souverain.privacy.budget import detect
from souverain.privacy.detector import Detector
from souverain.privacy.entities import Entity
from souverain.privacy.restore import Restorer
from souverain.privacy.subject_links import SubjectLinks
from souverain.privacy.subjects import SubjectKeys
from souverain.privacy.transform import pseudonymize, redact
from souverain.privacy.vault import vault_scope
from souverain.privacy.vault_store import VaultStore
from souverain.settings import PrivacySettings, Zone

logger = logging.getLogger(__name__)

_AT_LEAST_PSEUDONYMIZED = frozenset({PrivacyPolicy.PSEUDONYMIZE, PrivacyPolicy.REDACT, PrivacyPolicy.BLOCK})


@dataclass
class TextSlot:
    """One text of the payload and how to write its replacement back."""

    text: str = field(repr=False)  # personal data: kept out of any repr()
    write: Callable[[str], None] = field(repr=False)


def _slot(container: dict[str, Any], key: str) -> TextSlot | None:
    value = container.get(key)
    if not isinstance(value, str):
        return None
    return TextSlot(value, partial(container.__setitem__, key))


def _message_slots(message: dict[str, Any]) -> Iterable[TextSlot | None]:
    content = message.get("content")
    if isinstance(content, list):
        yield from (_slot(p, "text") for p in content if isinstance(p, dict) and p.get("type") == "text")
    else:
        yield _slot(message, "content")
    for tool_call in message.get("tool_calls") or ():
        if isinstance(tool_call, dict) and isinstance(tool_call.get("function"), dict):
            yield _slot(tool_call["function"], "arguments")


def text_slots(call: Call) -> list[TextSlot]:
    """Every text of the payload that may carry personal data."""
    payload = call.payload
    if call.action == "embeddings":
        inputs: list[str] = payload["input"]
        return [TextSlot(text, partial(inputs.__setitem__, i)) for i, text in enumerate(inputs)]
    found = [_slot(payload, "user")]
    for message in payload.get("messages") or ():
        if isinstance(message, dict):
            found.extend(_message_slots(message))
    return [slot for slot in found if slot is not None]


def effective_policy(policy: PrivacyPolicy, zones: Iterable[Zone]) -> PrivacyPolicy:
    """The use case's policy, raised to ``pseudonymize`` when an external backend may serve the call."""
    if Zone.EXTERNAL in set(zones) and policy not in _AT_LEAST_PSEUDONYMIZED:
        return PrivacyPolicy.PSEUDONYMIZE
    return policy


def check_block(use_case: UseCaseView, found: Sequence[Sequence[Entity]]) -> None:
    """Refuse (403) when a type the use case blocks was found, naming the types, never the values."""
    blocked = set(use_case.privacy_block_types)
    hits = sorted({e.type.value for entities in found for e in entities if not blocked or e.type in blocked})
    if hits:
        raise PolicyRefused(
            f"The use case {use_case.name!r} does not accept personal data of these types: "
            f"{', '.join(hits)}.",
            code="personal_data_blocked",
        )


def annotate(call: Call, found: Sequence[Sequence[Entity]]) -> None:
    """Note the entity types and their counts on the call (never the values)."""
    counts = Counter(e.type.value for entities in found for e in entities)
    call.notes["entity_types"] = sorted(counts)
    call.notes["entity_counts"] = dict(sorted(counts.items()))


class PrivacyStage:
    """Applies the use case's personal-data policy to the payload before routing (fail closed)."""

    name = "privacy"

    def __init__(
        self,
        detector: Detector,
        vault: VaultStore,
        settings: PrivacySettings,
        backends: Mapping[str, Backend],
        subjects: SubjectKeys,
        links: SubjectLinks,
    ) -> None:
        self.detector = detector
        self.vault = vault
        self.settings = settings
        self.backends = backends
        self.subjects = subjects
        self.links = links

    async def before(self, call: Call) -> None:
        """Detect, then pass on, pseudonymise, redact or refuse; any failure refuses (503)."""
        try:
            await self._protect(call)
        except SouverainError:
            raise
        except Exception as exc:  # whatever broke, the text must not go on unprotected
            logger.error("privacy stage failed: %s", type(exc).__name__)
            raise DetectionError(
                "Personal-data protection failed; the request was refused.", code="privacy_failed"
            ) from exc

    async def after(self, call: Call) -> None:
        return None

    def candidate_zones(self, call: Call) -> set[Zone]:
        """The zones of every backend the router could choose for this call."""
        backends = (self.backends[route.backend] for route in call.model.routes)
        return {b.settings.zone for b in backends if call.allowed is None or call.allowed(b)}

    async def _protect(self, call: Call) -> None:
        use_case = call.principal.use_case
        if use_case is None:
            raise Forbidden("This key is not bound to a use case and cannot call models.", code="no_use_case")
        policy = effective_policy(use_case.privacy_policy, self.candidate_zones(call))
        call.notes["privacy_policy"] = policy.value
        if policy is PrivacyPolicy.OFF:
            return
        slots = text_slots(call)
        found = await detect(self.detector, [s.text for s in slots], self.settings.detection_budget_ms)
        annotate(call, found)
        scope = vault_scope(use_case.tenant_id, use_case.id)
        await self._note_subjects(call, scope, use_case.retention_days, slots, found)
        logger.debug("privacy %s: %s", policy.value, call.notes["entity_counts"])
        if policy is PrivacyPolicy.DETECT:
            return
        if policy is PrivacyPolicy.BLOCK:
            check_block(use_case, found)
        if policy is PrivacyPolicy.REDACT:
            for slot, entities in zip(slots, found, strict=True):
                if entities:
                    slot.write(redact(slot.text, entities))
            return
        await self._pseudonymize(call, scope, slots, found)

    async def _note_subjects(
        self, call: Call, scope: str, keep_days: int, slots: list[TextSlot], found: list[list[Entity]]
    ) -> None:
        """Note who the request is about (pseudonymous identifiers), and link them to its conversation."""
        values = (
            (e.value(s.text), e.type) for s, entities in zip(slots, found, strict=True) for e in entities
        )
        subjects = self.subjects.subjects_of(values)
        if not subjects:
            return
        call.notes["subjects"] = subjects
        conversation = call.notes.get("conversation_id")
        if conversation is not None:
            await asyncio.to_thread(self.links.link, scope, conversation, subjects, keep_days)

    async def _pseudonymize(
        self, call: Call, scope: str, slots: list[TextSlot], found: list[list[Entity]]
    ) -> None:
        """Replace values by the vault's placeholders; a chat answer gets them restored."""
        conversation = call.notes.get("conversation_id") if call.action == "chat.completion" else None
        items = [
            (e.value(s.text), e.type) for s, entities in zip(slots, found, strict=True) for e in entities
        ]
        if not items and conversation is None:
            return
        vault = await asyncio.to_thread(self.vault.assign, scope, conversation, items)
        for slot, entities in zip(slots, found, strict=True):
            if entities:
                slot.write(pseudonymize(slot.text, entities, vault))
        if call.action == "chat.completion" and len(vault):
            call.output_filters.append(Restorer(vault.values()))
