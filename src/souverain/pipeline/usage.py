"""Usage stage: one accounting record per call (identifiers, counts and timings, never content)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from souverain.governance.models import UsageRecord
from souverain.pipeline.call import Call

logger = logging.getLogger(__name__)


def usage_record(call: Call) -> UsageRecord:
    """The usage row describing ``call``."""
    use_case = call.principal.use_case
    target = call.target
    return UsageRecord(
        request_id=call.request_id,
        created_at=datetime.now(UTC),
        tenant=use_case.tenant if use_case else None,
        use_case=use_case.name if use_case else None,
        key_prefix=call.principal.key_prefix,
        endpoint=call.action,
        model=call.model.name,
        backend=target.route.backend if target else None,
        zone=target.backend.settings.zone.value if target else None,
        classification=call.classification.value if call.classification else None,
        prompt_tokens=call.prompt_tokens,
        completion_tokens=call.completion_tokens,
        ttft_ms=call.ttft_ms(),
        duration_ms=call.duration_ms(),
        status=call.status,
        outcome=call.outcome,
    )


class UsageWriter:
    """Batches usage rows and writes them with one bulk insert per flush, off the event loop.

    Accounting must not cost a database round trip on every request: rows are queued and flushed every
    ``interval`` seconds (or at ``max_batch`` rows) by one background task, and on shutdown. A process
    killed outright loses at most the last interval's usage rows; the audit trail, not usage accounting,
    is the record that every request is committed before it is answered.
    """

    def __init__(self, sessions: sessionmaker[Session], interval: float = 0.2, max_batch: int = 500) -> None:
        self.sessions = sessions
        self.interval = interval
        self.max_batch = max_batch
        self._pending: list[dict[str, object]] = []
        self._wake = asyncio.Event()
        self._flushing = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def submit(self, record: UsageRecord) -> None:
        """Queue one row (never blocks)."""
        self._pending.append(
            {c.key: getattr(record, c.key) for c in UsageRecord.__table__.columns if c.key != "id"}
        )
        if len(self._pending) >= self.max_batch:
            self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        """Write everything queued so far (after any flush already in flight, so that callers read it)."""
        async with self._flushing:
            await self._write_pending()

    async def _write_pending(self) -> None:
        rows, self._pending = self._pending, []
        if not rows:
            return
        try:
            await asyncio.to_thread(self._insert, rows)
        except Exception as exc:  # noqa: BLE001 - keep the rows for the next flush rather than lose them
            logger.error(
                "usage rows could not be written (%s); retrying at the next flush", type(exc).__name__
            )
            self._pending[:0] = rows[-10 * self.max_batch :]

    def _insert(self, rows: list[dict[str, object]]) -> None:
        with self.sessions() as session:
            session.execute(insert(UsageRecord), rows)
            session.commit()

    async def close(self) -> None:
        """Stop the background task and write what is left."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()


class UsageStage:
    name = "usage"

    def __init__(self, writer: UsageWriter) -> None:
        self.writer = writer

    async def before(self, call: Call) -> None:
        return None

    async def after(self, call: Call) -> None:
        self.writer.submit(usage_record(call))
