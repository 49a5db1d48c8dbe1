"""Reading the trail for people: filtered pages of events, in sequence order, for the API and exports."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, select

from souverain.audit import canonical
from souverain.audit.models import EVENTS

SHOWN = [c for c in EVENTS.c if c.name != "content"]  # stored content is never read out


@dataclass(frozen=True)
class AuditFilter:
    """Which events to read; every criterion is optional."""

    since: datetime | None = None
    until: datetime | None = None  # exclusive
    tenant: str | None = None
    use_case: str | None = None
    action: str | None = None
    outcome: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        """The filter as SQL conditions."""
        found: list[ColumnElement[bool]] = []
        if self.since is not None:
            found.append(EVENTS.c.created_at >= _utc(self.since))
        if self.until is not None:
            found.append(EVENTS.c.created_at < _utc(self.until))
        for name in ("tenant", "use_case", "action", "outcome"):
            value = getattr(self, name)
            if value is not None:
                found.append(EVENTS.c[name] == value)
        return found


def _utc(moment: datetime) -> datetime:
    # SQLite compares the stored text, so a bound must be written in UTC like the events are
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def as_dict(row: Any) -> dict[str, Any]:
    """An event as JSON-ready values (stored content is never shown, only whether there is some)."""
    values = dict(row._mapping)
    values["time"] = canonical.format_time(values.pop("created_at"))
    if values["purged_at"] is not None:
        values["purged_at"] = canonical.format_time(values["purged_at"])
    return values


def page(engine: Engine, filters: AuditFilter, after: int = 0, limit: int = 100) -> list[dict[str, Any]]:
    """Up to ``limit`` matching events with a sequence number above ``after``, in order."""
    query = (
        select(*SHOWN).where(EVENTS.c.seq > after, *filters.conditions()).order_by(EVENTS.c.seq).limit(limit)
    )
    with engine.connect() as connection:
        return [as_dict(row) for row in connection.execute(query)]


def pages(engine: Engine, filters: AuditFilter, size: int = 1000) -> Iterator[list[dict[str, Any]]]:
    """Every matching event, a page at a time (each page its own short read)."""
    after = 0
    while batch := page(engine, filters, after, size):
        yield batch
        after = batch[-1]["seq"]
