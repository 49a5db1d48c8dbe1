"""The audit events about a subject: found by the pseudonymous identifiers in their ``subject`` field, or
kept for them when another person's erasure cleared that field (``audit/retained.py``).

Erasing clears the personal fields of those events (the leaves commit to their keyed digests, so the chain
and the tree still verify) inside the caller's transaction, which also appends the erasure's own event.
An event that also named other people is cleared too (its field can only be cleared whole), and their
identifiers are kept beside it: one person's erasure never takes another's events out of their reach.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, or_, select, update

from souverain.audit import retained
from souverain.audit.models import EVENTS
from souverain.audit.query import SHOWN, as_dict

ERASED_COLUMNS = ("subject", "content")


def about(ids: Sequence[str]) -> ColumnElement[bool]:
    """Events whose subject field names any of ``ids`` (fixed-length identifiers: no false match), or
    that an erasure kept for them."""
    named = (EVENTS.c.subject.contains(subject_id, autoescape=True) for subject_id in ids)
    kept = select(retained.RETAINED.c.seq).where(retained.RETAINED.c.subject.in_(ids))
    return or_(*named, EVENTS.c.seq.in_(kept))


def events_about(engine: Engine, ids: Sequence[str]) -> tuple[list[dict[str, Any]], set[int]]:
    """The subject's events in sequence order, and the sequence numbers of those that name other people
    too. Each event's subject field shows the subject's own identifiers only, never the others'."""
    with engine.connect() as connection:
        rows = connection.execute(select(*SHOWN).where(about(ids)).order_by(EVENTS.c.seq)).all()
        kept = retained.retained(connection, [row.seq for row in rows])
    events = [as_dict(row) for row in rows]
    shared = set()
    for event in events:
        named = set((event["subject"] or "").split()) | kept.get(event["seq"], set())
        if named - set(ids):
            shared.add(event["seq"])
        event["subject"] = " ".join(i for i in ids if i in named) or None
    return events, shared


def clear_events_about(connection: Connection, ids: Sequence[str], now: datetime) -> list[int]:
    """Clear the subject and stored content of the subject's events, keeping the other people they named;
    returns their sequence numbers."""
    named = connection.execute(
        select(EVENTS.c.seq, EVENTS.c.subject).where(about(ids), EVENTS.c.subject.is_not(None))
    ).all()
    others = {(seq, other) for seq, field in named for other in field.split() if other not in ids}
    retained.retain(connection, sorted(others))
    seqs = {seq for seq, _ in named}
    if seqs:
        statement = (
            update(EVENTS)
            .where(EVENTS.c.seq.in_(seqs))
            .values({**dict.fromkeys(ERASED_COLUMNS), "purged_at": now})
        )
        connection.execute(statement)
    return sorted(seqs | set(retained.forget(connection, ids)))
