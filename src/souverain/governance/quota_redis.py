"""Redis quota limiter: one set of fixed-window counters shared by every gateway replica.

One Lua script checks every limit and, only if all pass, raises every counter and sets its expiry;
Redis runs a script without interleaving any other command, so replicas racing for the last tokens of
a budget can never both get them. Counters live under
``{prefix}:quota:{scope}:{scope_id}:{kind}:{window_start}`` and expire shortly after their window.
When Redis cannot be reached the limiter fails closed: no request is let through unlimited.

Time comes from the gateway's clock, passed to the script, rather than from Redis's ``TIME``: the
client can then name every key it touches in ``KEYS`` (Redis's scripting contract, and what Redis
Cluster routes on) and record the windows in the reservation for ``settle``, in one round trip.
Replicas keep their clocks in step with NTP (milliseconds apart); a replica whose clock is off only
counts a request into the neighbouring window at a boundary, which fixed windows already allow.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from souverain.errors import BackendUnavailable
from souverain.governance import quota_windows as windows
from souverain.governance.quotas import WINDOW_SECONDS, Limit, Reservation

logger = logging.getLogger(__name__)

EXPIRY_MARGIN_SECONDS = 10
"""Counters outlive their window by this much, so that a replica whose clock lags still finds them."""

# KEYS: the counters, one per (scope, id, kind, window). ARGV[1]: the number of limits n; then, for
# each limit, the index in KEYS of its counter and its value; then, for each counter, the amount to
# add and its time to live. Returns the (1-based) positions of the exceeded limits: empty = admitted.
ACQUIRE_SCRIPT = """
local n = tonumber(ARGV[1])
local over = {}
for j = 1, n do
  local k = tonumber(ARGV[2 * j])
  local used = tonumber(redis.call('GET', KEYS[k]) or '0')
  if used + tonumber(ARGV[2 * n + 2 * k]) > tonumber(ARGV[2 * j + 1]) then
    over[#over + 1] = j
  end
end
if #over > 0 then
  return over
end
for k = 1, #KEYS do
  redis.call('INCRBY', KEYS[k], ARGV[2 * n + 2 * k])
  redis.call('EXPIRE', KEYS[k], ARGV[2 * n + 2 * k + 1])
end
return over
"""

# KEYS: the token counters a reservation raised; ARGV[1]: actual minus reserved tokens (negative for a
# refund). An expired counter is left alone: INCRBY would recreate it without an expiry.
SETTLE_SCRIPT = """
for k = 1, #KEYS do
  if redis.call('EXISTS', KEYS[k]) == 1 then
    if redis.call('INCRBY', KEYS[k], ARGV[1]) < 0 then
      redis.call('SET', KEYS[k], 0, 'KEEPTTL')
    end
  end
end
return 0
"""


class RedisLimiter:
    """Fixed windows on UTC minute and day boundaries, counted in Redis and shared by every process."""

    def __init__(
        self,
        url: str,
        prefix: str,
        *,
        clock: Callable[[], float] = time.time,
        max_connections: int = 64,
        timeout: float = 2.0,
    ) -> None:
        # Short timeouts and quick, few retries: quotas sit on every request's path, and an unreachable
        # store must turn into a 503 promptly rather than hold requests. Only connection errors are
        # retried: a timed-out script may have run already, and running it twice would charge twice.
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=timeout,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(ExponentialBackoff(cap=0.05, base=0.01), 2, (RedisConnectionError,)),
        )
        self._redis = Redis.from_pool(pool)
        self._prefix = prefix
        self._clock = clock
        # Registered once: calls use EVALSHA and load the script only if the server lacks it.
        self._acquire = self._redis.register_script(ACQUIRE_SCRIPT)
        self._settle = self._redis.register_script(SETTLE_SCRIPT)

    def key(self, limit: Limit, start: int) -> str:
        """The Redis key of the counter of ``limit`` for the window starting at ``start``."""
        return self._name(windows.counter_key(limit, start))

    async def acquire(self, limits: list[Limit], tokens: int) -> Reservation:
        """Reserve one request and ``tokens`` under every limit, atomically, or raise RateLimited."""
        now = self._clock()
        planned = windows.plan(limits, tokens, now)
        counters = list(planned.amounts)
        index = {key: position for position, key in enumerate(counters, start=1)}
        args: list[int] = [len(planned.windows)]
        for limit in planned.windows:
            args += [index[planned.key(limit)], limit.limit]
        for counter in counters:
            args += [planned.amounts[counter], self._ttl(counter, now)]
        keys = [self._name(counter) for counter in counters]
        over = await self._run(self._acquire, keys, args)
        if over:
            ordered = list(planned.windows)
            raise windows.refusal([ordered[int(j) - 1] for j in over], planned.windows, now)
        return windows.reservation(limits, tokens, planned)

    async def settle(self, reservation: Reservation, actual_tokens: int) -> None:
        """Replace the reserved token estimate with the real count (never below zero)."""
        delta = actual_tokens - reservation.tokens
        keys = [self._name(counter) for counter in windows.settle_keys(reservation)]
        if delta and keys:
            await self._run(self._settle, keys, [delta])

    async def usage(self, limit: Limit) -> int:
        """What the current window of ``limit`` has counted so far."""
        start = windows.window_start(limit.kind, self._clock())
        try:
            value = await self._redis.get(self.key(limit, start))
        except RedisError as exc:
            raise _unavailable(exc) from exc
        return int(value or 0)

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()

    def _name(self, counter: windows.CounterKey) -> str:
        scope, scope_id, kind, start = counter
        return f"{self._prefix}:quota:{scope}:{scope_id}:{kind.value}:{start}"

    @staticmethod
    def _ttl(counter: windows.CounterKey, now: float) -> int:
        # Relative to the gateway's clock (not an absolute EXPIREAT), so a Redis host whose clock
        # differs from the gateway's still drops the counter right after its window.
        _, _, kind, start = counter
        return max(1, math.ceil(start + WINDOW_SECONDS[kind] - now)) + EXPIRY_MARGIN_SECONDS

    @staticmethod
    async def _run(script: AsyncScript, keys: Sequence[str], args: Sequence[int]) -> Any:
        try:
            return await script(keys=keys, args=args)
        except RedisError as exc:
            raise _unavailable(exc) from exc


def _unavailable(exc: RedisError) -> BackendUnavailable:
    # Fail closed: without the shared counters no limit can be enforced, so the request is refused.
    logger.warning("quota store unavailable: %s: %s", type(exc).__name__, exc)
    return BackendUnavailable("quota store unavailable", code="quota_store_unavailable")
