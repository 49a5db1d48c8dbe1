"""What the governance commands share: opening the registry, reporting errors, quota options, tables.

The commands talk to the database directly (migrating it first), so they work before any server runs.
Output that scripts capture (a new key, JSON) goes to standard output; explanations go to standard error.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import sys
import uuid
from collections.abc import Coroutine, Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError

from souverain.audit.runtime import AuditRuntime
from souverain.cli.common import explain
from souverain.errors import SouverainError
from souverain.governance.registry import Actor, Registry
from souverain.settings import Settings
from souverain.storage.database import Database

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

RequestsPerMinute = Annotated[int | None, typer.Option(help="Quota: requests per UTC minute.")]
TokensPerMinute = Annotated[int | None, typer.Option(help="Quota: tokens per UTC minute.")]
TokensPerDay = Annotated[int | None, typer.Option(help="Quota: tokens per UTC day.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def say(message: str) -> None:
    """An explanation for the person at the terminal (standard error, never captured with the key)."""
    print(message, file=sys.stderr)


@contextmanager
def open_database(settings: Settings) -> Iterator[Database]:
    """The configured database, migrated to the latest schema."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = Database(settings.resolved_database_url)
    try:
        database.migrate()
        yield database
    finally:
        database.close()


@contextmanager
def open_registry(settings: Settings) -> Iterator[Registry]:
    """The registry over the configured database; its changes are recorded in the audit trail."""
    with open_database(settings) as database:
        audit = AuditRuntime.open(settings, database)
        try:
            yield Registry(database.sessions, settings, audit.sink, audit.store)
        finally:
            audit.store.close()


def actor() -> Actor:
    """The person running the command, as named in the events of their changes."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        user = "unknown"
    return Actor(name=f"cli:{user}", request_id=uuid.uuid4().hex)


def run(operation: Coroutine[Any, Any, T]) -> T:
    """Run a registry operation; a refusal is explained on standard error and exits 1."""
    try:
        return asyncio.run(operation)
    except SouverainError as exc:
        say(f"error: {exc.message}")
        raise typer.Exit(1) from None


def validated(model: type[M], values: dict[str, Any]) -> M:
    """``values`` as a request model; invalid input is explained line by line and exits 2."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        say("invalid input:")
        for line in explain(exc):
            say(f"  {line}")
        raise typer.Exit(2) from None


def quotas(
    requests_per_minute: int | None, tokens_per_minute: int | None, tokens_per_day: int | None
) -> dict[str, int]:
    """The quota options that were given."""
    given = {
        "requests_per_minute": requests_per_minute,
        "tokens_per_minute": tokens_per_minute,
        "tokens_per_day": tokens_per_day,
    }
    return {name: value for name, value in given.items() if value is not None}


def print_json(items: Sequence[BaseModel] | Sequence[dict[str, Any]]) -> None:
    """Items as a JSON array on standard output."""
    data = [item.model_dump(mode="json") if isinstance(item, BaseModel) else item for item in items]
    print(json.dumps(data, ensure_ascii=False, indent=2))


def print_table(headers: list[str], rows: list[list[Any]]) -> None:
    """An aligned table on standard output."""
    cells = [headers, *[["-" if value is None else str(value) for value in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        print("  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip())
