"""Numbered schema migrations run by Alembic, configured in code (no alembic.ini to keep in sync)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

_HERE = Path(__file__).parent


def config(connection: Connection | None = None) -> Config:
    """An Alembic configuration pointing at this package's migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", str(_HERE / "versions"))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(connection: Connection, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` on ``connection`` (inside the caller's transaction)."""
    command.upgrade(config(connection), revision)


def downgrade(connection: Connection, revision: str) -> None:
    """Revert migrations down to ``revision``."""
    command.downgrade(config(connection), revision)


def current(connection: Connection) -> str | None:
    """The revision recorded in the database, or None for an empty database."""
    return MigrationContext.configure(connection).get_current_revision()


def head() -> str:
    """The latest revision shipped with this version."""
    revision = ScriptDirectory.from_config(config()).get_current_head()
    assert revision is not None
    return revision
