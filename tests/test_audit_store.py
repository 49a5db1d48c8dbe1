"""The audit store on real SQLite and PostgreSQL: appends (also from several processes at once), the
durable sink, checkpoints and their independent copies, and verification of an untouched trail."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from souverain.audit.canonical import GENESIS
from souverain.audit.checkpoints import Checkpointer, stored_checkpoints
from souverain.audit.exports import DatabaseExporter, FileExporter
from souverain.audit.keys import load_keys
from souverain.audit.models import CHECKPOINTS, EVENTS
from souverain.audit.sink import AuditSink
from souverain.audit.store import AuditStore
from souverain.audit.verify import verify
from souverain.errors import Conflict, InvalidRequest
from souverain.events import EventSinkError
from souverain.settings import AuditSettings
from souverain.storage.database import Database
from tests.audit_support import fill, open_store, sample_event
from tests.databases import database_url

KINDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
REPO = Path(__file__).resolve().parents[1]

WORKER = """
import sys, time
from pathlib import Path
from tests.audit_support import open_store, sample_event

url, data_dir, worker, go = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
with open_store(url, data_dir) as store:
    (go.parent / f"ready{worker}").touch()
    while not go.exists():  # start together, so that the appends really contend
        time.sleep(0.01)
    for i in range(50):
        store.append(sample_event(worker * 1000 + i))
"""


@pytest.mark.parametrize("kind", KINDS)
def test_appended_events_chain_and_verify(kind: str, tmp_path: Path) -> None:
    with database_url(kind, tmp_path) as url, open_store(url, tmp_path / "data") as store:
        assert store.head() == (0, GENESIS)
        assert store.append(sample_event(1, subject="pseudonym-42")) == 1
        fill(store, 2, 30)
        size, head = store.head()
        first = store.event(1)
        assert first is not None
        assert (first.actor, first.subject, first.entity_types) == (
            "souv_key1",
            "pseudonym-42",
            ["EMAIL", "LU_MATRICULE"],
        )
        assert first.actor_digest == store.keys.personal_digest("actor", "souv_key1")
        assert first.prev_hash == GENESIS
        assert first.details == {"duration_ms": 1.5 + 1 / 7, "route": {"priority": 0, "weight": 1.0}}
        Checkpointer(store, AuditSettings()).checkpoint()
        report = verify(store, stored_checkpoints(store))
        assert report.intact, report.finding
        assert (report.events, report.head, report.checkpoints) == (size, head, 1)
        assert size == 30


def test_digests_must_be_digests(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'a.db'}", tmp_path / "data") as store:
        with pytest.raises(InvalidRequest, match="never content"):
            store.append(sample_event(1, request_digest="Bonjour, mon matricule est 1893120105732"))
        digest = store.keys.content_digest(b"Bonjour")
        assert store.append(sample_event(1, request_digest=digest)) == 1
        assert digest != store.keys.content_digest(b"Bonjour!")


def test_full_sync_is_asked_of_sqlite_when_configured(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'a.db'}")
    database.migrate()
    for full, expected in ((False, 1), (True, 2)):  # PRAGMA synchronous: 1 NORMAL, 2 FULL
        store = AuditStore(database, load_keys(AuditSettings(), tmp_path / "data"), sqlite_full_sync=full)
        try:
            store.append(sample_event(1))
            with store.writer.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == expected
        finally:
            store.close()
    database.close()


@pytest.mark.timeout(240)  # four interpreters start on two cores
@pytest.mark.parametrize("kind", KINDS)
def test_concurrent_appends_from_four_processes_have_no_gaps(kind: str, tmp_path: Path) -> None:
    data_dir, go = tmp_path / "data", tmp_path / "go"
    with database_url(kind, tmp_path) as url, open_store(url, data_dir) as store:
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER, url, str(data_dir), str(n), str(go)],
                cwd=REPO,
                stderr=subprocess.PIPE,
            )
            for n in range(1, 5)
        ]
        deadline = time.monotonic() + 180
        while not all((tmp_path / f"ready{n}").exists() for n in range(1, 5)):
            assert time.monotonic() < deadline, "workers did not start"
            assert all(w.poll() is None for w in workers), [w.stderr.read() for w in workers if w.stderr]
            time.sleep(0.05)
        go.touch()
        for worker in workers:
            _, errors = worker.communicate(timeout=120)
            assert worker.returncode == 0, errors
        with store.database.engine.connect() as connection:
            seqs = list(connection.scalars(select(EVENTS.c.seq).order_by(EVENTS.c.seq)))
            workers_seen = Counter(r[4] for r in connection.scalars(select(EVENTS.c.request_id)))
        assert seqs == list(range(1, 201))
        assert workers_seen == {"1": 50, "2": 50, "3": 50, "4": 50}
        Checkpointer(store, AuditSettings()).checkpoint()
        report = verify(store, stored_checkpoints(store))
        assert report.intact, report.finding
        assert report.events == 200


@pytest.mark.anyio
async def test_sink_appends_and_fails_closed(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'a.db'}", tmp_path / "data") as store:
        await AuditSink(store).emit(sample_event(1))
        assert store.head()[0] == 1
        broken = Database(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'a.db'}")
        unavailable = AuditStore(broken, store.keys)
        try:
            with pytest.raises(EventSinkError):
                await AuditSink(unavailable).emit(sample_event(2))
        finally:
            unavailable.close()
            broken.close()


@pytest.mark.anyio
async def test_concurrent_emits_share_commits_and_a_bad_event_fails_alone(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'a.db'}", tmp_path / "data") as store:
        sink = AuditSink(store)
        events = [sample_event(i) for i in range(60)]
        events[30] = sample_event(30, response_digest="not a digest")
        results = await asyncio.gather(*(sink.emit(e) for e in events), return_exceptions=True)
        assert [i for i, r in enumerate(results) if isinstance(r, EventSinkError)] == [30]
        with store.database.engine.connect() as connection:
            rows = connection.execute(select(EVENTS.c.request_id, EVENTS.c.created_at)).all()
        assert sorted(r.request_id for r in rows) == sorted(
            e.request_id for e in events if e is not events[30]
        )
        assert len({r.created_at for r in rows}) < 59  # one time per transaction: the events shared commits
        assert verify(store, []).intact


def test_checkpoints_every_n_events_or_t_seconds(tmp_path: Path) -> None:
    settings = AuditSettings(checkpoint_every=5, checkpoint_interval_s=0.2)
    with open_store(f"sqlite:///{tmp_path / 'a.db'}", tmp_path / "data") as store:
        checkpointer = Checkpointer(store, settings)
        assert checkpointer.maybe_checkpoint() is None  # nothing to sign
        fill(store, 1, 4)
        first = checkpointer.maybe_checkpoint()
        assert first is not None
        assert first.tree_size == 4
        fill(store, 5, 7)
        assert checkpointer.maybe_checkpoint() is None  # 3 new events, and too soon
        fill(store, 8, 9)
        second = checkpointer.maybe_checkpoint()
        assert second is not None
        assert second.tree_size == 9
        fill(store, 10, 10)
        time.sleep(0.25)
        third = checkpointer.maybe_checkpoint()
        assert third is not None
        assert third.tree_size == 10
        assert [c.tree_size for c in stored_checkpoints(store)] == [4, 9, 10]
        assert all(c.signature_valid(store.keys) for c in stored_checkpoints(store))


def test_checkpoints_are_copied_to_a_file_and_another_database(tmp_path: Path) -> None:
    exported_file = FileExporter(tmp_path / "witness" / "checkpoints.jsonl")
    exported_db = DatabaseExporter(f"sqlite:///{tmp_path / 'witness.db'}")
    with open_store(f"sqlite:///{tmp_path / 'a.db'}", tmp_path / "data") as store:
        try:
            checkpointer = Checkpointer(store, AuditSettings(), [exported_file, exported_db])
            fill(store, 1, 3)
            checkpointer.checkpoint()
            fill(store, 4, 8)
            checkpointer.checkpoint()
            stored = stored_checkpoints(store)
            assert exported_file.read() == stored == exported_db.read()  # equal except for the source
            assert {c.source for c in exported_db.read()} == {"checkpoint database"}
            report = verify(store, [*stored, *exported_file.read(), *exported_db.read()])
            assert report.intact
            assert report.checkpoints == 6
        finally:
            exported_db.close()


def test_no_checkpoint_is_signed_over_a_broken_chain_or_a_forged_checkpoint(tmp_path: Path) -> None:
    for name, damage, reason in [
        ("gap", EVENTS.delete().where(EVENTS.c.seq == 5), "does not link at event 6"),
        ("forged", CHECKPOINTS.update().values(root_hash="00" * 32), "not genuine"),
    ]:
        with open_store(f"sqlite:///{tmp_path / f'{name}.db'}", tmp_path / "data") as store:
            checkpointer = Checkpointer(store, AuditSettings())
            fill(store, 1, 3)
            checkpointer.checkpoint()
            fill(store, 4, 6)
            with store.database.engine.begin() as connection:
                connection.execute(damage)
            with pytest.raises(Conflict, match=reason):
                checkpointer.checkpoint()
            assert [c.tree_size for c in stored_checkpoints(store)] == [3]
