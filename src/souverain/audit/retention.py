"""Retention: personal fields and stored content older than their use case's retention are removed.

Each event's retention is its use case's ``retention_days`` (at least ``min_retention_days_high_risk`` for
a high-risk use case, whatever it says), or ``default_retention_days`` for events of no registered use
case. Clearing a personal field leaves its keyed digest, which is what the leaf commits to, so the chain
and the tree verify as before. The clearing and the event recording it (counts and sequence ranges, never
values) are committed in one transaction: a verifier treats a cleared field that no such record covers
as tampering. On SQLite, ``secure_delete`` overwrites the old values and the write-ahead log is then
checkpointed and truncated, so that they are gone from the files. The identifiers an erasure kept for the
other people of an event it cleared (``retained.py``) go at the same retention as the event.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, or_, select, text, update

from souverain.audit import canonical, retained
from souverain.audit.models import EVENTS
from souverain.audit.retained import Expired
from souverain.audit.store import AuditStore, append_records
from souverain.audit.verify import CLEARED_KEY
from souverain.events import Event
from souverain.governance.models import Tenant, UseCase
from souverain.settings import AuditSettings

PURGE_ACTION = "audit.purge"
CLEARED_COLUMNS = (*canonical.PERSONAL_FIELDS, "content")


@dataclass(frozen=True)
class Policy:
    """The retention of one use case's events."""

    tenant: str | None
    use_case: str | None
    days: int


@dataclass
class PurgeReport:
    """What a purge removed: how many events per use case, and their sequence ranges."""

    seq: int = 0  # the purge's own audit event
    events: int = 0
    ranges: list[list[int]] = field(default_factory=list)
    by_use_case: list[dict[str, Any]] = field(default_factory=list)


def seq_ranges(seqs: Iterable[int]) -> list[list[int]]:
    """Sorted sequence numbers as ``[first, last]`` runs."""
    runs: list[list[int]] = []
    for seq in sorted(seqs):
        if runs and seq == runs[-1][1] + 1:
            runs[-1][1] = seq
        else:
            runs.append([seq, seq])
    return runs


def _policies(connection: Connection, settings: AuditSettings) -> dict[tuple[str, str], int]:
    query = select(Tenant.name, UseCase.name, UseCase.retention_days, UseCase.risk_class).join(
        Tenant, UseCase.tenant_id == Tenant.id
    )
    days = {}
    for tenant, name, retention, risk in connection.execute(query):
        floor = settings.min_retention_days_high_risk if risk == "high" else 1
        days[(tenant, name)] = max(retention, floor)
    return days


def _uncleared() -> ColumnElement[bool]:
    return and_(EVENTS.c.purged_at.is_(None), or_(*(EVENTS.c[c].is_not(None) for c in CLEARED_COLUMNS)))


def _same(column: Any, value: str | None) -> ColumnElement[bool]:
    return column.is_(None) if value is None else column == value  # type: ignore[no-any-return]


def policies(
    connection: Connection, settings: AuditSettings, known: dict[tuple[str, str], int]
) -> list[Policy]:
    """The retention of every use case that has events still holding personal data (``known``: the
    registered use cases' retention)."""
    pairs = connection.execute(select(EVENTS.c.tenant, EVENTS.c.use_case).where(_uncleared()).distinct())
    found = []
    for tenant, use_case in pairs:
        days = known.get((tenant, use_case), settings.default_retention_days)
        found.append(Policy(tenant, use_case, days))
    return found


def _clear(connection: Connection, policy: Policy, now: datetime) -> list[int]:
    cutoff = now - timedelta(days=policy.days)
    statement = (
        update(EVENTS)
        .where(
            _uncleared(),
            _same(EVENTS.c.tenant, policy.tenant),
            _same(EVENTS.c.use_case, policy.use_case),
            EVENTS.c.created_at < cutoff,
        )
        .values({**dict.fromkeys(CLEARED_COLUMNS), "purged_at": now})
        .returning(EVENTS.c.seq)
    )
    return list(connection.scalars(statement))


def _past_retention(known: dict[tuple[str, str], int], settings: AuditSettings, now: datetime) -> Expired:
    def expired(tenant: str | None, use_case: str | None, created_at: datetime) -> bool:
        days = known.get((tenant or "", use_case or ""), settings.default_retention_days)
        created = created_at if created_at.tzinfo is not None else created_at.replace(tzinfo=UTC)
        return created < now - timedelta(days=days)

    return expired


def purge(store: AuditStore, settings: AuditSettings, actor: str, now: datetime | None = None) -> PurgeReport:
    """Apply every use case's retention and record the purge as an audit event."""
    now = now or datetime.now(UTC)
    report = PurgeReport()
    with store.writing() as connection:
        cleared: list[int] = []
        known = _policies(connection, settings)
        for policy in policies(connection, settings, known):
            seqs = _clear(connection, policy, now)
            if seqs:
                cleared += seqs
                report.by_use_case.append(
                    {
                        "tenant": policy.tenant,
                        "use_case": policy.use_case,
                        "retention_days": policy.days,
                        "events": len(seqs),
                    }
                )
        report.events, report.ranges = len(cleared), seq_ranges(cleared)
        retained.expire(connection, _past_retention(known, settings, now))
        event = _purge_event(actor, report)
        [report.seq] = append_records(connection, [store.record(event)])
    compact(store)
    return report


def _purge_event(actor: str, report: PurgeReport) -> Event:
    details = {
        "fields": list(CLEARED_COLUMNS),
        "events": report.events,
        CLEARED_KEY: report.ranges,
        "by_use_case": report.by_use_case,
    }
    return Event(
        action=PURGE_ACTION, outcome="success", request_id=uuid.uuid4().hex, actor=actor, details=details
    )


def compact(store: AuditStore) -> None:
    """Push the cleared pages out of SQLite's write-ahead log (PostgreSQL: vacuum the table)."""
    if store.database.dialect == "sqlite":
        with store.database.engine.connect() as connection:  # outside any transaction
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    elif store.database.dialect == "postgresql":
        with store.database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM audit_events"))
