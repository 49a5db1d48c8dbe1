"""Persistent state: SQLAlchemy engine, tables and migrations (SQLite by default, PostgreSQL by URL)."""
