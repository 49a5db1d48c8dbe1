"""Per-backend health: consecutive failures open a cool-down that expires by itself."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from souverain.settings import CooldownSettings


@dataclass
class BackendState:
    consecutive_failures: int = 0
    cooldown_until: float = 0.0
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
        state = self.state(backend)
        state.consecutive_failures = 0
        state.cooldown_until = 0.0
        state.healthy = True

    def failure(self, backend: str, reason: str) -> None:
        """Count a failure; at the threshold the backend is left out for the cool-down period."""
        state = self.state(backend)
        state.consecutive_failures += 1
        state.last_error = reason
        if state.consecutive_failures >= self.settings.failure_threshold:
            state.cooldown_until = self.clock() + self.settings.cooldown_seconds
            state.healthy = False
            state.consecutive_failures = 0

    def report(self, backend: str) -> dict[str, object]:
        """A JSON-friendly view for /readyz."""
        state = self.state(backend)
        remaining = max(0.0, state.cooldown_until - self.clock())
        status = (
            "cooling_down" if remaining else {True: "ready", False: "down", None: "unknown"}[state.healthy]
        )
        return {"status": status, "cooldown_remaining_s": round(remaining, 1), "last_error": state.last_error}
