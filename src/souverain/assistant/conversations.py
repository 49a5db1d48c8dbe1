"""The conversation store: conversations and messages, kept for the use case's retention, exported and
erased on request (GDPR Art. 15 and 17), purged once expired. With a ``TextSealer`` (the application always
gives one) what people wrote and what was answered are sealed at rest, bound to their conversation row.

A conversation belongs to one tenant and use case; the same id sent with another use case's key is refused,
never joined. An expired conversation is gone: its id starts a new one, and expired ones are purged as
requests come (``purge_due``). The methods do blocking database work: call them off the event loop.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from souverain.assistant.models import Conversation, HandoverTicket, Message
from souverain.assistant.prompt import Turn
from souverain.errors import Conflict, Forbidden
from souverain.governance.principal import Principal
from souverain.privacy.sealed_text import TextSealer
from souverain.storage.throttle import Throttle


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes; every stored time is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Owner:
    """Whose conversation it is: the tenant and use case (by name), and the use case's retention."""

    tenant: str
    use_case: str
    retention_days: int

    @classmethod
    def of(cls, principal: Principal) -> Owner:
        """The owner of the conversations of ``principal``'s use case (403 for a key without one)."""
        use_case = principal.use_case
        if use_case is None:
            raise Forbidden("This key is not bound to a use case.", code="no_use_case")
        return cls(use_case.tenant, use_case.name, use_case.retention_days)


@dataclass(frozen=True)
class ConversationRef:
    """An open conversation: its row, its public id, and whether it already has an answer."""

    pk: int
    conversation_id: str
    expires_at: datetime
    answered: bool


@dataclass(frozen=True)
class Answer:
    """An answer as stored: its text, citations and whether it was grounded."""

    text: str
    citations: Sequence[dict[str, Any]]
    grounded: bool


def _rowcount(result: object) -> int:
    return int(cast(CursorResult[Any], result).rowcount or 0)


class ConversationStore:
    """Conversations and their messages in the application database."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime] = utcnow,
        purge_every_s: float = 300.0,
        sealer: TextSealer | None = None,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self._purge = Throttle(purge_every_s)
        self.texts = StoredTexts(sealer)

    def purge_due(self) -> bool:
        """Whether ``purge_expired`` should run now (at most every ``purge_every_s``, in this process)."""
        return self._purge.due()

    def open(self, owner: Owner, conversation_id: str | None, language: str) -> ConversationRef:
        """The live conversation ``conversation_id`` of ``owner``, or a new one (409: another use case's)."""
        conversation_id = conversation_id or f"conv-{uuid.uuid4().hex}"
        with self.sessions() as session:
            row = self._find(session, owner.tenant, conversation_id)
            if row is not None and aware(row.expires_at) <= self.clock():
                session.delete(row)  # expired: the retention period is over, start afresh
                session.flush()
                row = None
            if row is None:
                row = self._create(session, owner, conversation_id, language)
            elif row.use_case != owner.use_case:
                raise Conflict("This conversation id is already in use.", code="conversation_id_taken")
            answered = session.scalar(
                select(func.count()).where(Message.conversation == row.id, Message.role == "assistant")
            )
            return ConversationRef(row.id, conversation_id, aware(row.expires_at), bool(answered))

    def _find(self, session: Session, tenant: str, conversation_id: str) -> Conversation | None:
        query = select(Conversation).where(
            Conversation.tenant == tenant, Conversation.conversation_id == conversation_id
        )
        return session.scalar(query)

    def _create(self, session: Session, owner: Owner, conversation_id: str, language: str) -> Conversation:
        now = self.clock()
        row = Conversation(
            tenant=owner.tenant,
            use_case=owner.use_case,
            conversation_id=conversation_id,
            language=language,
            created_at=now,
            expires_at=now + timedelta(days=owner.retention_days),
        )
        session.add(row)
        try:
            session.commit()
        except IntegrityError:  # a concurrent request created it first
            session.rollback()
            raise Conflict(
                "The conversation was started twice at once; retry.", code="conversation_race"
            ) from None
        return row

    def history(self, ref: ConversationRef, turns: int) -> list[Turn]:
        """The last ``turns`` question-and-answer pairs of the conversation, oldest first."""
        if turns <= 0:
            return []
        with self.sessions() as session:
            rows = session.scalars(
                select(Message)
                .where(Message.conversation == ref.pk)
                .order_by(Message.id.desc())
                .limit(2 * turns)
            ).all()
        ordered = list(reversed(rows))
        pairs = itertools.pairwise(ordered)
        found = [
            Turn(
                self.texts.read(q.content, q.conversation, "user"),
                self.texts.read(a.content, a.conversation, "assistant"),
            )
            for q, a in pairs
            if q.role == "user" and a.role == "assistant"
        ]
        return found[-turns:]

    def add_exchange(self, ref: ConversationRef, question: str, language: str, answer: Answer) -> None:
        """Store a question and its answer, together."""
        now = self.clock()
        with self.sessions() as session:
            session.add(
                Message(
                    conversation=ref.pk,
                    role="user",
                    content=self.texts.write(question, ref.pk, "user"),
                    language=language,
                    citations=[],
                    grounded=None,
                    created_at=now,
                )
            )
            session.add(
                Message(
                    conversation=ref.pk,
                    role="assistant",
                    content=self.texts.write(answer.text, ref.pk, "assistant"),
                    language=language,
                    citations=list(answer.citations),
                    grounded=answer.grounded,
                    created_at=now,
                )
            )
            session.commit()

    def _owned(
        self, session: Session, tenant: str, conversation_id: str, use_case: str | None
    ) -> Conversation | None:
        """The conversation, if it is the use case's (any use case's when ``use_case`` is None)."""
        row = self._find(session, tenant, conversation_id)
        return row if row is not None and use_case in (None, row.use_case) else None

    def export_conversation(
        self, tenant: str, conversation_id: str, use_case: str | None = None
    ) -> dict[str, Any] | None:
        """Everything stored about one conversation of a tenant (and use case, when given) for subject
        access; None when there is none."""
        with self.sessions() as session:
            row = self._owned(session, tenant, conversation_id, use_case)
            if row is None:
                return None
            messages = session.scalars(
                select(Message).where(Message.conversation == row.id).order_by(Message.id)
            )
            tickets = session.scalars(
                select(HandoverTicket)
                .where(HandoverTicket.conversation == row.id)
                .order_by(HandoverTicket.id)
            )
            return {
                "conversation_id": row.conversation_id,
                "tenant": row.tenant,
                "use_case": row.use_case,
                "language": row.language,
                "created_at": aware(row.created_at).isoformat(),
                "expires_at": aware(row.expires_at).isoformat(),
                "messages": [_message(m, self.texts) for m in messages],
                "handovers": [_ticket(t, self.texts) for t in tickets],
            }

    def erase_conversation(self, tenant: str, conversation_id: str, use_case: str | None = None) -> int:
        """Delete a conversation of a tenant (and use case, when given) with its messages and tickets;
        returns how many rows went."""
        with self.sessions() as session:
            row = self._owned(session, tenant, conversation_id, use_case)
            if row is None:
                return 0
            removed = _rowcount(session.execute(delete(Message).where(Message.conversation == row.id)))
            removed += _rowcount(
                session.execute(delete(HandoverTicket).where(HandoverTicket.conversation == row.id))
            )
            removed += _rowcount(session.execute(delete(Conversation).where(Conversation.id == row.id)))
            session.commit()
            return removed

    def purge_expired(self) -> int:
        """Delete the conversations past their retention (messages and tickets go with them)."""
        with self.sessions() as session:
            statement = delete(Conversation).where(Conversation.expires_at <= self.clock())
            removed = _rowcount(session.execute(statement))
            session.commit()
            return removed


class StoredTexts:
    """Texts of a conversation as stored: sealed with a ``TextSealer``, bound to the conversation row and
    the field; as they are without one (tests of the stores alone)."""

    def __init__(self, sealer: TextSealer | None) -> None:
        self.sealer = sealer

    def write(self, text: str, conversation_pk: int, field: str) -> str:
        return text if self.sealer is None else self.sealer.seal(text, _where(conversation_pk, field))

    def read(self, stored: str, conversation_pk: int, field: str) -> str:
        return stored if self.sealer is None else self.sealer.open(stored, _where(conversation_pk, field))


def _where(conversation_pk: int, field: str) -> str:
    return f"conversation/{conversation_pk}/{field}"


def _message(row: Message, texts: StoredTexts) -> dict[str, Any]:
    return {
        "role": row.role,
        "content": texts.read(row.content, row.conversation, row.role),
        "language": row.language,
        "citations": row.citations,
        "grounded": row.grounded,
        "created_at": aware(row.created_at).isoformat(),
    }


def _ticket(row: HandoverTicket, texts: StoredTexts) -> dict[str, Any]:
    return {
        "ticket_id": row.ticket_id,
        "language": row.language,
        "question": texts.read(row.question, row.conversation, "handover"),
        "status": row.status,
        "created_at": aware(row.created_at).isoformat(),
    }
