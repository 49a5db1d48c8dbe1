"""The pseudonymisation vault: stable placeholders, AES-GCM at rest bound to tenant and conversation,
expiry; the subject links that point at vaults, purged once expired."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import MetaData, insert, select, text, update

from souverain.errors import DetectionError, InvalidRequest, SouverainError
from souverain.governance.models import UseCase
from souverain.privacy.entities import EntityType
from souverain.privacy.subject_links import Conversation, SubjectLinks
from souverain.privacy.vault import KEY_FILE, Vault, VaultCipher, check_conversation_id, load_secret
from souverain.privacy.vault_store import PrivacyVault, VaultStore
from souverain.settings import PrivacySettings
from souverain.storage import migrations
from souverain.storage.database import Database
from tests.clocks import Clock
from tests.databases import database_url, migrated_database

KINDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
SECRET = b"0123456789abcdef0123456789abcdef"
NAME = "Marie Dupont"
MATRICULE = "1893120105732"
IBAN = "LU28 0019 4006 4475 0000"


class Ticks:
    """A settable monotonic clock, in seconds."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=KINDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with migrated_database(request.param, tmp_path) as database:
        yield database


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(database: Database, clock: Clock) -> VaultStore:
    return VaultStore(database.sessions, VaultCipher(SECRET), ttl_seconds=3600, clock=clock)


def rows(store: VaultStore) -> list[PrivacyVault]:
    with store.sessions() as session:
        return list(session.scalars(select(PrivacyVault)))


def test_round_trip_through_the_database(store: VaultStore) -> None:
    items = [(NAME, EntityType.PERSON), (MATRICULE, EntityType.LU_MATRICULE), (IBAN, EntityType.IBAN)]
    vault = store.assign("7", "conv-1", items)
    assert vault.values() == {"<PERSON_1>": NAME, "<LU_MATRICULE_1>": MATRICULE, "<IBAN_1>": IBAN}
    loaded = store.load("7", "conv-1")
    assert loaded.values() == vault.values()
    assert loaded.version == 1
    [row] = rows(store)
    # only ciphertext is stored: no value, and not even the conversation id
    for clear in (NAME, MATRICULE, IBAN.replace(" ", ""), "conv-1"):
        assert clear.encode() not in row.ciphertext
        assert clear not in row.handle


def test_same_value_same_placeholder_across_requests(store: VaultStore) -> None:
    first = store.assign("7", "conv-1", [(NAME, EntityType.PERSON), ("Jean Weber", EntityType.PERSON)])
    assert first.placeholder(NAME, EntityType.PERSON) == "<PERSON_1>"
    # a later request: known values keep their placeholder (whatever the spelling), new ones continue
    second = store.assign(
        "7",
        "conv-1",
        [("marie  DUPONT", EntityType.PERSON), ("Anne Schmit", EntityType.PERSON), (IBAN, EntityType.IBAN)],
    )
    assert second.placeholder("Jean Weber", EntityType.PERSON) == "<PERSON_2>"
    assert second.placeholder("marie dupont", EntityType.PERSON) == "<PERSON_1>"
    assert second.placeholder("Anne Schmit", EntityType.PERSON) == "<PERSON_3>"
    assert second.placeholder("LU280019400644750000", EntityType.IBAN) == "<IBAN_1>"
    assert second.values()["<PERSON_1>"] == NAME  # restored as first written
    assert store.load("7", "conv-1").values() == second.values()


def test_without_a_conversation_the_vault_is_never_stored(store: VaultStore) -> None:
    vault = store.assign("7", None, [(NAME, EntityType.PERSON)])
    assert vault.values() == {"<PERSON_1>": NAME}
    assert rows(store) == []


def test_tenants_do_not_share_a_conversation(store: VaultStore) -> None:
    store.assign("7", "conv-1", [(NAME, EntityType.PERSON)])
    other = store.assign("8", "conv-1", [("Jean Weber", EntityType.PERSON)])
    assert other.values() == {"<PERSON_1>": "Jean Weber"}
    assert store.load("7", "conv-1").values() == {"<PERSON_1>": NAME}


def test_tampered_ciphertext_is_refused(store: VaultStore) -> None:
    store.assign("7", "conv-1", [(NAME, EntityType.PERSON)])
    [row] = rows(store)
    for position in (0, 12, len(row.ciphertext) - 1):  # nonce, ciphertext, tag
        altered = bytearray(row.ciphertext)
        altered[position] ^= 0x01
        with store.sessions() as session:
            session.execute(update(PrivacyVault).values(ciphertext=bytes(altered)))
            session.commit()
        with pytest.raises(DetectionError) as refused:
            store.load("7", "conv-1")
        assert refused.value.code == "vault_unreadable"
        assert refused.value.status_code == 503
        with pytest.raises(DetectionError):  # and nothing can be added to it either
            store.assign("7", "conv-1", [("Jean Weber", EntityType.PERSON)])


def test_a_vault_moved_to_another_conversation_or_tenant_does_not_open(store: VaultStore) -> None:
    store.assign("7", "conv-a", [(NAME, EntityType.PERSON)])
    store.assign("7", "conv-b", [("Jean Weber", EntityType.PERSON)])
    by_handle = {row.handle: row.ciphertext for row in rows(store)}
    handle_a = store.cipher.handle("7", "conv-a")
    handle_b = store.cipher.handle("7", "conv-b")
    with store.sessions() as session:  # an attacker with database access swaps A's vault into B
        session.execute(
            update(PrivacyVault).where(PrivacyVault.handle == handle_b).values(ciphertext=by_handle[handle_a])
        )
        session.commit()
    with pytest.raises(DetectionError):
        store.load("7", "conv-b")
    cipher = store.cipher
    sealed = by_handle[handle_a]
    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert cipher.open(sealed, "7", "conv-a", now) is not None
    for tenant, conversation in (("8", "conv-a"), ("7", "conv-b"), ("7", None)):
        with pytest.raises(DetectionError):
            cipher.open(sealed, tenant, conversation, now)
    with pytest.raises(DetectionError):  # another installation's key
        VaultCipher(b"another key, 32 characters long!").open(sealed, "7", "conv-a", now)


def test_expired_vaults_are_unreadable_and_purged(store: VaultStore, clock: Clock) -> None:
    store.assign("7", "conv-old", [(NAME, EntityType.PERSON)])
    clock.now += timedelta(minutes=30)
    store.assign("7", "conv-new", [("Jean Weber", EntityType.PERSON)])
    # extending the stored expiry does not help: the expiry that counts is sealed with the values
    with store.sessions() as session:
        session.execute(update(PrivacyVault).values(expires_at=clock.now + timedelta(days=365)))
        session.commit()
    clock.now += timedelta(minutes=31)  # conv-old is 61 minutes old, its TTL is one hour
    assert len(store.load("7", "conv-old")) == 0  # a fresh vault: the old mapping is gone
    assert store.load("7", "conv-new").values() == {"<PERSON_1>": "Jean Weber"}
    assert store.count() == 1  # meeting the expired vault deleted it
    with store.sessions() as session:
        session.execute(update(PrivacyVault).values(expires_at=clock.now - timedelta(seconds=1)))
        session.commit()
    assert store.purge_expired() == 1
    assert store.count() == 0


def link_rows(database: Database) -> int:
    with database.engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM privacy_subject_links")).scalar_one())


def test_expired_subject_links_are_purged_as_links_are_recorded(database: Database, clock: Clock) -> None:
    ticks = Ticks()
    links = SubjectLinks(
        database.sessions, VaultCipher(SECRET), 3600, clock, purge_every_s=60, monotonic=ticks
    )
    assert links.link("7", "conv-old", ["subj_old"]) == 1  # the first call purges (nothing has expired)
    clock.now += timedelta(minutes=30)
    assert links.link("7", "conv-live", ["subj_live"]) == 1
    clock.now += timedelta(minutes=31)  # conv-old's link is 61 minutes old, its TTL is one hour
    assert links.conversations(["subj_old"]) == []  # reads ignore it at once
    links.link("7", "conv-live", ["subj_live"])
    assert link_rows(database) == 2  # within the throttle window: not purged yet
    ticks.now += 60
    assert links.link("7", "conv-live", ["subj_live"]) == 0  # nothing new, but the purge is due
    assert link_rows(database) == 1
    live = Conversation("7", "conv-live", VaultCipher(SECRET).handle("7", "conv-live"))
    assert links.conversations(["subj_live", "subj_old"]) == [live]


def test_concurrent_requests_of_one_conversation_keep_every_value(store: VaultStore) -> None:
    names = ["Anne Schmit", "Jean Weber", "Paul Muller", "Luc Hoffmann"]
    barrier = threading.Barrier(len(names))
    errors: list[BaseException] = []

    def work(name: str) -> None:
        barrier.wait()
        try:
            store.assign("7", "busy", [(name, EntityType.PERSON)])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    final = store.load("7", "busy")
    assert sorted(final.values().values()) == sorted(names)
    assert sorted(final.values()) == [f"<PERSON_{i}>" for i in range(1, 5)]


def test_the_sealed_form_keeps_the_expiry_and_counters() -> None:
    vault = Vault("7", "c", datetime(2030, 1, 1, tzinfo=UTC))
    vault.placeholder(NAME, EntityType.PERSON)
    vault.placeholder("Jean Weber", EntityType.PERSON)
    cipher = VaultCipher(SECRET)
    opened = cipher.open(cipher.seal(vault), "7", "c", datetime(2029, 1, 1, tzinfo=UTC))
    assert opened is not None
    assert opened.expires_at == vault.expires_at
    assert opened.placeholder("Anne Schmit", EntityType.PERSON) == "<PERSON_3>"
    assert cipher.open(cipher.seal(vault), "7", "c", datetime(2030, 1, 1, tzinfo=UTC)) is None


def test_a_key_is_generated_once_with_mode_0600(tmp_path: Path) -> None:
    first = load_secret(PrivacySettings(), tmp_path)
    path = tmp_path / "keys" / KEY_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_secret(PrivacySettings(), tmp_path) == first
    assert len(first) == 64
    configured = load_secret(PrivacySettings(vault_key=SecretStr("x" * 40)), tmp_path / "other")
    assert configured == b"x" * 40
    assert not (tmp_path / "other").exists()
    with pytest.raises(SouverainError, match="at least 32"):
        VaultCipher(b"short")


@pytest.mark.parametrize("value", ["", "a b", "x" * 129, "conv/1", "é"])
def test_conversation_ids_are_checked(value: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        check_conversation_id(value)
    assert refused.value.code == "invalid_conversation_id"
    assert check_conversation_id("conv-1:a.b_c") == "conv-1:a.b_c"


@pytest.mark.parametrize("kind", KINDS)
def test_use_cases_registered_before_the_migration_get_pseudonymize(kind: str, tmp_path: Path) -> None:
    with database_url(kind, tmp_path) as url:
        db = Database(url)
        try:
            with db.engine.begin() as connection:
                migrations.upgrade(connection, "0003")
                tables = MetaData()
                tables.reflect(connection, only=["tenants", "use_cases"])
                now = datetime.now(UTC)
                connection.execute(
                    insert(tables.tables["tenants"]).values(
                        id=1, name="t", display_name="t", quotas={}, is_demo=False, created_at=now
                    )
                )
                row = {
                    "id": 1,
                    "tenant_id": 1,
                    "name": "u",
                    "purpose": "p",
                    "legal_basis": "b",
                    "category": "citizen_information_assistant",
                    "risk_class": "limited",
                    "classification_ceiling": "internal",
                    "allowed_models": [],
                    "retention_days": 30,
                    "human_oversight": "none",
                    "transparency_notice": {},
                    "quotas": {},
                    "is_demo": False,
                    "created_at": now,
                    "updated_at": now,
                }
                connection.execute(insert(tables.tables["use_cases"]).values(**row))
            db.migrate()
            with db.sessions() as session:
                use_case = session.get(UseCase, 1)
                assert use_case is not None
                assert (use_case.privacy_policy, use_case.privacy_block_types) == ("pseudonymize", [])
        finally:
            db.close()


def test_a_vault_never_prints_its_values() -> None:
    vault = Vault("7", "c", datetime(2030, 1, 1, tzinfo=UTC))
    vault.placeholder(NAME, EntityType.PERSON)
    assert NAME not in repr(vault)
    assert NAME not in str(vault)
