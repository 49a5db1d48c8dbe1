"""The storage layer and its migrations on real SQLite and real PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from souverain.storage import migrations
from souverain.storage.database import Database
from souverain.storage.orm import Instance
from tests.databases import database_url

KINDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.mark.parametrize("kind", KINDS)
def test_migrate_creates_schema_and_instance(kind: str, tmp_path: Path) -> None:
    with database_url(kind, tmp_path) as url:
        db = Database(url)
        try:
            assert db.revision() is None
            db.migrate()
            assert db.revision() == migrations.head()
            assert "instance" in inspect(db.engine).get_table_names()
            with db.sessions() as session:
                first = session.scalars(select(Instance)).all()
            db.migrate()  # idempotent
            with db.sessions() as session:
                again = session.scalars(select(Instance)).all()
            assert len(first) == len(again) == 1
            assert first[0].installation_id == again[0].installation_id
        finally:
            db.close()


@pytest.mark.parametrize("kind", KINDS)
def test_downgrade_and_upgrade_round_trip(kind: str, tmp_path: Path) -> None:
    with database_url(kind, tmp_path) as url:
        db = Database(url)
        try:
            db.migrate()
            with db.engine.begin() as connection:
                migrations.downgrade(connection, "base")
            assert "instance" not in inspect(db.engine).get_table_names()
            db.migrate()
            assert "instance" in inspect(db.engine).get_table_names()
        finally:
            db.close()


@pytest.mark.parametrize("kind", KINDS)
def test_concurrent_migrations_are_serialised(kind: str, tmp_path: Path) -> None:
    with database_url(kind, tmp_path) as url:
        errors: list[BaseException] = []

        def run() -> None:
            db = Database(url)
            try:
                db.migrate()
            except BaseException as exc:
                errors.append(exc)
            finally:
                db.close()

        threads = [threading.Thread(target=run) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert errors == []
        db = Database(url)
        try:
            with db.sessions() as session:
                assert len(session.scalars(select(Instance)).all()) == 1
        finally:
            db.close()


_MIGRATE = (
    "import sys; from souverain.storage.database import Database; d = Database(sys.argv[1]); d.migrate()"
)


@pytest.mark.parametrize("kind", KINDS)
def test_migrations_from_several_processes_at_once(kind: str, tmp_path: Path) -> None:
    with database_url(kind, tmp_path) as url:
        procs = [subprocess.Popen([sys.executable, "-c", _MIGRATE, url]) for _ in range(3)]
        codes = [p.wait(timeout=60) for p in procs]
        assert codes == [0, 0, 0]
        db = Database(url)
        try:
            assert db.revision() == migrations.head()
            with db.sessions() as session:
                assert len(session.scalars(select(Instance)).all()) == 1
        finally:
            db.close()


def test_sqlite_uses_wal(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'wal.db'}")
    try:
        db.migrate()
        with db.engine.connect() as connection:
            mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        assert mode == "wal"
    finally:
        db.close()
