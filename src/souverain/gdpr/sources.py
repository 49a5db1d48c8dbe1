"""Every store that holds data about a person, behind one interface: export what it holds, erase it.

The audit trail is not one of them: its events are exported like the others' records, but erased in the
same transaction as the erasure's own event (``erasure.py``), so that the chain always explains itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, delete, or_, select
from sqlalchemy.orm import Session, sessionmaker

from souverain.assistant.conversations import ConversationStore
from souverain.audit.canonical import format_time
from souverain.gdpr.redaction import Redactor
from souverain.gdpr.subject import RequestRef, Subject
from souverain.governance.models import Tenant, UsageRecord, UseCase
from souverain.privacy.entities import EntityType
from souverain.privacy.stores import PrivacyStores
from souverain.privacy.subject_links import SubjectLinks
from souverain.privacy.subjects import SubjectKeys
from souverain.privacy.vault import scope_ids
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
    """The subject's values in the vaults of the conversations they appear in, and the links to them.

    A vault holds everyone's values of one conversation: an export shows the subject's own values only
    (those whose subject identifier is theirs), and their placeholders without the values when the request
    named them by pseudonymous identifier. Erasure deletes a vault nobody else is linked to; in a vault
    other people are linked to, it keeps only their identifying values (what is not identifying, a name
    for instance, cannot be told apart and goes) and their links.
    """

    name = "vaults"

    def __init__(self, vault: VaultStore, links: SubjectLinks, keys: SubjectKeys) -> None:
        self.vault = vault
        self.links = links
        self.keys = keys

    def export(self, subject: Subject) -> list[dict[str, Any]]:
        found = []
        for conversation in subject.conversations:
            vault = self.vault.load(conversation.tenant, conversation.conversation_id)
            own = [e for e in vault.entries() if self.keys.subject_of(e[1], e[2]) in subject.ids]
            entries = [_entry(placeholder, kind, value, subject) for placeholder, kind, value in own]
            found.append({"conversation_id": conversation.conversation_id, "entries": entries})
        return found

    def erase(self, subject: Subject) -> int:
        whole, kept = [], 0
        for conversation in subject.conversations:
            others = self.links.linked(conversation.handle) - set(subject.ids)
            if not others:
                whole.append(conversation.handle)
                continue

            def theirs(kind: EntityType, value: str, others: set[str] = others) -> bool:
                return self.keys.subject_of(kind, value) in others

            if self.vault.keep(conversation.tenant, conversation.conversation_id, theirs):
                kept += 1
        with self.vault.sessions() as session:
            gone = session.execute(delete(PrivacyVault).where(PrivacyVault.handle.in_(whole)))
            self.links.forget(session, subject.ids, whole)
            session.commit()
        return int(getattr(gone, "rowcount", 0) or 0) + kept


def _entry(placeholder: str, kind: EntityType, value: str, subject: Subject) -> dict[str, Any]:
    """A vault entry as exported: its value only to a requester who gave the identifier itself."""
    entry = {"placeholder": placeholder, "type": kind.value}
    return {**entry, "value": value} if subject.by_identifier else entry


def _same(column: Any, value: str | None) -> ColumnElement[bool]:
    return column.is_(None) if value is None else column == value  # type: ignore[no-any-return]


def _requests(refs: Sequence[RequestRef]) -> ColumnElement[bool]:
    """Usage records of these requests: same request id, tenant, use case and key (a request id alone
    may be any client's choice, the same in another tenant)."""
    return or_(
        *(
            and_(
                UsageRecord.request_id == ref.request_id,
                _same(UsageRecord.tenant, ref.tenant),
                _same(UsageRecord.use_case, ref.use_case),
                _same(UsageRecord.key_prefix, ref.key_prefix),
            )
            for ref in refs
        )
    )


class UsageSource:
    """Usage records of the subject's requests (no content; linked to the person by their audit events)."""

    name = "usage"

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def export(self, subject: Subject) -> list[dict[str, Any]]:
        if not subject.requests:
            return []
        with self.sessions() as session:
            rows = session.scalars(
                select(UsageRecord).where(_requests(subject.requests)).order_by(UsageRecord.id)
            ).all()
            return [_usage(row) for row in rows]

    def erase(self, subject: Subject) -> int:
        """Delete the records of the requests about the subject alone (a usage record holds no personal
        data: one of a request about other people too stays theirs)."""
        own = [ref for ref in subject.requests if not ref.shared]
        if not own:
            return 0
        with self.sessions() as session:
            gone = session.execute(delete(UsageRecord).where(_requests(own)))
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


ConversationExport = Callable[[str, str, str | None], dict[str, Any] | None]
ConversationErase = Callable[[str, str, str | None], int]
Owner = Callable[[str], tuple[str, str | None] | None]
"""A vault scope's tenant and use case, by name, as conversation stores know them (None: gone)."""


class ConversationSource:
    """Stored conversations (for instance the assistant's, with their hand-over tickets), reached by the
    tenant, use case and conversation id of the vault scopes the subject is linked to.

    Their texts may name other people (GDPR Art. 15(4)): asked by the person's identifier, an export gives
    them with every detected value masked but that identifier's (``redaction.py``; ``texts`` names, for
    each list of a record, the field holding free text); asked by pseudonymous identifier, it gives each
    conversation's dates and counts, never its text."""

    def __init__(
        self,
        name: str,
        export: ConversationExport,
        erase: ConversationErase,
        owner: Owner,
        redactor: Redactor,
        texts: Mapping[str, str],
    ) -> None:
        self.name = name
        self._export = export
        self._erase = erase
        self._owner = owner  # the vault knows tenants and use cases by id; conversation stores by name
        self._redactor = redactor
        self._texts = dict(texts)

    def _triples(self, subject: Subject) -> list[tuple[str, str, str | None]]:
        found = []
        for conversation in subject.conversations:
            owner = self._owner(conversation.tenant)
            if owner is not None:
                found.append((owner[0], conversation.conversation_id, owner[1]))
        return found

    def export(self, subject: Subject) -> list[dict[str, Any]]:
        found = (self._export(*triple) for triple in self._triples(subject))
        return [self._shown(item, subject) for item in found if item is not None]

    def erase(self, subject: Subject) -> int:
        return sum(self._erase(*triple) for triple in self._triples(subject))

    def _shown(self, conversation: dict[str, Any], subject: Subject) -> dict[str, Any]:
        """A conversation as an export may show it: redacted by identifier, without text otherwise."""
        if not subject.by_identifier:
            return _withheld(conversation)
        shown = dict(conversation)
        for name, field in self._texts.items():
            if name in shown:
                shown[name] = [self._redacted(item, field, subject.ids) for item in shown[name]]
        return shown

    def _redacted(self, item: dict[str, Any], field: str, own: tuple[str, ...]) -> dict[str, Any]:
        """One message or ticket with its text redacted (in its own language, as a detection hint)."""
        return {**item, field: self._redactor.redact(item[field], own, item.get("language"))}


def _withheld(conversation: dict[str, Any]) -> dict[str, Any]:
    """A conversation without its text: what an export by pseudonymous identifier may show."""
    counted = {name: len(value) for name, value in conversation.items() if isinstance(value, list)}
    kept = {name: value for name, value in conversation.items() if not isinstance(value, list)}
    return {**kept, **counted, "content": "withheld: ask with the person's identifier"}


def standard_sources(privacy: PrivacyStores, sessions: sessionmaker[Session]) -> list[SubjectSource]:
    """The stores every deployment has: conversation vaults (with their links) and usage records."""
    return [VaultSource(privacy.vault, privacy.links, privacy.subjects), UsageSource(sessions)]


# The free texts of ``ConversationStore.export_conversation``'s records: what a subject access redacts.
ASSISTANT_TEXTS = {"messages": "content", "handovers": "question"}


def conversation_source(store: ConversationStore, database: Database, redactor: Redactor) -> SubjectSource:
    """The assistant's stored conversations (and their hand-over tickets) as a subject source."""

    def owner(scope: str) -> tuple[str, str | None] | None:
        tenant_id, use_case_id = scope_ids(scope)
        with database.sessions() as session:
            tenant = session.scalar(select(Tenant.name).where(Tenant.id == tenant_id))
            if tenant is None or use_case_id is None:  # a scope written before use cases were in it
                return None if tenant is None else (tenant, None)
            use_case = session.scalar(
                select(UseCase.name).where(UseCase.id == use_case_id, UseCase.tenant_id == tenant_id)
            )
            return None if use_case is None else (tenant, use_case)

    return ConversationSource(
        "conversations",
        store.export_conversation,
        store.erase_conversation,
        owner,
        redactor,
        ASSISTANT_TEXTS,
    )
