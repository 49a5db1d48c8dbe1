"""The durable event sink: every event the request path emits is appended to the audit chain.

``emit`` returns only once the event is committed, and raises ``EventSinkError`` when it is not, so the
request that produced it fails closed. Appends are blocking database work and run in a worker thread.

Concurrent requests share commits (group commit): while one append is in flight, the events emitted in
the meantime wait and then go together in the next transaction. Every append holds the trail's single
append lock across all processes, and a commit that must reach the disk takes milliseconds, so one
event per transaction would cap the whole installation at a few hundred requests per second.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import anyio.to_thread

from souverain.audit.store import AuditStore
from souverain.events import Event, EventSinkError

logger = logging.getLogger(__name__)

_Waiting = tuple[dict[str, Any], "asyncio.Future[int]"]


class AuditSink:
    """An ``EventSink`` writing to the audit store."""

    def __init__(self, store: AuditStore, max_batch: int = 256) -> None:
        self.store = store
        self.max_batch = max_batch
        self._waiting: list[_Waiting] = []
        self._writer: asyncio.Task[None] | None = None

    async def emit(self, event: Event) -> None:
        """Append ``event`` durably, or raise EventSinkError."""
        try:
            record = self.store.record(event)  # a malformed event fails alone, not its whole batch
            future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
            self._waiting.append((record, future))
            if self._writer is None or self._writer.done():
                self._writer = asyncio.create_task(self._drain())
            await future
        except Exception as exc:
            # the cause may hold database details; the log gets its type, the caller the chained exception
            logger.error("audit append failed for request %s: %s", event.request_id, type(exc).__name__)
            raise EventSinkError("the audit store did not accept the event") from exc

    async def _drain(self) -> None:
        """Commit the waiting events, a batch per transaction, until none wait."""
        while self._waiting:
            batch, self._waiting = self._waiting[: self.max_batch], self._waiting[self.max_batch :]
            try:
                seqs = await anyio.to_thread.run_sync(self.store.commit, [record for record, _ in batch])
            except Exception as exc:  # noqa: BLE001 - handed to every waiting emit, which raises it
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), seq in zip(batch, seqs, strict=True):
                if not future.done():  # an emitter that gave up (cancelled) still has its event written
                    future.set_result(seq)
