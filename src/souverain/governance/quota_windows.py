"""Fixed-window arithmetic and 429 refusals shared by the in-process and the Redis limiter.

Every limit has one counter per UTC window (minute or day): the window containing ``now`` starts at
``floor(now / width) * width``. An acquire plans which counters it would raise and by how much; both
limiters then check and raise them in one atomic step, and word their refusals with the functions here
so that clients see the same 429 whichever store is configured.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from souverain.errors import RateLimited
from souverain.governance.quotas import WINDOW_SECONDS, Kind, Limit, Reservation

CounterKey = tuple[str, str, Kind, int]
"""One counter: scope, scope id, kind, window start (epoch seconds)."""

TOKEN_KINDS = frozenset({Kind.TOKENS_PER_MINUTE, Kind.TOKENS_PER_DAY})


def window_start(kind: Kind, now: float) -> int:
    """Start (epoch seconds) of the UTC window of ``kind`` that contains ``now``."""
    width = WINDOW_SECONDS[kind]
    return int(now // width) * width


def counter_key(limit: Limit, start: int) -> CounterKey:
    """The counter of ``limit`` for the window starting at ``start``."""
    return (limit.scope, limit.scope_id, limit.kind, start)


def cost(kind: Kind, tokens: int) -> int:
    """What one request adds to a counter of ``kind``."""
    return tokens if kind in TOKEN_KINDS else 1


@dataclass(frozen=True)
class Plan:
    """What one acquire would take: the window of every limit and the amount added to each counter."""

    windows: dict[Limit, int]
    amounts: dict[CounterKey, int]

    def key(self, limit: Limit) -> CounterKey:
        """The counter ``limit`` is checked against."""
        return counter_key(limit, self.windows[limit])


def plan(limits: Iterable[Limit], tokens: int, now: float) -> Plan:
    """The counters an acquire of ``tokens`` at ``now`` raises; refuses requests no window could hold."""
    if tokens < 0:
        raise ValueError(f"a token estimate cannot be negative (got {tokens})")
    windows = {limit: window_start(limit.kind, now) for limit in limits}
    for limit in windows:
        if cost(limit.kind, tokens) > limit.limit:
            raise _too_large(limit, tokens)
    # Two limits on one counter (the same scope, id and kind) raise it once.
    amounts = {counter_key(limit, start): cost(limit.kind, tokens) for limit, start in windows.items()}
    return Plan(windows, amounts)


def reservation(limits: list[Limit], tokens: int, planned: Plan) -> Reservation:
    """The reservation an admitted plan becomes."""
    return Reservation(limits=list(limits), tokens=tokens, windows=dict(planned.windows))


def settle_keys(taken: Reservation) -> list[CounterKey]:
    """The token counters ``taken`` raised, each once: the ones ``settle`` corrects."""
    keys = (counter_key(limit, start) for limit, start in taken.windows.items() if limit.kind in TOKEN_KINDS)
    return list(dict.fromkeys(keys))


def retry_after(limit: Limit, start: int, now: float) -> int:
    """Whole seconds until the window of ``limit`` starting at ``start`` resets; at least 1."""
    return max(1, math.ceil(start + WINDOW_SECONDS[limit.kind] - now))


def refusal(exceeded: Iterable[Limit], windows: dict[Limit, int], now: float) -> RateLimited:
    """The 429 for a refused acquire, naming the exceeded limit whose window resets last."""
    # The latest reset, not the first limit found: retrying when an earlier window resets would only
    # be refused again by the limit that is still exhausted.
    waits = [(retry_after(limit, windows[limit], now), limit) for limit in exceeded]
    wait, limit = max(waits, key=lambda pair: pair[0])
    message = f"Rate limit reached: {limit.describe()} ({limit.limit}). Retry in {wait} s."
    return RateLimited(message, retry_after=wait, code="rate_limit_exceeded")


def _too_large(limit: Limit, tokens: int) -> RateLimited:
    if limit.kind in TOKEN_KINDS:
        message = (
            f"Request too large: it needs an estimated {tokens} tokens, more than the "
            f"{limit.describe()} allows ({limit.limit}). Lower max_tokens or shorten the input."
        )
    else:
        message = f"Requests are not allowed: the {limit.describe()} is {limit.limit}."
    error = RateLimited(message, retry_after=WINDOW_SECONDS[limit.kind], code="request_too_large")
    # Waiting cannot help; the official OpenAI SDKs honour this header and do not retry.
    error.headers["x-should-retry"] = "false"
    return error
