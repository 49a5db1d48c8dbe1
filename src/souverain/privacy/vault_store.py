"""Where conversations' vaults are kept: the ``privacy_vaults`` table, ciphertext only.

A row is named by a keyed digest of (tenant, conversation id), so the table holds neither the conversation
id nor anything readable. Two requests of one conversation may run at once: a vault is updated with
optimistic concurrency (a version column), and the loser re-reads and re-applies its values, so the same
value keeps the same placeholder. Expired vaults are unreadable (the expiry is sealed inside), deleted when
met, and purged in bulk at most once a minute as vaults are written. The methods do blocking database work:
call them off the event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    CursorResult,
    DateTime,
    Integer,
    LargeBinary,
    String,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.sql.expression import Executable

from souverain.errors import DetectionError
from souverain.privacy.entities import EntityType
from souverain.privacy.vault import Vault, VaultCipher
from souverain.storage.orm import Base
from souverain.storage.throttle import Throttle

_ATTEMPTS = 5
_PURGE_EVERY_S = 60.0


class PrivacyVault(Base):
    """One conversation's sealed vault."""

    __tablename__ = "privacy_vaults"

    handle: Mapped[str] = mapped_column(String(64), primary_key=True)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _rowcount(session: Session, statement: Executable) -> int:
    """How many rows an UPDATE or DELETE touched."""
    result = session.execute(statement)
    return int(cast(CursorResult[Any], result).rowcount or 0)


class VaultStore:
    """Creates, reads and updates conversations' vaults."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        cipher: VaultCipher,
        ttl_seconds: int,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.sessions = sessions
        self.cipher = cipher
        self.ttl = timedelta(seconds=ttl_seconds)
        self.clock = clock
        self._purge = Throttle(_PURGE_EVERY_S)

    def new(self, tenant: str, conversation_id: str | None = None) -> Vault:
        """A fresh vault (stored by ``assign`` once it holds a value and has a conversation id)."""
        return Vault(tenant, conversation_id, self.clock() + self.ttl)

    def load(self, tenant: str, conversation_id: str) -> Vault:
        """The conversation's vault, or a fresh one when it has none or its vault has expired."""
        handle = self.cipher.handle(tenant, conversation_id)
        with self.sessions() as session:
            row = session.get(PrivacyVault, handle)
            if row is None:
                return self.new(tenant, conversation_id)
            vault = self.cipher.open(row.ciphertext, tenant, conversation_id, self.clock(), row.version)
            if vault is None:  # expired: unreadable from now on, so the row goes
                session.execute(delete(PrivacyVault).where(PrivacyVault.handle == handle))
                session.commit()
                return self.new(tenant, conversation_id)
            return vault

    def assign(
        self, tenant: str, conversation_id: str | None, items: Sequence[tuple[str, EntityType]]
    ) -> Vault:
        """The vault with a placeholder for every (value, type) in ``items``, stored if it changed.

        Without a conversation id the vault lives for this request only and is never stored.
        """
        if conversation_id is None:
            vault = self.new(tenant)
            for value, entity_type in items:
                vault.placeholder(value, entity_type)
            return vault
        for _ in range(_ATTEMPTS):
            vault = self.load(tenant, conversation_id)
            before = len(vault)
            for value, entity_type in items:
                vault.placeholder(value, entity_type)
            if len(vault) == before:  # nothing new: an empty vault is not worth storing either
                return vault
            if self._save(vault):
                self._maybe_purge()
                return vault
        raise DetectionError(
            "The pseudonymisation vault of this conversation is too busy; retry the request.",
            code="vault_busy",
        )

    def keep(self, tenant: str, conversation_id: str, wanted: Callable[[EntityType, str], bool]) -> int:
        """Drop from the conversation's vault every value ``wanted(type, value)`` refuses (an erasure in a
        vault other people's values share); returns how many went."""
        for _ in range(_ATTEMPTS):
            vault = self.load(tenant, conversation_id)
            gone = vault.keep(wanted)
            if not gone or self._save(vault):
                return gone
        raise DetectionError(
            "The pseudonymisation vault of this conversation is too busy; retry the request.",
            code="vault_busy",
        )

    def _save(self, vault: Vault) -> bool:
        """Write the vault if nobody else did since it was read; False on a lost race."""
        assert vault.conversation_id is not None
        handle = self.cipher.handle(vault.tenant, vault.conversation_id)
        sealed = self.cipher.seal(vault)
        with self.sessions() as session:
            if vault.version == 0:
                values = {"handle": handle, "ciphertext": sealed, "version": 1}
                times = {"created_at": self.clock(), "expires_at": vault.expires_at}
                try:
                    session.execute(insert(PrivacyVault).values(**values, **times))
                    session.commit()
                except IntegrityError:
                    session.rollback()
                    return False
            else:
                statement = (
                    update(PrivacyVault)
                    .where(PrivacyVault.handle == handle, PrivacyVault.version == vault.version)
                    .values(ciphertext=sealed, version=vault.version + 1)
                )
                updated = _rowcount(session, statement)
                session.commit()
                if updated != 1:
                    return False
        vault.version += 1
        return True

    def purge_expired(self) -> int:
        """Delete every expired vault; returns how many went."""
        with self.sessions() as session:
            deleted = _rowcount(session, delete(PrivacyVault).where(PrivacyVault.expires_at <= self.clock()))
            session.commit()
            return deleted

    def count(self) -> int:
        """How many vaults are stored (expired ones included until purged)."""
        with self.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(PrivacyVault)) or 0)

    def _maybe_purge(self) -> None:
        if self._purge.due():
            self.purge_expired()
