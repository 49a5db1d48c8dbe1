"""The database handle: one engine per process, migrated to the latest schema at start-up.

SQLite (the embedded tier) gets WAL journaling, a busy timeout and foreign keys; PostgreSQL (the production
tier) is used as is. Migrations run under a lock so that several processes can start at once.
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from souverain.storage import migrations
from souverain.storage.orm import ensure_instance

_PG_MIGRATION_LOCK = 0x50_55_56  # arbitrary advisory-lock key reserved for schema migrations
_IN_PROCESS = threading.Lock()  # Alembic's context is process-global: one migration at a time per process


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # deleted rows (erased vaults, links, conversations) are overwritten, not left in free pages
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine configured for the tier the URL names."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=20)


class Database:
    """Owns the engine; ``migrate`` brings the schema to the latest revision."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = make_engine(url)
        self.sessions: sessionmaker[Session] = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def migrate(self) -> None:
        """Upgrade to the latest migration, serialised across threads and processes."""
        with _IN_PROCESS, self._sqlite_file_lock(), self.engine.begin() as connection:
            if self.dialect == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
            migrations.upgrade(connection)
            ensure_instance(Session(bind=connection))

    @contextmanager
    def _sqlite_file_lock(self) -> Iterator[None]:
        """An exclusive lock file next to a SQLite database (PostgreSQL uses an advisory lock instead)."""
        database = self.engine.url.database
        if self.dialect != "sqlite" or not database or database == ":memory:":
            yield
            return
        lock_path = Path(database).with_name(Path(database).name + ".migrate.lock")
        with lock_path.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def revision(self) -> str | None:
        """The schema revision the database is at."""
        with self.engine.connect() as connection:
            return migrations.current(connection)

    def close(self) -> None:
        self.engine.dispose()
