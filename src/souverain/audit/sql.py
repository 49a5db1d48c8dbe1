"""The append path's two statements, run on the database driver's own cursor.

Every request waits for its audit append, and SQLAlchemy's execution machinery costs about ten times
what SQLite itself needs for the head read and the insert. So the append talks to the driver (sqlite3 or
psycopg) directly, inside the transaction the store opened, and does itself the little type conversion
SQLAlchemy would do: JSON as text, and for SQLite the time as SQLAlchemy's own text format. Everything
else (reads, verification, purges) goes through SQLAlchemy, which is also how the tests check that the
two agree: verification recomputes every hash from rows read back by SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from souverain.audit.models import EVENTS

HEAD = "SELECT seq, entry_hash FROM audit_events ORDER BY seq DESC LIMIT 1"
_COLUMNS = [column.name for column in EVENTS.c]
_JSON = ("entity_types", "details")


def _insert(dialect: str) -> str:
    names = ", ".join(_COLUMNS)
    if dialect == "sqlite":
        values = ", ".join(f":{name}" for name in _COLUMNS)
    else:  # psycopg: pyformat; text goes into the json columns through a cast
        values = ", ".join(f"CAST(%({n})s AS json)" if n in _JSON else f"%({n})s" for n in _COLUMNS)
    return f"INSERT INTO audit_events ({names}) VALUES ({values})"  # noqa: S608 - fixed column names


INSERT = {"sqlite": _insert("sqlite"), "postgresql": _insert("postgresql")}


def parameters(row: Mapping[str, Any], dialect: str) -> dict[str, Any]:
    """``row``'s values as the driver takes them."""
    values = {name: row.get(name) for name in _COLUMNS}
    for name in _JSON:
        values[name] = orjson.dumps(values[name]).decode()
    if dialect == "sqlite":  # SQLAlchemy stores SQLite times as naive UTC text in this format
        moment: datetime = row["created_at"]
        values["created_at"] = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return values


def head(cursor: Any) -> tuple[int, str] | None:
    """The last event's sequence number and entry hash, or None for an empty trail."""
    cursor.execute(HEAD)
    row = cursor.fetchone()
    return None if row is None else (int(row[0]), str(row[1]))


def insert(cursor: Any, dialect: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert sealed rows."""
    cursor.executemany(INSERT[dialect], [parameters(row, dialect) for row in rows])
