"""Hand-over to a person: tickets (conversation, language, question) in a staff queue read through the API.

A ticket belongs to its conversation and goes with it (erasure, retention). Staff need the question as
the citizen wrote it, so it is kept as written (sealed at rest, opened for the staff queue); the people it
identifies are linked to the conversation (``AssistantService.hand_over``), so that subject access and
erasure find the ticket, and neither the question nor anything from it goes to logs, events or usage
records. Staff keys bound to a tenant see that tenant's tickets only, platform staff (keys bound to no
tenant) every tenant's. The methods do blocking database work: call them off the event loop.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from souverain.assistant.conversations import ConversationRef, Owner, StoredTexts, aware, utcnow
from souverain.assistant.models import Conversation, HandoverTicket
from souverain.governance.models import Tenant
from souverain.privacy.sealed_text import TextSealer

Status = Literal["open", "closed"]
STATUSES: tuple[Status, ...] = ("open", "closed")


@dataclass(frozen=True)
class Ticket:
    """A hand-over ticket as the staff queue shows it."""

    ticket_id: str
    conversation_id: str
    tenant: str
    use_case: str
    language: str
    question: str
    status: str
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "created_at": self.created_at.isoformat()}


class HandoverStore:
    """Creates tickets and lists the staff queue."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime] = utcnow,
        sealer: TextSealer | None = None,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.texts = StoredTexts(sealer)  # the question is sealed at rest, opened for the staff queue

    def create(self, owner: Owner, conversation: ConversationRef, language: str, question: str) -> Ticket:
        """A new open ticket for ``conversation``."""
        row = HandoverTicket(
            ticket_id=f"ho-{uuid.uuid4().hex}",
            conversation=conversation.pk,
            tenant=owner.tenant,
            use_case=owner.use_case,
            language=language,
            question=self.texts.write(question, conversation.pk, "handover"),
            status="open",
            created_at=self.clock(),
        )
        with self.sessions() as session:
            session.add(row)
            session.commit()
        return _ticket(row, conversation.conversation_id, question)

    def queue(self, tenant: str | None, status: Status | None, limit: int = 100) -> list[Ticket]:
        """Tickets, newest first: of one tenant (by name) or all, of one status or all."""
        query = (
            select(HandoverTicket, Conversation.conversation_id)
            .join(Conversation, Conversation.id == HandoverTicket.conversation)
            .order_by(HandoverTicket.id.desc())
            .limit(limit)
        )
        if tenant is not None:
            query = query.where(HandoverTicket.tenant == tenant)
        if status is not None:
            query = query.where(HandoverTicket.status == status)
        with self.sessions() as session:
            rows = session.execute(query).all()
        return [
            _ticket(row, conversation_id, self.texts.read(row.question, row.conversation, "handover"))
            for row, conversation_id in rows
        ]

    def staff_queue(self, tenant_id: int | None, status: Status | None, limit: int = 100) -> list[Ticket]:
        """The queue a staff key sees: its tenant's tickets, or every ticket for a key bound to no tenant."""
        if tenant_id is None:
            return self.queue(None, status, limit)
        with self.sessions() as session:
            name = session.scalar(select(Tenant.name).where(Tenant.id == tenant_id))
        return [] if name is None else self.queue(name, status, limit)


def _ticket(row: HandoverTicket, conversation_id: str, question: str) -> Ticket:
    return Ticket(
        ticket_id=row.ticket_id,
        conversation_id=conversation_id,
        tenant=row.tenant,
        use_case=row.use_case,
        language=row.language,
        question=question,
        status=row.status,
        created_at=aware(row.created_at),
    )
