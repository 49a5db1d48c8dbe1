"""The privacy endpoints: ``POST /v1/privacy/analyze`` and ``POST /v1/privacy/pseudonymize`` (app keys).

``analyze`` returns the entities of a text as character spans and types (never the values);
``pseudonymize`` returns the text with typed placeholders and the handle of the conversation's vault:
send its ``conversation_id`` as ``X-Conversation-Id`` with chat requests, and the placeholders in the
model's answers are restored (with a key of the same use case: vaults are per use case). The people whose
identifying values a stored vault holds are linked to it, as on the chat path, so that subject access and
erasure find it. Both fail closed (503 ``privacy_unavailable``) and both are recorded as events carrying
the entity types and counts only (and, for ``pseudonymize``, the pseudonymous subject identifiers).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeVar

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from souverain.api.auth import AppPrincipal
from souverain.api.deps import ServicesDep
from souverain.errors import Forbidden, SouverainError
from souverain.events import Event, emit_or_refuse
from souverain.governance.principal import Principal, UseCaseView
from souverain.privacy.budget import detect
from souverain.privacy.entities import Entity
from souverain.privacy.subject_record import link_values
from souverain.privacy.subjects import event_subject
from souverain.privacy.transform import pseudonymize
from souverain.privacy.vault import check_conversation_id, vault_scope
from souverain.state import Services

router = APIRouter(prefix="/v1/privacy", tags=["privacy"])

T = TypeVar("T")

MAX_TEXT = 100_000
Language = Literal["fr", "de", "en", "lb"]


class AnalyzeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    text: str = Field(max_length=MAX_TEXT, description="The text to examine.")
    language: Language | None = Field(None, description="Language hint; the detector handles all four.")


class PseudonymizeRequest(AnalyzeRequest):
    conversation_id: str | None = Field(
        None, description="The conversation whose vault to use; a new one is started when absent."
    )


class EntityOut(BaseModel):
    start: int = Field(description="First character of the span.")
    end: int = Field(description="Character after the span (end exclusive).")
    type: str = Field(description="Canonical entity type, e.g. LU_MATRICULE.")
    score: float

    @classmethod
    def of(cls, entity: Entity) -> EntityOut:
        """The public form of an entity."""
        return cls(start=entity.start, end=entity.end, type=entity.type.value, score=round(entity.score, 4))


class AnalyzeResponse(BaseModel):
    entities: list[EntityOut]


class VaultHandle(BaseModel):
    conversation_id: str = Field(description="Send it as X-Conversation-Id to have answers restored.")
    expires_at: datetime = Field(description="When the vault becomes unreadable and is purged.")


class PseudonymizeResponse(BaseModel):
    text: str = Field(description="The text with typed placeholders such as <PERSON_1>.")
    entities: list[EntityOut] = Field(description="The replaced spans, in the original text.")
    vault: VaultHandle


@dataclass(frozen=True)
class Found:
    """What an operation found: the entities (their types and counts go on the event) and the
    pseudonymous identifiers of the people its stored vault now holds values of."""

    entities: Sequence[Entity] = ()
    subjects: Sequence[str] = ()


def _use_case(principal: Principal) -> UseCaseView:
    if principal.use_case is None:
        raise Forbidden("This key is not bound to a use case.", code="no_use_case")
    return principal.use_case


async def _recorded(
    services: Services,
    request: Request,
    action: str,
    principal: Principal,
    operation: Callable[[], Awaitable[tuple[T, Found]]],
) -> T:
    """Run ``operation`` and record its outcome (types and counts only) before answering."""
    try:
        result, found = await operation()
    except SouverainError as exc:
        await _record(services, request, action, principal, Found(), exc.status_code)
        raise
    await _record(services, request, action, principal, found, 200)
    return result


async def _record(
    services: Services,
    request: Request,
    action: str,
    principal: Principal,
    found: Found,
    status: int,
) -> None:
    counts = Counter(e.type.value for e in found.entities)
    use_case = principal.use_case
    event = Event(
        action=action,
        outcome="success" if status == 200 else ("refused" if status < 500 else "error"),
        request_id=str(request.scope.get("state", {}).get("request_id", "-")),
        actor=principal.key_prefix,
        tenant=use_case.tenant if use_case else None,
        use_case=use_case.name if use_case else None,
        purpose=use_case.purpose if use_case else None,
        status=status,
        entity_types=tuple(sorted(counts)),
        subject=event_subject(found.subjects),
        details={"entity_counts": dict(sorted(counts.items()))},
    )
    await emit_or_refuse(services.events, event)


async def _detect(services: Services, body: AnalyzeRequest) -> list[Entity]:
    budget = services.settings.privacy.detection_budget_ms
    [found] = await detect(services.detector, [body.text], budget, body.language)
    return found


async def _analyze(services: Services, body: AnalyzeRequest) -> tuple[AnalyzeResponse, Found]:
    found = await _detect(services, body)
    return AnalyzeResponse(entities=[EntityOut.of(e) for e in found]), Found(found)


async def _pseudonymize(
    services: Services, principal: Principal, body: PseudonymizeRequest
) -> tuple[PseudonymizeResponse, Found]:
    use_case = _use_case(principal)
    scope = vault_scope(use_case.tenant_id, use_case.id)
    conversation = uuid.uuid4().hex if body.conversation_id is None else body.conversation_id
    check_conversation_id(conversation, param="conversation_id")
    found = await _detect(services, body)
    items = [(e.value(body.text), e.type) for e in found]
    vault = await asyncio.to_thread(services.vault.assign, scope, conversation, items)
    # the people the vault now holds values of are linked to it, as on the chat path, so that subject
    # access and erasure find it; their pseudonymous identifiers go on the event
    privacy = services.privacy
    subjects = await link_values(
        privacy.subjects, privacy.links, scope, conversation, items, use_case.retention_days
    )
    response = PseudonymizeResponse(
        text=pseudonymize(body.text, found, vault),
        entities=[EntityOut.of(e) for e in found],
        vault=VaultHandle(conversation_id=conversation, expires_at=vault.expires_at),
    )
    return response, Found(found, subjects)


@router.post("/analyze")
async def analyze(
    body: AnalyzeRequest, request: Request, services: ServicesDep, principal: AppPrincipal
) -> AnalyzeResponse:
    return await _recorded(services, request, "privacy.analyze", principal, lambda: _analyze(services, body))


@router.post("/pseudonymize")
async def pseudonymize_text(
    body: PseudonymizeRequest, request: Request, services: ServicesDep, principal: AppPrincipal
) -> PseudonymizeResponse:
    return await _recorded(
        services, request, "privacy.pseudonymize", principal, lambda: _pseudonymize(services, principal, body)
    )
