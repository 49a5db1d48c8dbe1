"""Per-backend health: consecutive failures open a cool-down that expires by itself."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from souverain.backends.base import Backend
from souverain.settings import CooldownSettings

logger = logging.getLogger(__name__)


@dataclass
class BackendState:
    consecutive_failures: int = 0
    cooldown_until: float = 0.0
    tripped: bool = False  # a cool-down happened and no request has succeeded since (half-open)
    last_error: str | None = None
    healthy: bool | None = None  # None until the first health check


@dataclass
class HealthBoard:
    """Tracks every backend's failures; a backend in cool-down is skipped until it expires."""

    settings: CooldownSettings
    clock: Callable[[], float] = time.monotonic
    states: dict[str, BackendState] = field(default_factory=dict)

    def state(self, backend: str) -> BackendState:
        return self.states.setdefault(backend, BackendState())

    def available(self, backend: str) -> bool:
        """False while the backend is cooling down."""
        return self.state(backend).cooldown_until <= self.clock()

    def success(self, backend: str) -> None:
        """A request succeeded: the backend is healthy and any half-open state is closed."""
        state = self.state(backend)
        state.consecutive_failures = 0
        state.cooldown_until = 0.0
        state.tripped = False
        state.healthy = True

    def failure(self, backend: str, reason: str) -> None:
        """Count a failure; at the threshold (or at once after a cool-down) the backend is left out."""
        state = self.state(backend)
        state.consecutive_failures += 1
        state.last_error = reason
        if state.tripped or state.consecutive_failures >= self.settings.failure_threshold:
            state.cooldown_until = self.clock() + self.settings.cooldown_seconds
            state.healthy = False
            state.tripped = True
            state.consecutive_failures = 0

    def probe(self, backend: str, ok: bool) -> None:
        """Record a health check: a failing one counts as a failure; a passing one never ends a cool-down."""
        if not ok:
            self.failure(backend, "health check failed")
            self.state(backend).healthy = False
        elif self.available(backend):
            self.state(backend).healthy = True

    def report(self, backend: str) -> dict[str, object]:
        """A JSON-friendly view for /readyz."""
        state = self.state(backend)
        remaining = max(0.0, state.cooldown_until - self.clock())
        status = (
            "cooling_down" if remaining else {True: "ready", False: "down", None: "unknown"}[state.healthy]
        )
        return {"status": status, "cooldown_remaining_s": round(remaining, 1), "last_error": state.last_error}


async def _probe_one(name: str, backend: Backend, board: HealthBoard) -> None:
    try:
        ok = await backend.health()
    except Exception as exc:  # noqa: BLE001 - a crashing health check means "not healthy"
        logger.warning("health check of %s failed: %s", name, type(exc).__name__)
        ok = False
    board.probe(name, ok)


async def check_health(backends: Mapping[str, Backend], board: HealthBoard) -> None:
    """Ask every backend, concurrently, whether it can serve, and record the answers."""
    await asyncio.gather(*(_probe_one(name, b, board) for name, b in backends.items()))


async def health_loop(backends: Mapping[str, Backend], board: HealthBoard, interval: float) -> None:
    """Check every ``interval`` seconds until cancelled."""
    while True:
        await asyncio.sleep(interval)
        await check_health(backends, board)
