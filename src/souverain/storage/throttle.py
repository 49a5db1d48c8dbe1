"""Spacing out a store's housekeeping (purging expired rows): a thread-safe gate that opens at most once per
interval, in this process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Throttle:
    """Says when a periodic task is due: on the first call, then at most once every ``every_s`` seconds."""

    def __init__(self, every_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.every_s = every_s
        self._clock = clock
        self._last: float | None = None
        self._lock = threading.Lock()

    def due(self) -> bool:
        """Whether the task should run now; a True counts as a run, so concurrent callers get one True."""
        with self._lock:
            now = self._clock()
            if self._last is not None and now - self._last < self.every_s:
                return False
            self._last = now
            return True
