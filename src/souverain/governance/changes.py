"""Registry changes and their events, applied together or not at all.

A write runs its database work in a worker thread and flushes it (so constraint violations are known),
then emits its ``admin.<thing>.<verb>`` event, and only commits once the sink has accepted the event: if
the sink refuses, the transaction is rolled back and the change never becomes visible. A change refused
by a rule (bad reference, duplicate, prohibited practice) emits an event with outcome ``refused``; one
that fails unexpectedly (the client gets a 500) emits one with outcome ``error``.
Each write runs as one shielded task, so that a client going away mid-change cannot leave its session
used by two threads at once; the change then completes (event and commit) or rolls back on its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from souverain.errors import BackendUnavailable, Conflict, SouverainError
from souverain.events import EVENT_STORE_UNAVAILABLE, Event, EventSink, emit_or_refuse

logger = logging.getLogger(__name__)
T = TypeVar("T")
NOT_APPLIED = "The event store is unavailable; the change was not applied."


@dataclass(frozen=True)
class Actor:
    """Who makes a change, for its event: a key prefix (admin API) or ``cli``, and the request id."""

    name: str
    request_id: str


@dataclass
class Change:
    """What a write touched, for its event: identifiers and field names only, never values or secrets."""

    tenant: str | None = None
    use_case: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


Work = Callable[[Session, Change], T]


class JoinedStore(Protocol):
    """An event store in the same database that can append inside the change's own transaction."""

    def turn(self) -> AbstractContextManager[None]: ...

    def append_on(self, connection: Connection, events: Sequence[Event]) -> list[int]: ...


class Transactions:
    """Runs reads, and writes with their events, against one database and one event sink.

    With a ``joined`` store (the audit trail in the same database), a change and its event are written in
    one transaction: nothing waits on a second writer (SQLite has only one), and they cannot diverge.
    """

    def __init__(
        self, sessions: sessionmaker[Session], events: EventSink, joined: JoinedStore | None = None
    ) -> None:
        self.sessions = sessions
        self.events = events
        self.joined = joined

    async def read(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in a session of its own, in a worker thread."""

        def run() -> T:
            with self.sessions() as session:
                return work(session)

        return await asyncio.to_thread(run)

    async def write(self, action: str, actor: Actor, work: Work[T], change: Change | None = None) -> T:
        """Run ``work`` in a transaction that commits only once the sink has accepted its event."""
        return await asyncio.shield(self._transaction(action, actor, work, change or Change()))

    async def _transaction(self, action: str, actor: Actor, work: Work[T], change: Change) -> T:
        if self.joined is not None:
            return await self._joined_transaction(self.joined, action, actor, work, change)
        session = self.sessions()
        try:
            try:
                result = await asyncio.to_thread(_flushed, session, work, change)
            except SouverainError as exc:
                refusal = {"error": exc.code or exc.error_type}
                await self._emit(_event(action, "refused", actor, change, refusal, exc.status_code))
                raise
            except Exception as exc:
                await self._record_failure(action, actor, change, exc)
                raise
            await self._emit(_event(action, "success", actor, change, change.details))
            await asyncio.to_thread(session.commit)
            return result
        finally:
            await asyncio.to_thread(session.close)

    async def _joined_transaction(
        self, store: JoinedStore, action: str, actor: Actor, work: Work[T], change: Change
    ) -> T:
        def run() -> T:
            with store.turn(), self.sessions() as session:
                result = _flushed(session, work, change)
                try:
                    event = _event(action, "success", actor, change, change.details)
                    store.append_on(session.connection(), [event])
                except Exception as exc:
                    session.rollback()
                    raise BackendUnavailable(NOT_APPLIED, code=EVENT_STORE_UNAVAILABLE) from exc
                session.commit()
                return result

        try:
            return await asyncio.to_thread(run)
        except SouverainError as exc:
            if exc.code != EVENT_STORE_UNAVAILABLE:
                refusal = {"error": exc.code or exc.error_type}
                await self._emit(_event(action, "refused", actor, change, refusal, exc.status_code))
            raise
        except Exception as exc:
            await self._record_failure(action, actor, change, exc)
            raise

    async def _emit(self, event: Event) -> None:
        await emit_or_refuse(self.events, event, NOT_APPLIED)

    async def _record_failure(self, action: str, actor: Actor, change: Change, exc: Exception) -> None:
        """A change that failed unexpectedly (a 500) is an event too, with the exception's type only."""
        try:
            await self.events.emit(_event(action, "error", actor, change, {"error": type(exc).__name__}, 500))
        except Exception:
            logger.exception("the failure of request %s could not be recorded", actor.request_id)


def _flushed(session: Session, work: Work[T], change: Change) -> T:
    """Run ``work`` and flush it; a constraint violation from a concurrent writer becomes a 409."""
    try:
        result = work(session, change)
        session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "The change conflicts with a concurrent one (duplicate name or a reference in use); retry.",
            code="conflict",
        ) from exc
    return result


def _event(
    action: str,
    outcome: str,
    actor: Actor,
    change: Change,
    details: dict[str, Any],
    status: int | None = None,
) -> Event:
    return Event(
        action=action,
        outcome=outcome,
        request_id=actor.request_id,
        actor=actor.name,
        tenant=change.tenant,
        use_case=change.use_case,
        status=status,
        details=details,
    )
