"""A settable clock for tests of expiry and retention."""

from __future__ import annotations

from datetime import UTC, datetime


class Clock:
    """A settable UTC clock, starting on 2030-01-01."""

    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now
