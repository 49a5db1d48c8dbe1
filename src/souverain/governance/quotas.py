"""Quotas: the limits that apply to a request, and the ``Limiter`` protocol that enforces them atomically.

Limits are fixed windows (requests and tokens per UTC minute, tokens per UTC day) for three scopes: the
key, its use case and its tenant. Before a request, ``acquire`` atomically checks every limit and
reserves one request plus the estimated tokens (prompt estimate + output limit), so parallel requests
can never overshoot a token budget by more than one request's worth; afterwards ``settle`` replaces the
estimate with the real count (also for streams the client abandoned). Implementations: in-process
(``quota_memory``) for the embedded tier and Redis (``quota_redis``) shared by every gateway replica.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from souverain.governance.principal import Principal


class Kind(StrEnum):
    REQUESTS_PER_MINUTE = "requests_per_minute"
    TOKENS_PER_MINUTE = "tokens_per_minute"
    TOKENS_PER_DAY = "tokens_per_day"


WINDOW_SECONDS = {Kind.REQUESTS_PER_MINUTE: 60, Kind.TOKENS_PER_MINUTE: 60, Kind.TOKENS_PER_DAY: 86_400}


@dataclass(frozen=True)
class Limit:
    scope: str  # "key", "use_case" or "tenant"
    scope_id: str  # key prefix, use case id, tenant id
    kind: Kind
    limit: int

    def describe(self) -> str:
        """Human wording for 429 messages, e.g. 'tokens per minute of the use case'."""
        return f"{self.kind.value.replace('_', ' ')} of the {self.scope.replace('_', ' ')}"


@dataclass
class Reservation:
    """What ``acquire`` took, so that ``settle`` can correct it."""

    limits: list[Limit]
    tokens: int
    windows: dict[Limit, int] = field(default_factory=dict)  # limit -> window start (epoch seconds)


class Limiter(Protocol):
    async def acquire(self, limits: list[Limit], tokens: int) -> Reservation:
        """Reserve one request and ``tokens`` under every limit, atomically, or raise RateLimited."""

    async def settle(self, reservation: Reservation, actual_tokens: int) -> None:
        """Replace the reserved token estimate with the real count."""

    async def close(self) -> None:
        """Release connections."""


def _parse(scope: str, scope_id: str, quotas: dict[str, Any]) -> list[Limit]:
    limits = []
    for kind in Kind:
        value = quotas.get(kind.value)
        if value is not None:
            limits.append(Limit(scope, scope_id, kind, int(value)))
    return limits


def limits_for(principal: Principal) -> list[Limit]:
    """Every configured limit of the key, its use case and its tenant."""
    limits = _parse("key", principal.key_prefix, principal.key_quotas)
    use_case = principal.use_case
    if use_case is not None:
        limits += _parse("use_case", str(use_case.id), use_case.quotas)
        limits += _parse("tenant", str(use_case.tenant_id), use_case.tenant_quotas)
    return limits
