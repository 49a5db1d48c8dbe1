"""The stage interface and the runner that applies stages in order and their ``after`` hooks in reverse."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Protocol

import anyio

from souverain.errors import SouverainError
from souverain.pipeline.call import Call

logger = logging.getLogger(__name__)


class Stage(Protocol):
    name: str

    async def before(self, call: Call) -> None:
        """Check, annotate or transform the call before routing; raise to refuse it."""

    async def after(self, call: Call) -> None:
        """Act on the outcome (success, refusal or failure); raise only to fail closed."""


def record_failure(call: Call, exc: BaseException) -> None:
    """Set the call's status and outcome from an exception."""
    if isinstance(exc, SouverainError):
        call.status = exc.status_code
        call.error_code = exc.code or exc.error_type
        call.outcome = "refused" if exc.status_code < 500 else "error"
    else:
        call.status, call.outcome, call.error_code = 500, "error", type(exc).__name__


class Pipeline:
    def __init__(self, stages: Sequence[Stage]) -> None:
        self.stages = list(stages)

    async def before(self, call: Call) -> None:
        """Run each ``before``; on refusal, run the ``after`` hooks of the stages entered, then raise."""
        entered: list[Stage] = []
        try:
            for stage in self.stages:
                entered.append(stage)
                await stage.before(call)
        except BaseException as exc:
            record_failure(call, exc)
            await self._after(call, entered)
            raise

    async def after(self, call: Call) -> None:
        """Run every ``after`` hook (reverse order), shielded from cancellation (client disconnects)."""
        await self._after(call, self.stages)

    async def _after(self, call: Call, stages: Sequence[Stage]) -> None:
        if call.finished is None:
            call.finished = time.perf_counter()
        first_error: BaseException | None = None
        with anyio.CancelScope(shield=True):
            for stage in reversed(stages):
                try:
                    await stage.after(call)
                except Exception as exc:  # noqa: BLE001 - every hook runs; the first failure is raised
                    logger.error(
                        "pipeline stage %s failed after the call: %s", stage.name, type(exc).__name__
                    )
                    first_error = first_error or exc
        if first_error is not None:
            raise first_error
