"""In-process quota limiter for the embedded tier: fixed-window counters in a dict of this process.

It is atomic because the check and the increments run without an ``await`` between them, so no other
task on the event loop can interleave; it is therefore meant for one event loop (the server's). Several
gateway processes need the Redis limiter, which shares one set of counters between them.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from souverain.governance import quota_windows as windows
from souverain.governance.quotas import WINDOW_SECONDS, Limit, Reservation

PRUNE_INTERVAL_SECONDS = 10.0
"""How often (at most) counters of windows that have ended are dropped."""


class InMemoryLimiter:
    """Fixed windows on UTC minute and day boundaries, counted in this process."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._counts: dict[windows.CounterKey, int] = {}
        self._next_prune = 0.0

    async def acquire(self, limits: list[Limit], tokens: int) -> Reservation:
        """Reserve one request and ``tokens`` under every limit, atomically, or raise RateLimited."""
        now = self._clock()
        planned = windows.plan(limits, tokens, now)
        self._prune(now)
        # From here to the return there is no await: the check and the increments are one step.
        exceeded = [
            limit
            for limit in planned.windows
            if self._counts.get(planned.key(limit), 0) + planned.amounts[planned.key(limit)] > limit.limit
        ]
        if exceeded:
            raise windows.refusal(exceeded, planned.windows, now)
        for key, amount in planned.amounts.items():
            self._counts[key] = self._counts.get(key, 0) + amount
        return windows.reservation(limits, tokens, planned)

    async def settle(self, reservation: Reservation, actual_tokens: int) -> None:
        """Replace the reserved token estimate with the real count (never below zero)."""
        delta = actual_tokens - reservation.tokens
        for key in windows.settle_keys(reservation):
            # A window already pruned has ended: correcting it could no longer change any decision.
            if key in self._counts:
                self._counts[key] = max(0, self._counts[key] + delta)

    async def usage(self, limit: Limit) -> int:
        """What the current window of ``limit`` has counted so far."""
        start = windows.window_start(limit.kind, self._clock())
        return self._counts.get(windows.counter_key(limit, start), 0)

    @property
    def counters(self) -> int:
        """How many counters are held (those of ended windows are dropped)."""
        return len(self._counts)

    async def close(self) -> None:
        """Forget every counter."""
        self._counts.clear()

    def _prune(self, now: float) -> None:
        if now < self._next_prune:
            return
        self._next_prune = now + PRUNE_INTERVAL_SECONDS
        self._counts = {
            key: count for key, count in self._counts.items() if key[3] + WINDOW_SECONDS[key[2]] > now
        }
