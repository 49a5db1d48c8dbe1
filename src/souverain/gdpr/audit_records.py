"""The audit events about a subject: found by the pseudonymous identifiers in their ``subject`` field.

Erasing clears the personal fields of those events (the leaves commit to their keyed digests, so the chain
and the tree still verify) inside the caller's transaction, which also appends the erasure's own event.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, or_, select, update

from souverain.audit.models import EVENTS
from souverain.audit.query import SHOWN, as_dict

ERASED_COLUMNS = ("subject", "content")


def about(ids: Sequence[str]) -> ColumnElement[bool]:
    """Events whose subject field names any of ``ids`` (fixed-length identifiers: no false match)."""
    return or_(*(EVENTS.c.subject.contains(subject_id, autoescape=True) for subject_id in ids))


def events_about(engine: Engine, ids: Sequence[str]) -> list[dict[str, Any]]:
    """The subject's events still holding their identifier, in sequence order."""
    with engine.connect() as connection:
        rows = connection.execute(select(*SHOWN).where(about(ids)).order_by(EVENTS.c.seq))
        return [as_dict(row) for row in rows]


def clear_events_about(connection: Connection, ids: Sequence[str], now: datetime) -> list[int]:
    """Clear the subject and stored content of the subject's events; returns their sequence numbers."""
    statement = (
        update(EVENTS)
        .where(about(ids))
        .values({**dict.fromkeys(ERASED_COLUMNS), "purged_at": now})
        .returning(EVENTS.c.seq)
    )
    return sorted(connection.scalars(statement))
