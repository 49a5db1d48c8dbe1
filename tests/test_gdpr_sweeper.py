"""Retention on a schedule: expired conversations, vaults and subject links deleted without any request,
each pass that deleted something recorded (counts only), a failed pass logged without its message and
retried; on SQLite and PostgreSQL, and inside the running server."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text, update

from souverain.app import create_app
from souverain.assistant.conversations import ConversationStore, Owner
from souverain.events import Event, MemorySink
from souverain.gdpr.sweeper import ACTION, Purge, RetentionSweeper
from souverain.privacy.entities import EntityType
from souverain.privacy.subject_links import SubjectLinks
from souverain.privacy.vault import VaultCipher
from souverain.privacy.vault_store import PrivacyVault, VaultStore
from souverain.settings import PrivacySettings
from souverain.state import Services
from souverain.storage.database import Database
from tests.clocks import Clock
from tests.conftest import fake_settings
from tests.databases import migrated_database

pytestmark = pytest.mark.anyio

KINDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
SECRET = b"0123456789abcdef0123456789abcdef"
OWNER = Owner(tenant="ministry", use_case="assistant", retention_days=30)
NAME = "Marie Dupont"
TABLES = ("assistant_conversations", "privacy_vaults", "privacy_subject_links")


class WatchingSink(MemorySink):
    """Keeps events, and says when a retention pass was recorded."""

    def __init__(self) -> None:
        super().__init__()
        self.purged = asyncio.Event()

    async def emit(self, event: Event) -> None:
        await super().emit(event)
        if event.action == ACTION:
            self.purged.set()


@pytest.fixture(params=KINDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with migrated_database(request.param, tmp_path) as database:
        yield database


def count(database: Database, table: str) -> int:
    with database.engine.connect() as connection:
        return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def stores(database: Database, clock: Clock) -> tuple[ConversationStore, VaultStore, SubjectLinks]:
    cipher = VaultCipher(SECRET)
    return (
        ConversationStore(database.sessions, clock),
        VaultStore(database.sessions, cipher, 3600, clock),
        SubjectLinks(database.sessions, cipher, 3600, clock),
    )


def sweeper_of(
    parts: tuple[ConversationStore, VaultStore, SubjectLinks], sink: MemorySink
) -> RetentionSweeper:
    conversations, vaults, links = parts
    purges = [
        Purge("conversations", conversations.purge_expired),
        Purge("vaults", vaults.purge_expired),
        Purge("subject_links", links.purge_expired),
    ]
    return RetentionSweeper(purges, sink, interval_s=60)


def remember(parts: tuple[ConversationStore, VaultStore, SubjectLinks], conversation_id: str) -> None:
    """A conversation with a vault holding a name and a subject link, as a request would leave them."""
    conversations, vaults, links = parts
    conversations.open(OWNER, conversation_id, "fr")
    vaults.assign(OWNER.tenant, conversation_id, [(NAME, EntityType.PERSON)])
    links.link(OWNER.tenant, conversation_id, [f"subj_{conversation_id}"])


async def test_a_pass_deletes_what_expired_in_every_store_and_records_the_counts(database: Database) -> None:
    clock, sink = Clock(), MemorySink()
    parts = stores(database, clock)
    remember(parts, "conv-old")
    clock.now += timedelta(days=31)  # conv-old is past its retention (30 days) and its vault's hour
    remember(parts, "conv-live")
    assert [count(database, table) for table in TABLES] == [2, 2, 2]

    counts = await sweeper_of(parts, sink).sweep()

    assert counts == {"conversations": 1, "vaults": 1, "subject_links": 1}
    assert [count(database, table) for table in TABLES] == [1, 1, 1]  # conv-live's rows stay
    [event] = sink.events
    assert (event.action, event.outcome, event.actor) == (ACTION, "success", "retention")
    assert event.details == counts
    assert NAME not in repr(event)
    assert "conv-old" not in repr(event)


async def test_a_pass_that_deletes_nothing_records_nothing(database: Database) -> None:
    clock, sink = Clock(), MemorySink()
    parts = stores(database, clock)
    remember(parts, "conv-live")
    assert await sweeper_of(parts, sink).sweep() == {"conversations": 0, "vaults": 0, "subject_links": 0}
    assert sink.events == []
    assert [count(database, table) for table in TABLES] == [1, 1, 1]


async def test_a_failed_pass_is_logged_without_its_message_and_retried(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[int] = []

    def flaky() -> int:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError(f"statement failed for {NAME}")  # a driver error may quote values
        return 2

    sink = WatchingSink()
    sweeper = RetentionSweeper([Purge("vaults", flaky)], sink, interval_s=0.01)
    caplog.set_level(logging.ERROR, logger="souverain.gdpr.sweeper")
    task = asyncio.create_task(sweeper.run())
    try:
        await asyncio.wait_for(sink.purged.wait(), timeout=5)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert sink.events[0].details == {"vaults": 2}
    [record] = [r for r in caplog.records if r.name == "souverain.gdpr.sweeper"][:1]
    assert "RuntimeError" in record.getMessage()
    assert NAME not in caplog.text


async def test_the_server_deletes_expired_vaults_without_any_request(tmp_path: Path) -> None:
    sink = WatchingSink()
    settings = fake_settings(tmp_path, privacy=PrivacySettings(purge_interval_s=0.05))
    app = create_app(settings, events=sink)
    async with app.router.lifespan_context(app):
        services: Services = app.state.services
        services.vault.assign("7", "conv-1", [(NAME, EntityType.PERSON)])
        with services.database.sessions() as session:
            session.execute(update(PrivacyVault).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
            session.commit()
        await asyncio.wait_for(sink.purged.wait(), timeout=10)
        assert services.vault.count() == 0
    [event] = [event for event in sink.events if event.action == ACTION]
    assert event.details == {"conversations": 0, "vaults": 1, "subject_links": 0}
