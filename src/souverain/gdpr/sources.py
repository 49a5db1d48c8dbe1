"""Every store that holds data about a person, behind one interface: export what it holds, erase it.

The audit trail is not one of them: its events are exported like the others' records, but erased in the
same transaction as the erasure's own event (``erasure.py``), so that the chain always explains itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from souverain.assistant.service import AssistantService
from souverain.audit.canonical import format_time
from souverain.gdpr.subject import Subject
from souverain.governance.models import Tenant, UsageRecord
from souverain.privacy.stores import PrivacyStores
from souverain.privacy.subject_links import SubjectLinks
from souverain.privacy.vault_store import PrivacyVault, VaultStore
from souverain.storage.database import Database


class SubjectSource(Protocol):
    name: str  # the key of its records in an export, and of its count in an erasure

    def export(self, subject: Subject) -> list[dict[str, Any]]:
        """Everything this store holds about the subject, JSON-ready."""
        ...

    def erase(self, subject: Subject) -> int:
        """Remove it; returns how many records went."""
        ...


class VaultSource:
    """The pseudonymisation vaults of the conversations the subject appears in, and the links to them."""

    name = "vaults"

    def __init__(self, vault: VaultStore, links: SubjectLinks) -> None:
        self.vault = vault
        self.links = links

    def export(self, subject: Subject) -> list[dict[str, Any]]:
        found = []
        for conversation in subject.conversations:
            vault = self.vault.load(conversation.tenant, conversation.conversation_id)
            entries = [{"placeholder": p, "value": v} for p, v in vault.values().items()]
            found.append({"conversation_id": conversation.conversation_id, "entries": entries})
        return found

    def erase(self, subject: Subject) -> int:
        handles = [c.handle for c in subject.conversations]
        with self.vault.sessions() as session:
            gone = session.execute(delete(PrivacyVault).where(PrivacyVault.handle.in_(handles)))
            self.links.forget(session, subject.ids, handles)
            session.commit()
        return int(getattr(gone, "rowcount", 0) or 0)


class UsageSource:
    """Usage records of the subject's requests (no content; linked to the person by request id)."""

    name = "usage"

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def export(self, subject: Subject) -> list[dict[str, Any]]:
        if not subject.request_ids:
            return []
        with self.sessions() as session:
            rows = session.scalars(
                select(UsageRecord)
                .where(UsageRecord.request_id.in_(subject.request_ids))
                .order_by(UsageRecord.id)
            ).all()
            return [_usage(row) for row in rows]

    def erase(self, subject: Subject) -> int:
        if not subject.request_ids:
            return 0
        with self.sessions() as session:
            gone = session.execute(delete(UsageRecord).where(UsageRecord.request_id.in_(subject.request_ids)))
            session.commit()
        return int(getattr(gone, "rowcount", 0) or 0)


def _usage(row: UsageRecord) -> dict[str, Any]:
    return {
        "time": format_time(row.created_at),
        "request_id": row.request_id,
        "tenant": row.tenant,
        "use_case": row.use_case,
        "endpoint": row.endpoint,
        "model": row.model,
        "prompt_tokens": row.prompt_tokens,
        "completion_tokens": row.completion_tokens,
        "outcome": row.outcome,
    }


ConversationExport = Callable[[str, str], dict[str, Any] | None]
ConversationErase = Callable[[str, str], int]


class ConversationSource:
    """Stored conversations (for instance the assistant's), reached by (tenant, conversation id)."""

    def __init__(
        self,
        name: str,
        export: ConversationExport,
        erase: ConversationErase,
        tenant_name: Callable[[str], str | None],
    ) -> None:
        self.name = name
        self._export = export
        self._erase = erase
        self._tenant_name = tenant_name  # the vault knows tenants by id; conversation stores by name

    def _pairs(self, subject: Subject) -> list[tuple[str, str]]:
        pairs = ((self._tenant_name(c.tenant), c.conversation_id) for c in subject.conversations)
        return [(tenant, conversation) for tenant, conversation in pairs if tenant is not None]

    def export(self, subject: Subject) -> list[dict[str, Any]]:
        found = (self._export(tenant, conversation) for tenant, conversation in self._pairs(subject))
        return [item for item in found if item is not None]

    def erase(self, subject: Subject) -> int:
        return sum(self._erase(tenant, conversation) for tenant, conversation in self._pairs(subject))


def standard_sources(privacy: PrivacyStores, sessions: sessionmaker[Session]) -> list[SubjectSource]:
    """The stores every deployment has: conversation vaults (with their links) and usage records."""
    return [VaultSource(privacy.vault, privacy.links), UsageSource(sessions)]


def conversation_source(assistant: AssistantService, database: Database) -> SubjectSource:
    """The assistant's stored conversations (and their hand-over tickets) as a subject source."""

    def tenant_name(tenant_id: str) -> str | None:
        with database.sessions() as session:
            return session.scalar(select(Tenant.name).where(Tenant.id == int(tenant_id)))

    store = assistant.conversations
    return ConversationSource(
        "conversations", store.export_conversation, store.erase_conversation, tenant_name
    )
