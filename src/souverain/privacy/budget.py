"""Detection of a request's texts off the event loop, within a time budget that grows with their size.

The budget is ``detection_budget_ms`` for every started 10,000 characters (the detector reads about
100,000 characters per second, so an honest request never comes near it). Exceeding it, or any failure,
raises ``DetectionError``: the caller refuses the request rather than pass text on unexamined. A thread
cannot be stopped, so if one hangs the request is refused when its budget and a grace period have run out,
and the thread is left to finish on its own.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence

from souverain.errors import DetectionError
from souverain.privacy.detector import Detector
from souverain.privacy.entities import Entity

CHARACTERS_PER_BUDGET = 10_000
_GRACE_S = 1.0  # for the thread pool to pick the work up under load


def budget_seconds(texts: Sequence[str], budget_ms: float) -> float:
    """The time budget of detecting ``texts``."""
    size = sum(len(t) for t in texts)
    return budget_ms / 1000 * max(1, math.ceil(size / CHARACTERS_PER_BUDGET))


def _timeout(budget: float) -> DetectionError:
    return DetectionError(
        f"personal-data detection exceeded its time budget of {budget * 1000:.0f} ms",
        code="pii_detection_timeout",
    )


def detect_texts(
    detector: Detector, texts: Sequence[str], budget: float, language: str | None = None
) -> list[list[Entity]]:
    """The entities of each text, all of them within ``budget`` seconds (blocking)."""
    started = time.monotonic()
    found: list[list[Entity]] = []
    for text in texts:
        remaining = budget - (time.monotonic() - started)
        if remaining <= 0:
            raise _timeout(budget)
        found.append(detector.analyze(text, language, deadline_s=remaining) if text else [])
    return found


async def detect(
    detector: Detector, texts: Sequence[str], budget_ms: float, language: str | None = None
) -> list[list[Entity]]:
    """``detect_texts`` in a worker thread; ``DetectionError`` on failure or when the budget is spent."""
    budget = budget_seconds(texts, budget_ms)
    try:
        return await asyncio.wait_for(
            asyncio.to_thread(detect_texts, detector, list(texts), budget, language), budget + _GRACE_S
        )
    except TimeoutError:
        raise _timeout(budget) from None
