"""The other people of audit events an erasure cleared: kept beside the chain so their requests still work.

An event's ``subject`` field names everyone its request was about, and the chain commits to a keyed digest
of the whole field: it can be cleared, never edited. When one person's erasure clears an event that named
others too, each other person's pseudonymous identifier is kept here against the event's sequence number
(outside the chain, nothing else), so that their access and erasure requests still find the event. A row
goes when its person is erased, or when the event's retention is over (``expire``, run by the audit
purge).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import BigInteger, Connection, Integer, String, Table, delete, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from souverain.audit.models import EVENTS
from souverain.storage.orm import Base


class RetainedSubjectRow(Base):
    """One person still named by an event whose ``subject`` field was cleared for someone else."""

    __tablename__ = "audit_retained_subjects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, index=True)
    subject: Mapped[str] = mapped_column(String(64), index=True)


RETAINED = cast(Table, RetainedSubjectRow.__table__)

Expired = Callable[[str | None, str | None, datetime], bool]
"""Whether an event of (tenant, use case) created at the given time is past its retention."""


def retain(connection: Connection, pairs: Iterable[tuple[int, str]]) -> None:
    """Keep each (sequence number, subject identifier) pair."""
    rows = [{"seq": seq, "subject": subject} for seq, subject in pairs]
    if rows:
        connection.execute(insert(RETAINED), rows)


def retained(connection: Connection, seqs: Sequence[int]) -> dict[int, set[str]]:
    """Sequence number -> the subject identifiers kept for it, for the events ``seqs``."""
    found: dict[int, set[str]] = {}
    query = select(RETAINED.c.seq, RETAINED.c.subject).where(RETAINED.c.seq.in_(seqs))
    for seq, subject in connection.execute(query):
        found.setdefault(seq, set()).add(subject)
    return found


def forget(connection: Connection, ids: Sequence[str]) -> list[int]:
    """Delete the rows of ``ids``; returns the sequence numbers they named."""
    statement = delete(RETAINED).where(RETAINED.c.subject.in_(ids)).returning(RETAINED.c.seq)
    return list(connection.scalars(statement))


def expire(connection: Connection, expired: Expired) -> int:
    """Delete the rows whose event is past its retention; returns how many went."""
    query = select(RETAINED.c.id, EVENTS.c.tenant, EVENTS.c.use_case, EVENTS.c.created_at).join(
        EVENTS, EVENTS.c.seq == RETAINED.c.seq
    )
    gone = [
        row_id
        for row_id, tenant, use_case, created in connection.execute(query)
        if expired(tenant, use_case, created)
    ]
    if gone:
        connection.execute(delete(RETAINED).where(RETAINED.c.id.in_(gone)))
    return len(gone)
