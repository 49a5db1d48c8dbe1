"""Alembic environment: always runs on the connection handed over by ``souverain.storage.migrations``."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("souverain migrations run through souverain.storage.migrations, with a connection")

context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
