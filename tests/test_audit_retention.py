"""Retention: ``souverain audit purge`` clears personal fields and content past each use case's
retention (high-risk use cases keep at least 183 days), records what it removed without values, and
leaves a trail that still verifies; in SQLite the purged values are gone from the database files."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from souverain.audit import retained, retention
from souverain.audit.checkpoints import Checkpointer, stored_checkpoints
from souverain.audit.models import EVENTS
from souverain.audit.store import AuditStore
from souverain.audit.verify import verify
from souverain.events import Event
from souverain.gdpr.audit_records import clear_events_about
from souverain.governance.models import UseCase
from souverain.settings import AuditSettings
from tests.audit_support import backdate, open_store, sample_event, souverain, write_config
from tests.databases import database_url
from tests.governance_fixtures import provision

KINDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
NOW = datetime.now(UTC)
PURGED = [
    "SUBJECT-OLD-1893120105732",
    "souv_oldkey_PURGEME",
    "CONTENT-OLD-bonjour",
    "SUBJECT-HIGHRISK-OLD",
    "cli:alice-PURGEME",
]
KEPT = ["SUBJECT-RECENT-KEEP", "SUBJECT-HIGHRISK-KEEP"]


def populate(store: AuditStore) -> None:
    """Events of a limited-risk use case (30 days), a high-risk one (30 days, so 183) and of none (365)."""
    provision(store.database.sessions, tenant="ministry", use_case="assistant")
    provision(store.database.sessions, tenant="ministry", use_case="benefits")
    with store.database.sessions() as session:
        session.execute(update(UseCase).where(UseCase.name == "benefits").values(risk_class="high"))
        session.commit()

    def event(i: int, use_case: str | None, subject: str, actor: str = "souv_key") -> Event:
        tenant = "ministry" if use_case else None
        return sample_event(i, use_case=use_case, tenant=tenant, subject=subject, actor=actor)

    old = [event(i, "assistant", PURGED[0], PURGED[1]) for i in range(1, 4)]
    backdate(store, NOW - timedelta(days=40), old, content=PURGED[2].encode())
    backdate(store, NOW - timedelta(days=10), [event(4, "assistant", KEPT[0])])
    backdate(store, NOW - timedelta(days=40), [event(5, "benefits", KEPT[1])])
    backdate(store, NOW - timedelta(days=200), [event(6, "benefits", PURGED[3])])
    backdate(store, NOW - timedelta(days=400), [event(7, None, "x", PURGED[4])])
    Checkpointer(store, AuditSettings()).checkpoint()


def database_bytes(directory: Path) -> bytes:
    return b"".join(path.read_bytes() for path in directory.iterdir() if path.name.startswith("test.db"))


@pytest.mark.timeout(240)  # two command starts
@pytest.mark.parametrize("kind", KINDS)
def test_purge_clears_what_retention_allows_and_the_trail_still_verifies(kind: str, tmp_path: Path) -> None:
    url_dir = tmp_path / "db"
    url_dir.mkdir()
    with database_url(kind, url_dir) as url:
        with open_store(url, tmp_path / "data") as store:
            populate(store)
        if kind == "sqlite":
            assert all(value.encode() in database_bytes(url_dir) for value in PURGED + KEPT)
        config = write_config(tmp_path / "souverain.toml", url, tmp_path / "data")
        stdout, stderr = souverain(config, "audit", "purge", "--json").communicate(timeout=120)
        report = json.loads(stdout or "null")
        assert report is not None, stderr
        assert (report["events"], report["ranges"], report["seq"]) == (5, [[1, 3], [6, 7]], 8)
        stdout, stderr = souverain(config, "audit", "verify", "--json").communicate(timeout=120)
        result = json.loads(stdout)
        assert result["intact"] is True, result
        assert (result["events"], result["checkpoints"]) == (8, 1)
        with open_store(url, tmp_path / "data") as store:
            assert_purged(store)
    if kind == "sqlite":
        stored = database_bytes(url_dir)
        assert [value for value in PURGED if value.encode() in stored] == []
        assert all(value.encode() in stored for value in KEPT)


def assert_purged(store: AuditStore) -> None:
    columns = EVENTS.c.seq, EVENTS.c.actor, EVENTS.c.subject, EVENTS.c.content, EVENTS.c.purged_at
    with store.database.engine.connect() as connection:
        rows = {row.seq: row for row in connection.execute(select(*columns))}
        record = connection.execute(select(EVENTS).where(EVENTS.c.seq == 8)).one()
    for seq in (1, 2, 3, 6, 7):
        assert (rows[seq].actor, rows[seq].subject, rows[seq].content) == (None, None, None)
        assert rows[seq].purged_at is not None
    assert [rows[seq].subject for seq in (4, 5)] == KEPT
    assert record.action == "audit.purge"
    assert record.details["cleared_seq_ranges"] == [[1, 3], [6, 7]]
    assert record.details["fields"] == ["actor", "subject", "content"]
    by_use_case = {(u["use_case"], u["retention_days"]): u["events"] for u in record.details["by_use_case"]}
    assert by_use_case == {("assistant", 30): 3, ("benefits", 183): 1, (None, 365): 1}
    assert not any(value in json.dumps(record.details) for value in PURGED)


def test_a_second_purge_removes_nothing_more_and_is_recorded_too(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'audit.db'}", tmp_path / "data") as store:
        populate(store)
        first = retention.purge(store, AuditSettings(), actor="test")
        second = retention.purge(store, AuditSettings(), actor="test")
        assert (first.events, second.events, second.ranges, second.seq) == (5, 0, [], 9)
        later = retention.purge(store, AuditSettings(), actor="test", now=NOW + timedelta(days=200))
        assert later.ranges == [[4, 5]]  # a month and 183 days on, the recent and high-risk ones go too
        assert verify(store, stored_checkpoints(store)).intact


def test_identifiers_an_erasure_kept_go_with_their_events_retention(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'audit.db'}", tmp_path / "data") as store:
        provision(store.database.sessions, tenant="ministry", use_case="assistant")  # 30 days
        both = "subj_" + "a" * 32 + " subj_" + "b" * 32
        event = sample_event(1, tenant="ministry", use_case="assistant", subject=both)
        backdate(store, NOW - timedelta(days=10), [event])
        with store.writing() as connection:
            assert clear_events_about(connection, ["subj_" + "a" * 32], NOW) == [1]
        with store.database.engine.connect() as connection:
            assert retained.retained(connection, [1]) == {1: {"subj_" + "b" * 32}}
        retention.purge(store, AuditSettings(), actor="test", now=NOW + timedelta(days=10))
        with store.database.engine.connect() as connection:
            assert retained.retained(connection, [1]) == {1: {"subj_" + "b" * 32}}  # within retention
        retention.purge(store, AuditSettings(), actor="test", now=NOW + timedelta(days=25))
        with store.database.engine.connect() as connection:
            assert retained.retained(connection, [1]) == {}
