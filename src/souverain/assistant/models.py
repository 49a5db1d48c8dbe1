"""Tables of the assistant: conversations (kept for the use case's retention), their messages, and the
hand-over tickets of the staff queue.

A conversation is found by (tenant name, conversation id), which is how a subject access or erasure
request reaches it. Messages and tickets go with their conversation (``ON DELETE CASCADE``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from souverain.storage.orm import Base


class Conversation(Base):
    """One conversation of a use case, and when it must be deleted."""

    __tablename__ = "assistant_conversations"
    __table_args__ = (
        UniqueConstraint("tenant", "conversation_id", name="assistant_conversations_tenant_conversation"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant: Mapped[str] = mapped_column(String(100))
    use_case: Mapped[str] = mapped_column(String(100))
    conversation_id: Mapped[str] = mapped_column(String(128))
    language: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class Message(Base):
    """A question or an answer; an answer keeps its citations and whether it was grounded."""

    __tablename__ = "assistant_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation: Mapped[int] = mapped_column(
        ForeignKey("assistant_conversations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))  # user or assistant
    content: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8))
    citations: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    grounded: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class HandoverTicket(Base):
    """A question handed over to a person, in the staff queue until someone closes it."""

    __tablename__ = "assistant_handovers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(40), unique=True)
    conversation: Mapped[int] = mapped_column(
        ForeignKey("assistant_conversations.id", ondelete="CASCADE"), index=True
    )
    tenant: Mapped[str] = mapped_column(String(100), index=True)
    use_case: Mapped[str] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(8))
    question: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)  # open, closed
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
