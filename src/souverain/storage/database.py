"""The database handle: one engine per process, migrated to the latest schema at start-up."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = create_engine(url)

    def migrate(self) -> None:
        """Bring the schema to the latest migration (placeholder until migrations land)."""
        with self.engine.connect():
            pass

    def close(self) -> None:
        self.engine.dispose()
