"""Usage accounting: one record per request, and aggregate queries for /admin/usage and ``souverain usage``.

Aggregation happens in the database (counts and sums over possibly millions of rows); only the
calendar day needs a dialect switch, since SQLite and PostgreSQL spell date arithmetic differently.
Every stored time is UTC, so a "day" is a UTC day on both.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session, sessionmaker

from souverain.errors import InvalidRequest
from souverain.governance.models import UsageRecord

GROUPS = ("tenant", "use_case", "model", "day")
"""What usage can be grouped by."""


@dataclass(frozen=True)
class UsageFilter:
    """Which records to count; every criterion is optional."""

    since: datetime | None = None
    until: datetime | None = None  # exclusive
    tenant: str | None = None
    use_case: str | None = None
    model: str | None = None
    status: int | None = None


@dataclass(frozen=True)
class UsageRow:
    """Totals of one group (or of everything when not grouped)."""

    group: dict[str, str | None]
    requests: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    avg_duration_ms: float | None
    max_duration_ms: float | None

    def as_dict(self) -> dict[str, Any]:
        """A flat JSON-friendly view: the group's keys, then the totals."""
        totals = {k: v for k, v in self.__dict__.items() if k != "group"}
        return {**self.group, **totals}


def parse_groups(text: str | list[str] | None) -> list[str]:
    """``"tenant,day"`` (or a list of names) as an ordered list of group names; 400 on an unknown one."""
    items = text.split(",") if isinstance(text, str) else list(text or [])
    names = [item.strip() for item in items if item.strip()]
    unknown = [name for name in names if name not in GROUPS]
    if unknown:
        raise InvalidRequest(
            f"Cannot group usage by {', '.join(unknown)}; choose among {', '.join(GROUPS)}.",
            param="group_by",
            code="invalid_value",
        )
    return list(dict.fromkeys(names))


def _utc(moment: datetime) -> datetime:
    # SQLite compares the stored text, so a bound must be written in UTC like the records are
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _day(dialect: str) -> Any:
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", UsageRecord.created_at), "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", UsageRecord.created_at)


def _where(query: Select[Any], filters: UsageFilter) -> Select[Any]:
    if filters.since is not None:
        query = query.where(UsageRecord.created_at >= _utc(filters.since))
    if filters.until is not None:
        query = query.where(UsageRecord.created_at < _utc(filters.until))
    for column, value in (
        (UsageRecord.tenant, filters.tenant),
        (UsageRecord.use_case, filters.use_case),
        (UsageRecord.model, filters.model),
        (UsageRecord.status, filters.status),
    ):
        if value is not None:
            query = query.where(column == value)
    return query


class UsageStore:
    """Writes usage records and answers aggregate queries."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def record(self, record: UsageRecord) -> None:
        """Store one request's record (blocking; see ``arecord``)."""
        record.created_at = _utc(record.created_at)
        with self.sessions() as session:
            session.add(record)
            session.commit()

    async def arecord(self, record: UsageRecord) -> None:
        """Store one request's record from async code, off the event loop."""
        await asyncio.to_thread(self.record, record)

    def query(self, filters: UsageFilter, group_by: list[str]) -> list[UsageRow]:
        """Totals per group (one row without grouping), ordered by the groups (blocking)."""
        group_by = parse_groups(group_by)
        with self.sessions() as session:
            dialect = session.get_bind().dialect.name
            keys = {
                "tenant": UsageRecord.tenant,
                "use_case": UsageRecord.use_case,
                "model": UsageRecord.model,
                "day": _day(dialect),
            }
            columns = [keys[name].label(name) for name in group_by]
            query = select(*columns, *_totals()).select_from(UsageRecord)
            query = _where(query, filters)
            if columns:
                query = query.group_by(*columns).order_by(*columns)
            return [_row(row._mapping, group_by) for row in session.execute(query)]

    async def aquery(self, filters: UsageFilter, group_by: list[str]) -> list[UsageRow]:
        """``query`` from async code, off the event loop."""
        return await asyncio.to_thread(self.query, filters, group_by)


def _totals() -> list[Any]:
    return [
        func.count().label("requests"),
        func.coalesce(func.sum(case((UsageRecord.status >= 400, 1), else_=0)), 0).label("errors"),
        func.coalesce(func.sum(UsageRecord.prompt_tokens), 0).label("prompt_tokens"),
        func.coalesce(func.sum(UsageRecord.completion_tokens), 0).label("completion_tokens"),
        func.avg(UsageRecord.duration_ms).label("avg_duration_ms"),
        func.max(UsageRecord.duration_ms).label("max_duration_ms"),
    ]


def _row(values: Any, group_by: list[str]) -> UsageRow:
    prompt, completion = int(values["prompt_tokens"]), int(values["completion_tokens"])
    average, longest = values["avg_duration_ms"], values["max_duration_ms"]
    return UsageRow(
        group={name: None if values[name] is None else str(values[name]) for name in group_by},
        requests=int(values["requests"]),
        errors=int(values["errors"]),
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        avg_duration_ms=None if average is None else round(float(average), 3),
        max_duration_ms=None if longest is None else round(float(longest), 3),
    )
