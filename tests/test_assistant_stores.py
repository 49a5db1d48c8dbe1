"""Conversations kept for the use case's retention, exported and erased on request, purged when expired;
on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from souverain.assistant.conversations import Answer, ConversationStore, Owner
from souverain.assistant.handover import HandoverStore
from souverain.assistant.models import Conversation, HandoverTicket, Message
from souverain.errors import Conflict, DetectionError
from souverain.privacy.sealed_text import TextSealer
from souverain.storage.database import Database
from tests.clocks import Clock
from tests.databases import migrated_database

KINDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
OWNER = Owner(tenant="ministry", use_case="assistant", retention_days=30)


@pytest.fixture(params=KINDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with migrated_database(request.param, tmp_path) as database:
        yield database


def _count(db: Database, table: type[Conversation] | type[Message] | type[HandoverTicket]) -> int:
    with db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_a_conversation_lives_for_the_use_case_retention(database: Database) -> None:
    clock = Clock()
    store = ConversationStore(database.sessions, clock)
    conversation = store.open(OWNER, None, "fr")
    assert conversation.expires_at == clock.now + timedelta(days=30)
    assert not conversation.answered
    store.add_exchange(conversation, "Question ?", "fr", Answer("Réponse [1].", [{"n": 1}], True))
    again = store.open(OWNER, conversation.conversation_id, "fr")
    assert (again.pk, again.answered) == (conversation.pk, True)
    assert [(t.question, t.answer) for t in store.history(again, 1)] == [("Question ?", "Réponse [1].")]
    clock.now += timedelta(days=29)
    assert store.purge_expired() == 0
    clock.now += timedelta(days=2)
    assert store.purge_expired() == 1
    assert _count(database, Conversation) == _count(database, Message) == 0
    reopened = store.open(OWNER, conversation.conversation_id, "fr")  # the id starts a new conversation
    assert not reopened.answered


def test_an_expired_conversation_is_not_continued(database: Database) -> None:
    clock = Clock()
    store = ConversationStore(database.sessions, clock)
    conversation = store.open(OWNER, "c-1", "de")
    store.add_exchange(conversation, "Frage", "de", Answer("Antwort [1]", [], True))
    clock.now += timedelta(days=31)
    fresh = store.open(OWNER, "c-1", "de")
    assert not fresh.answered
    assert fresh.expires_at == clock.now + timedelta(days=30)
    assert _count(database, Message) == 0


def test_export_and_erase_cover_messages_and_tickets(database: Database) -> None:
    store = ConversationStore(database.sessions)
    handovers = HandoverStore(database.sessions)
    conversation = store.open(OWNER, "c-gdpr", "fr")
    keep = store.open(OWNER, "c-other", "fr")
    store.add_exchange(
        conversation, "Ma question", "fr", Answer("Réponse [1]", [{"n": 1, "title": "T"}], True)
    )
    handovers.create(OWNER, conversation, "fr", "Ma question")
    exported = store.export_conversation("ministry", "c-gdpr")
    assert exported is not None
    assert [m["content"] for m in exported["messages"]] == ["Ma question", "Réponse [1]"]
    assert exported["messages"][1]["citations"] == [{"n": 1, "title": "T"}]
    assert [t["question"] for t in exported["handovers"]] == ["Ma question"]
    assert store.export_conversation("other-tenant", "c-gdpr") is None
    assert store.erase_conversation("other-tenant", "c-gdpr") == 0
    assert store.erase_conversation("ministry", "c-gdpr") == 4  # two messages, one ticket, the conversation
    assert store.export_conversation("ministry", "c-gdpr") is None
    assert store.erase_conversation("ministry", "c-gdpr") == 0
    assert _count(database, HandoverTicket) == 0
    assert store.export_conversation("ministry", keep.conversation_id) is not None


def test_tickets_go_with_their_conversations_retention(database: Database) -> None:
    clock = Clock()
    store = ConversationStore(database.sessions, clock)
    handovers = HandoverStore(database.sessions, clock)
    handovers.create(OWNER, store.open(OWNER, "c-h", "fr"), "fr", "Ma question")
    clock.now += timedelta(days=31)
    assert store.purge_expired() == 1
    assert _count(database, HandoverTicket) == 0


def test_export_and_erase_by_use_case_leave_another_use_cases_conversation(database: Database) -> None:
    store = ConversationStore(database.sessions)
    store.add_exchange(store.open(OWNER, "c-1", "fr"), "Question", "fr", Answer("Réponse", [], True))
    assert store.export_conversation("ministry", "c-1", "other-use-case") is None
    assert store.erase_conversation("ministry", "c-1", "other-use-case") == 0
    assert store.export_conversation("ministry", "c-1", "assistant") is not None
    assert store.erase_conversation("ministry", "c-1", "assistant") == 3


def test_one_conversation_id_belongs_to_one_use_case(database: Database) -> None:
    store = ConversationStore(database.sessions)
    store.open(OWNER, "c-shared", "fr")
    with pytest.raises(Conflict):
        store.open(Owner("ministry", "another-use-case", 30), "c-shared", "fr")
    other_tenant = store.open(Owner("other", "assistant", 30), "c-shared", "fr")  # ids are per tenant
    assert other_tenant.conversation_id == "c-shared"


def test_the_staff_queue_filters_by_tenant_and_status(database: Database) -> None:
    store = ConversationStore(database.sessions)
    handovers = HandoverStore(database.sessions)
    first = handovers.create(OWNER, store.open(OWNER, "a", "fr"), "fr", "Q1")
    other = Owner("other", "assistant", 30)
    handovers.create(other, store.open(other, "b", "de"), "de", "Q2")
    assert [t.question for t in handovers.queue(None, None)] == ["Q2", "Q1"]  # newest first
    assert [t.ticket_id for t in handovers.queue("ministry", "open")] == [first.ticket_id]
    assert handovers.queue("ministry", "closed") == []
    assert handovers.staff_queue(987654, None) == []  # a tenant id that does not exist sees nothing


def test_purges_are_spaced_out(database: Database) -> None:
    store = ConversationStore(database.sessions, purge_every_s=3600)
    assert store.purge_due()
    assert not store.purge_due()
    assert ConversationStore(database.sessions, purge_every_s=0).purge_due()


def test_peoples_words_are_sealed_at_rest_and_read_back_where_they_were_written(database: Database) -> None:
    sealer = TextSealer(b"k" * 32)
    store = ConversationStore(database.sessions, sealer=sealer)
    handovers = HandoverStore(database.sessions, sealer=sealer)
    question, answer = "Jean Muller a perdu sa carte, que faire ?", "Déclarez la perte [1]."
    first = store.open(OWNER, "c-sealed", "fr")
    store.add_exchange(first, question, "fr", Answer(answer, [{"n": 1}], True))
    handovers.create(OWNER, first, "fr", "Rappelez Jean Muller au 621 123 456")
    with database.sessions() as session:
        stored = [
            *session.scalars(select(Message.content)),
            *session.scalars(select(HandoverTicket.question)),
        ]
    assert len(stored) == 3
    assert all(text.startswith("sealed:v1:") and "Muller" not in text for text in stored)
    again = store.open(OWNER, "c-sealed", "fr")
    assert [(t.question, t.answer) for t in store.history(again, 1)] == [(question, answer)]
    exported = store.export_conversation(OWNER.tenant, "c-sealed")
    assert exported is not None
    assert [m["content"] for m in exported["messages"]] == [question, answer]
    assert exported["handovers"][0]["question"] == "Rappelez Jean Muller au 621 123 456"
    [ticket] = handovers.queue(OWNER.tenant, "open")
    assert ticket.question == "Rappelez Jean Muller au 621 123 456"
    # a sealed text copied into another conversation does not open there: the request is refused
    other = store.open(OWNER, "c-other", "fr")
    store.add_exchange(other, "Autre ?", "fr", Answer("Autre [1].", [], True))
    with database.sessions.begin() as session:
        session.execute(update(Message).where(Message.conversation == other.pk).values(content=stored[0]))
    with pytest.raises(DetectionError):
        store.history(store.open(OWNER, "c-other", "fr"), 1)
    # under another key nothing opens either; rows written before sealing are read as they are
    with pytest.raises(DetectionError):
        ConversationStore(database.sessions, sealer=TextSealer(b"x" * 32)).history(again, 1)
    plain = ConversationStore(database.sessions)
    legacy = plain.open(OWNER, "c-legacy", "fr")
    plain.add_exchange(legacy, "Ancienne ?", "fr", Answer("Ancienne [1].", [], True))
    assert [(t.question, t.answer) for t in store.history(legacy, 1)] == [("Ancienne ?", "Ancienne [1].")]
