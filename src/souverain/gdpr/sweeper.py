"""Retention enforced on a schedule: personal data past its retention is deleted even when no request comes.

The conversation store, the pseudonymisation vaults and the subject links each delete their expired rows
as requests arrive (at most every few minutes), so a server that nobody calls would keep them past their
retention; reads already ignore them, but storage limitation (GDPR Art. 5(1)(e)) asks for their deletion.
The sweeper runs every store's purge every ``interval_s`` seconds inside the server's lifespan, off the
event loop, and records each pass that deleted something as one ``retention.purge`` event in the audit
trail (counts per store, nothing else).

A failed pass (the database unreachable, the audit trail refusing the event) is logged by its error type
alone (a database error's message may quote the values of its statement) and retried at the next interval:
deleting expired data never waits for the audit trail, and the next pass records what it deletes.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from souverain.events import Event, EventSink

logger = logging.getLogger(__name__)

ACTION = "retention.purge"
ACTOR = "retention"


@dataclass(frozen=True)
class Purge:
    """One store's deletion of its expired rows: blocking, returns how many rows went."""

    name: str  # the count's key in the audit event, e.g. "conversations"
    run: Callable[[], int]


class RetentionSweeper:
    """Runs every purge, records what went, and repeats every ``interval_s`` seconds until cancelled."""

    def __init__(self, purges: Sequence[Purge], events: EventSink, interval_s: float) -> None:
        self.purges = tuple(purges)
        self.events = events
        self.interval_s = interval_s

    async def sweep(self) -> Mapping[str, int]:
        """One pass: each store's expired rows deleted; the counts, recorded when any row went."""
        counts = {purge.name: await asyncio.to_thread(purge.run) for purge in self.purges}
        if any(counts.values()):
            request_id = f"sweep-{uuid.uuid4().hex[:16]}"
            await self.events.emit(Event(ACTION, "success", request_id, actor=ACTOR, details=dict(counts)))
        return counts

    async def run(self) -> None:
        """Sweep every ``interval_s`` seconds, the first time one interval after the start."""
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.sweep()
            except Exception as exc:  # noqa: BLE001 - the loop outlives a failed pass; the next one retries
                logger.error(
                    "retention sweep failed (%s); retrying in %.0f s", type(exc).__name__, self.interval_s
                )
