"""Which stored conversations hold a person's data: links from subject identifiers to conversation vaults.

When a request of a conversation carries an identifying value, the conversation's vault handle is linked to
the value's pseudonymous subject identifier, with the vault's scope (tenant and use case) and conversation
id sealed beside it (the table holds nothing readable). An access or erasure request follows the links to
the vaults and to the conversations kept by other stores. Links expire with the vault they point at (or
with the conversation, if it is kept longer): reads ignore expired links, and they are purged in bulk as
links are recorded, at most once a minute by default. The methods do blocking database work: call them
off the event loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, DateTime, Integer, LargeBinary, String, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from souverain.privacy.vault import VaultCipher
from souverain.storage.orm import Base
from souverain.storage.throttle import Throttle


class SubjectLink(Base):
    """One (subject, conversation) pair."""

    __tablename__ = "privacy_subject_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(64))
    handle: Mapped[str] = mapped_column(String(64), index=True)
    locator: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


@dataclass(frozen=True)
class Conversation:
    """A conversation a subject appears in: its vault scope (``tenant``: tenant and use case, as the vault
    knows them), its id, and its vault handle."""

    tenant: str
    conversation_id: str
    handle: str


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SubjectLinks:
    """Records and follows the links of subjects to conversations."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        cipher: VaultCipher,
        ttl_seconds: int,
        clock: Callable[[], datetime] = _utcnow,
        purge_every_s: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sessions = sessions
        self.cipher = cipher
        self.ttl = timedelta(seconds=ttl_seconds)
        self.clock = clock
        self._purge = Throttle(purge_every_s, monotonic)

    def link(self, tenant: str, conversation_id: str, subjects: Sequence[str], keep_days: int = 0) -> int:
        """Link each subject to the conversation (once), for the vault's lifetime or ``keep_days`` if
        longer (a conversation store may keep it that long); returns how many links are new.

        Expired links are purged along the way, at most every ``purge_every_s`` seconds.
        """
        handle = self.cipher.handle(tenant, conversation_id)
        now = self.clock()
        expires_at = now + max(self.ttl, timedelta(days=keep_days))
        added = 0
        for subject in subjects:
            with self.sessions() as session:
                known = select(SubjectLink.id).where(
                    SubjectLink.subject == subject, SubjectLink.handle == handle
                )
                if session.scalar(known) is not None:
                    continue
                locator = self.cipher.seal_locator(tenant, conversation_id)
                row = {"subject": subject, "handle": handle, "locator": locator}
                session.add(SubjectLink(**row, created_at=now, expires_at=expires_at))
                try:
                    session.commit()
                    added += 1
                except IntegrityError:  # another request of the conversation linked it first
                    session.rollback()
        if self._purge.due():
            self.purge_expired()
        return added

    def conversations(self, subjects: Sequence[str]) -> list[Conversation]:
        """The live conversations linked to any of ``subjects``, each once."""
        with self.sessions() as session:
            rows = session.execute(
                select(SubjectLink.handle, SubjectLink.locator)
                .where(SubjectLink.subject.in_(subjects), SubjectLink.expires_at > self.clock())
                .order_by(SubjectLink.id)
            ).all()
        found: dict[str, Conversation] = {}
        for handle, locator in rows:
            if handle not in found:
                tenant, conversation_id = self.cipher.open_locator(locator)
                found[handle] = Conversation(tenant, conversation_id, handle)
        return list(found.values())

    def linked(self, handle: str) -> set[str]:
        """The subjects live links tie to the conversation of vault ``handle``."""
        with self.sessions() as session:
            query = select(SubjectLink.subject).where(
                SubjectLink.handle == handle, SubjectLink.expires_at > self.clock()
            )
            return set(session.scalars(query))

    def forget(self, session: Session, subjects: Sequence[str], handles: Sequence[str]) -> int:
        """Delete the subjects' links and every link to the given conversations (inside ``session``)."""
        statement = delete(SubjectLink).where(
            SubjectLink.subject.in_(subjects) | SubjectLink.handle.in_(handles)
        )
        return int(cast(CursorResult[Any], session.execute(statement)).rowcount or 0)

    def purge_expired(self) -> int:
        """Delete the links whose conversation vault has expired."""
        with self.sessions() as session:
            statement = delete(SubjectLink).where(SubjectLink.expires_at <= self.clock())
            deleted = int(cast(CursorResult[Any], session.execute(statement)).rowcount or 0)
            session.commit()
            return deleted
