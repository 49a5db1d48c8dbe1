"""Independent copies of the checkpoints: a JSON-lines file and another database.

An attacker who controls the main database can truncate the trail and append again, producing a chain
that links perfectly; only a copy of the earlier checkpoints, kept out of their reach, shows that the tree
of that size had another root. ``souverain audit verify`` reads these copies back.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from sqlalchemy import Engine, insert, select

from souverain.audit.checkpoints import Checkpoint, Exporter
from souverain.audit.models import CHECKPOINTS
from souverain.errors import InvalidRequest
from souverain.settings import AuditSettings
from souverain.storage.database import make_engine


class FileExporter:
    """Appends each checkpoint as one JSON line, flushed to disk before ``export`` returns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = f"file {path}"

    def export(self, checkpoint: Checkpoint) -> None:
        """Append ``checkpoint`` to the file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(checkpoint.as_json(), sort_keys=True) + "\n"
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())

    def read(self) -> list[Checkpoint]:
        """Every checkpoint in the file; a missing file holds none."""
        if not self.path.exists():
            return []
        found = []
        for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                found.append(Checkpoint.from_json(json.loads(line), f"{self.name}, line {number}"))
            except (ValueError, KeyError, TypeError) as exc:
                raise InvalidRequest(f"{self.name}, line {number}: not a checkpoint ({exc})") from None
        return found

    def close(self) -> None:
        """Nothing stays open between exports."""


class DatabaseExporter:
    """Inserts each checkpoint into an ``audit_checkpoints`` table of another database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.name = "checkpoint database"
        self._engine: Engine | None = None

    def _connect(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.url)
            CHECKPOINTS.create(self._engine, checkfirst=True)
        return self._engine

    def export(self, checkpoint: Checkpoint) -> None:
        """Insert ``checkpoint`` (committed before returning)."""
        values = {k: getattr(checkpoint, k) for k in Checkpoint.signed_fields() if k != "time"}
        values.update(created_at=checkpoint.moment, frontier=[])
        with self._connect().begin() as connection:
            connection.execute(insert(CHECKPOINTS), values)

    def read(self) -> list[Checkpoint]:
        """Every checkpoint in that database."""
        query = select(CHECKPOINTS).order_by(CHECKPOINTS.c.tree_size, CHECKPOINTS.c.id)
        with self._connect().connect() as connection:
            return [Checkpoint.from_row(row, self.name) for row in connection.execute(query)]

    def close(self) -> None:
        """Release the connections."""
        if self._engine is not None:
            self._engine.dispose()


def configured_exporters(settings: AuditSettings) -> list[Exporter]:
    """The independent stores the settings name."""
    exporters: list[Exporter] = []
    if settings.export_file is not None:
        exporters.append(FileExporter(settings.export_file))
    if settings.export_database_url is not None:
        exporters.append(DatabaseExporter(settings.export_database_url))
    return exporters
