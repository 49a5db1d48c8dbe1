"""The audit trail as the application runs it: store, durable sink, and periodic signed checkpoints."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from souverain.audit.checkpoints import Checkpointer, Exporter
from souverain.audit.exports import configured_exporters
from souverain.audit.keys import AuditKeys, load_keys
from souverain.audit.sink import AuditSink
from souverain.audit.store import AuditStore
from souverain.settings import Settings
from souverain.storage.database import Database

logger = logging.getLogger(__name__)

_CHECK_EVERY_S = 5.0  # how often the checkpointer asks itself whether a checkpoint is due


@dataclass
class AuditRuntime:
    keys: AuditKeys
    store: AuditStore
    sink: AuditSink
    checkpointer: Checkpointer
    exporters: list[Exporter]
    _task: asyncio.Task[None] | None = field(default=None, repr=False)

    @classmethod
    def open(cls, settings: Settings, database: Database) -> AuditRuntime:
        """Load or create the audit keys and open the store (blocking: call it off the event loop)."""
        keys = load_keys(settings.audit, settings.data_dir)
        store = AuditStore(database, keys, sqlite_full_sync=settings.audit.sqlite_full_sync)
        exporters = configured_exporters(settings.audit)
        return cls(keys, store, AuditSink(store), Checkpointer(store, settings.audit, exporters), exporters)

    def start(self) -> None:
        """Start writing checkpoints in the background."""
        self._task = asyncio.create_task(self._checkpoints())

    async def _checkpoints(self) -> None:
        while True:
            await asyncio.sleep(_CHECK_EVERY_S)
            try:
                await asyncio.to_thread(self.checkpointer.maybe_checkpoint)
            except Exception as exc:  # noqa: BLE001 - a failed checkpoint is reported and retried, never fatal
                logger.error("audit checkpoint failed: %s", exc)

    async def close(self) -> None:
        """Stop the checkpoint task, write a final checkpoint, release the store."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        try:
            await asyncio.to_thread(self.checkpointer.maybe_checkpoint)
        except Exception as exc:  # noqa: BLE001 - shutting down: report, do not mask the shutdown
            logger.error("final audit checkpoint failed: %s", exc)
        for exporter in self.exporters:
            exporter.close()
        self.store.close()
