"""The audit store: appends events to the hash chain, atomically and without gaps across processes.

Every append runs in one serialised write transaction: on PostgreSQL under a transaction-level advisory
lock, on SQLite under ``BEGIN IMMEDIATE`` (the write lock taken up front). Inside it the head of the chain
is read, the new events get ``seq = last + 1``, ``prev_hash = last entry_hash`` and their hashes, and the
transaction commits before ``append`` returns, so a returned sequence number is durable.

pysqlite would open transactions lazily (``BEGIN DEFERRED`` at the first write), letting two processes
read the same head; SQLAlchemy's documented remedy is to switch the driver's own transaction handling off
and emit BEGIN from the engine's ``begin`` event. That changes every transaction on the engine, so the
SQLite writer gets an engine of its own; reads use the application's engine.
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Engine, Row, event, select, text

from souverain.audit import canonical, merkle, sql
from souverain.audit.keys import AuditKeys
from souverain.audit.models import EVENTS
from souverain.events import Event
from souverain.storage.database import Database, make_engine

_PG_APPEND_LOCK = 0x41_55_44_49_54  # advisory-lock key reserved for audit appends ("AUDIT")


@dataclass(frozen=True)
class Pending:
    """An event to append, with optional opt-in content (already encrypted by the caller)."""

    event: Event
    content: bytes | None = None


def _driver_transactions_off(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself, in _begin_immediate
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA secure_delete=ON")  # purged values are overwritten, not left in free space
    cursor.close()


def _full_sync(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=FULL")  # the WAL is synced at every commit
    cursor.close()


def _begin_immediate(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_writer(url: str, full_sync: bool) -> Engine:
    engine = make_engine(url)
    event.listen(engine, "connect", _driver_transactions_off)
    if full_sync:
        event.listen(engine, "connect", _full_sync)
    event.listen(engine, "begin", _begin_immediate)
    return engine


class _Queue:
    """Makes SQLite writers wait in the kernel (a thread lock, then ``flock`` on a file next to the
    database) rather than in SQLite's busy handler, which sleeps in growing steps and leaves the write
    lock idle: with four processes appending, that alone divided the throughput by thirty."""

    def __init__(self, database: str | None) -> None:
        self._threads = threading.Lock()
        self._path = None if not database or database == ":memory:" else Path(database + ".audit.lock")
        self._file: IO[str] | None = None

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Hold the writers' queue."""
        with self._threads:
            if self._path is None:
                yield
                return
            if self._file is None:
                self._file = self._path.open("a")
            fcntl.flock(self._file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._file, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


class AuditStore:
    """Appends events to ``audit_events`` and reads the chain back."""

    def __init__(self, database: Database, keys: AuditKeys, *, sqlite_full_sync: bool = False) -> None:
        self.database = database
        self.keys = keys
        self._own_writer = database.dialect == "sqlite"
        self.writer: Engine = (
            _sqlite_writer(database.url, sqlite_full_sync) if self._own_writer else database.engine
        )
        self._queue = _Queue(self.writer.url.database if self._own_writer else None)

    def close(self) -> None:
        """Release the writer's connections (the database itself belongs to the caller)."""
        self._queue.close()
        if self._own_writer:
            self.writer.dispose()

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """A write transaction that holds the append lock; commits on exit, rolls back on error."""
        with self._queue.turn(), self.writer.begin() as connection:
            if self.database.dialect == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_APPEND_LOCK})
            yield connection

    def append(self, event: Event, content: bytes | None = None) -> int:
        """Append one event durably; returns its sequence number."""
        return self.append_many([Pending(event, content)])[-1]

    def append_many(self, pending: Sequence[Pending]) -> list[int]:
        """Append events in one transaction (in order); returns their sequence numbers."""
        return self.commit([self.record(item.event, item.content) for item in pending])

    def commit(self, records: Sequence[Mapping[str, Any]]) -> list[int]:
        """Seal and commit ``records`` (from ``record``) in one transaction; returns their numbers."""
        with self._queue.turn():
            raw = self.writer.raw_connection()  # the driver's connection: see souverain.audit.sql
            try:
                cursor = raw.cursor()
                if self.database.dialect == "sqlite":
                    cursor.execute("BEGIN IMMEDIATE")
                else:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_APPEND_LOCK,))
                seqs = _append(cursor, self.database.dialect, records, None)
                raw.commit()
            except BaseException:
                raw.rollback()
                raise
            finally:
                raw.close()
        return seqs

    @contextmanager
    def turn(self) -> Iterator[None]:
        """The append turn, for a caller that appends inside its own transaction (``append_on``)."""
        with self._queue.turn():
            yield

    def append_on(self, connection: Connection, events: Sequence[Event]) -> list[int]:
        """Append inside the caller's open transaction on this database, so that a change and its events
        commit or roll back together. Hold ``turn()`` from before the caller's first write to its commit."""
        cursor = connection.connection.cursor()
        if self.database.dialect == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_APPEND_LOCK,))
        return _append(cursor, self.database.dialect, [self.record(event) for event in events], None)

    def record(self, event: Event, content: bytes | None = None) -> dict[str, Any]:
        """The column values of ``event`` before it is sealed into the chain (seq, time and hashes)."""
        values: dict[str, Any] = {
            "action": event.action,
            "outcome": event.outcome,
            "status": event.status,
            "request_id": event.request_id,
            "tenant": event.tenant,
            "use_case": event.use_case,
            "purpose": event.purpose,
            "model": event.model,
            "served_model": event.served_model,
            "weights_sha256": canonical.check_digest("weights_sha256", event.weights_sha256),
            "backend": event.backend,
            "zone": event.zone,
            "classification": event.classification,
            "entity_types": [str(item) for item in event.entity_types],
            "prompt_tokens": event.prompt_tokens,
            "completion_tokens": event.completion_tokens,
            "request_digest": canonical.check_digest("request_digest", event.request_digest),
            "response_digest": canonical.check_digest("response_digest", event.response_digest),
            "details": canonical.normalise_json(event.details),
            "content": content,
            "purged_at": None,
        }
        for field in canonical.PERSONAL_FIELDS:
            value: str | None = getattr(event, field)
            values[field] = value
            values[f"{field}_digest"] = None if value is None else self.keys.personal_digest(field, value)
        return values

    def head(self) -> tuple[int, str]:
        """The number of events and the entry hash of the last one (GENESIS when empty)."""
        with self.database.engine.connect() as connection:
            return read_head(connection)

    def leaf_hashes(self, tree_size: int) -> list[bytes]:
        """The leaf hashes of the first ``tree_size`` events, in order."""
        query = select(EVENTS.c.leaf_hash).where(EVENTS.c.seq <= tree_size).order_by(EVENTS.c.seq)
        with self.database.engine.connect() as connection:
            return [bytes.fromhex(h) for h in connection.scalars(query)]

    def event(self, seq: int) -> Row[Any] | None:
        """The stored row of event ``seq``."""
        with self.database.engine.connect() as connection:
            return connection.execute(select(EVENTS).where(EVENTS.c.seq == seq)).first()


def read_head(connection: Connection) -> tuple[int, str]:
    """The last event's sequence number and entry hash, as ``connection`` sees them."""
    query = select(EVENTS.c.seq, EVENTS.c.entry_hash).order_by(EVENTS.c.seq.desc()).limit(1)
    last = connection.execute(query).first()
    return (0, canonical.GENESIS) if last is None else (int(last.seq), str(last.entry_hash))


def seal(values: Mapping[str, Any], seq: int, prev_hash: str, moment: datetime) -> dict[str, Any]:
    """``values`` as the row of event ``seq``, chained to ``prev_hash``."""
    row = {**values, "seq": seq, "created_at": moment}
    leaf = merkle.leaf_hash(canonical.leaf_bytes(row)).hex()
    row.update(leaf_hash=leaf, prev_hash=prev_hash, entry_hash=canonical.entry_hash(prev_hash, leaf))
    return row


def append_records(
    connection: Connection, records: Sequence[Mapping[str, Any]], moment: datetime | None = None
) -> list[int]:
    """Seal and insert ``records`` after the head, inside the caller's write transaction (``writing``).

    ``moment`` (default: now) is only for bulk loads of past events, e.g. benchmarks and tests.
    """
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    return _append(cursor, connection.dialect.name, records, moment)


def _append(
    cursor: Any, dialect: str, records: Sequence[Mapping[str, Any]], moment: datetime | None
) -> list[int]:
    seq, prev = sql.head(cursor) or (0, canonical.GENESIS)
    moment = moment or datetime.now(UTC)  # taken under the lock, so that times follow the chain order
    rows = []
    for values in records:
        seq += 1
        row = seal(values, seq, prev, moment)
        prev = row["entry_hash"]
        rows.append(row)
    if rows:
        sql.insert(cursor, dialect, rows)
    return [row["seq"] for row in rows]
