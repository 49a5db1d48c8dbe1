"""Quota enforcement on both limiters: the in-process one and Redis (127.0.0.1:6379), shared by processes.

Clocks are injected (both limiters take one), so window arithmetic is exact and no test depends on
when it runs. Each Redis test writes under its own random key prefix and deletes it afterwards.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Protocol

import httpx
import pytest
import redis
from fastapi import FastAPI

from souverain.api import errors as api_errors
from souverain.errors import BackendUnavailable, RateLimited
from souverain.governance.quota_factory import build_limiter
from souverain.governance.quota_memory import PRUNE_INTERVAL_SECONDS, InMemoryLimiter
from souverain.governance.quota_redis import EXPIRY_MARGIN_SECONDS, RedisLimiter
from souverain.governance.quotas import Kind, Limit, Reservation
from souverain.settings import GovernanceSettings

pytestmark = pytest.mark.anyio

REDIS_URL = "redis://127.0.0.1:6379/0"
DAY_START = 20_834 * 86_400  # a UTC midnight
T0 = DAY_START + 37  # 37 s into a minute: 23 s left in it
REPO = Path(__file__).resolve().parent.parent


class Inspectable(Protocol):
    """A Limiter that also reports the current count of a limit (both implementations do)."""

    async def acquire(self, limits: list[Limit], tokens: int) -> Reservation: ...
    async def settle(self, reservation: Reservation, actual_tokens: int) -> None: ...
    async def usage(self, limit: Limit) -> int: ...
    async def close(self) -> None: ...


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.fail("Redis is not reachable on 127.0.0.1:6379 (the test environment provides it)")
    yield client
    client.close()


@pytest.fixture
def redis_prefix(redis_client: redis.Redis) -> Iterator[str]:
    """A fresh key prefix; every key under it is deleted afterwards (SCAN + DEL of that prefix only)."""
    prefix = f"souverain-test-{uuid.uuid4().hex}"
    yield prefix
    keys = list(redis_client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        redis_client.delete(*keys)


@pytest.fixture(params=["memory", "redis"])
async def limiter(request: pytest.FixtureRequest, clock: FakeClock) -> AsyncIterator[Inspectable]:
    made: Inspectable
    if request.param == "memory":
        made = InMemoryLimiter(clock=clock)
    else:
        made = RedisLimiter(REDIS_URL, request.getfixturevalue("redis_prefix"), clock=clock)
    yield made
    await made.close()


async def try_acquire(limiter: Inspectable, limits: list[Limit], tokens: int) -> Reservation | None:
    try:
        return await limiter.acquire(limits, tokens)
    except RateLimited:
        return None


async def count_admitted(limiter: Inspectable, limits: list[Limit], tokens: int, attempts: int) -> int:
    admitted = 0
    for _ in range(attempts):
        admitted += await try_acquire(limiter, limits, tokens) is not None
    return admitted


@pytest.mark.parametrize("scope", ["key", "use_case", "tenant"])
@pytest.mark.parametrize(
    ("kind", "value", "tokens", "expected"),
    [
        (Kind.REQUESTS_PER_MINUTE, 3, 50, 3),
        (Kind.TOKENS_PER_MINUTE, 100, 30, 3),
        (Kind.TOKENS_PER_DAY, 100, 30, 3),
    ],
)
async def test_each_scope_and_kind_is_enforced(
    limiter: Inspectable, scope: str, kind: Kind, value: int, tokens: int, expected: int
) -> None:
    limit = Limit(scope, "a", kind, value)
    assert await count_admitted(limiter, [limit], tokens, attempts=6) == expected
    assert await limiter.usage(limit) == expected * (1 if kind is Kind.REQUESTS_PER_MINUTE else tokens)
    # Another holder of the same scope has its own counter.
    assert await try_acquire(limiter, [Limit(scope, "b", kind, value)], tokens) is not None


async def test_refusal_names_the_limit_and_when_to_retry(limiter: Inspectable) -> None:
    limit = Limit("use_case", "7", Kind.TOKENS_PER_MINUTE, 1000)
    await limiter.acquire([limit], 900)
    with pytest.raises(RateLimited) as refused:
        await limiter.acquire([limit], 200)
    error = refused.value
    assert error.message == "Rate limit reached: tokens per minute of the use case (1000). Retry in 23 s."
    assert error.status_code == 429
    assert error.code == "rate_limit_exceeded"
    assert error.headers["Retry-After"] == "23"


async def test_retry_after_is_the_latest_reset_among_exceeded_limits(limiter: Inspectable) -> None:
    per_minute = Limit("key", "sk-1", Kind.REQUESTS_PER_MINUTE, 1)
    per_day = Limit("tenant", "3", Kind.TOKENS_PER_DAY, 100)
    await limiter.acquire([per_minute, per_day], 100)
    with pytest.raises(RateLimited) as refused:
        await limiter.acquire([per_minute, per_day], 10)
    # Both are exhausted; retrying when the minute resets would still hit the daily budget.
    left_today = 86_400 - 37
    assert refused.value.headers["Retry-After"] == str(left_today)
    assert refused.value.message == (
        f"Rate limit reached: tokens per day of the tenant (100). Retry in {left_today} s."
    )


async def test_refused_acquire_takes_nothing(limiter: Inspectable) -> None:
    requests = Limit("key", "sk-1", Kind.REQUESTS_PER_MINUTE, 10)
    tokens = Limit("use_case", "7", Kind.TOKENS_PER_MINUTE, 100)
    await limiter.acquire([requests, tokens], 80)
    with pytest.raises(RateLimited, match="tokens per minute of the use case"):
        await limiter.acquire([requests, tokens], 30)
    assert await limiter.usage(requests) == 1  # the refused request was not counted either
    assert await limiter.usage(tokens) == 80


async def test_request_larger_than_a_token_limit_is_refused_at_once(limiter: Inspectable) -> None:
    limit = Limit("use_case", "7", Kind.TOKENS_PER_MINUTE, 1000)
    with pytest.raises(RateLimited) as refused:
        await limiter.acquire([limit], 1500)
    error = refused.value
    assert error.code == "request_too_large"
    assert "estimated 1500 tokens, more than the tokens per minute of the use case allows (1000)" in (
        error.message
    )
    assert error.headers["x-should-retry"] == "false"
    assert await limiter.usage(limit) == 0
    assert await try_acquire(limiter, [limit], 1000) is not None  # exactly the limit still fits


async def test_windows_reset_on_utc_boundaries(limiter: Inspectable, clock: FakeClock) -> None:
    per_minute = Limit("key", "sk-1", Kind.REQUESTS_PER_MINUTE, 2)
    per_day = Limit("tenant", "3", Kind.TOKENS_PER_DAY, 100)
    assert await count_admitted(limiter, [per_minute], 0, attempts=3) == 2
    clock.now = DAY_START + 59.999  # same minute
    assert await try_acquire(limiter, [per_minute], 0) is None
    clock.now = DAY_START + 60  # the next minute starts: a fresh window
    assert await count_admitted(limiter, [per_minute], 0, attempts=3) == 2
    assert await limiter.usage(per_minute) == 2

    assert await count_admitted(limiter, [per_day], 60, attempts=2) == 1
    clock.now = DAY_START + 86_399
    assert await try_acquire(limiter, [per_day], 60) is None
    clock.now = DAY_START + 86_400
    assert await try_acquire(limiter, [per_day], 60) is not None
    assert await limiter.usage(per_day) == 60


async def test_settle_refunds_and_charges_overage(limiter: Inspectable) -> None:
    requests = Limit("key", "sk-1", Kind.REQUESTS_PER_MINUTE, 100)
    tokens = Limit("use_case", "7", Kind.TOKENS_PER_MINUTE, 100)
    first = await limiter.acquire([requests, tokens], 60)
    await limiter.settle(first, 20)  # refund of the unused estimate
    assert await limiter.usage(tokens) == 20
    second = await limiter.acquire([requests, tokens], 60)  # fits only thanks to the refund
    await limiter.settle(second, 90)  # the answer was longer than estimated: overage is charged
    assert await limiter.usage(tokens) == 110
    assert await limiter.usage(requests) == 2  # settling never changes the request count
    with pytest.raises(RateLimited):
        await limiter.acquire([requests, tokens], 1)
    # A refund larger than what is counted (here: settling twice) stops at zero.
    await limiter.settle(first, 0)
    await limiter.settle(first, 0)
    await limiter.settle(second, 0)
    assert await limiter.usage(tokens) == 0


async def test_settle_corrects_the_window_it_reserved_in(limiter: Inspectable, clock: FakeClock) -> None:
    limit = Limit("use_case", "7", Kind.TOKENS_PER_MINUTE, 100)
    streaming = await limiter.acquire([limit], 50)
    clock.now = DAY_START + 61  # the stream ends in the next minute
    await limiter.acquire([limit], 10)
    await limiter.settle(streaming, 100)
    assert await limiter.usage(limit) == 10


async def test_concurrent_acquires_never_reserve_more_than_the_budget(limiter: Inspectable) -> None:
    budget = Limit("use_case", "7", Kind.TOKENS_PER_MINUTE, 1000)
    results = await asyncio.gather(*(try_acquire(limiter, [budget], 7) for _ in range(200)))
    admitted = [r for r in results if r is not None]
    assert len(admitted) == 1000 // 7  # every request that fits is admitted, none more
    assert await limiter.usage(budget) == 994
    # Actuals above the estimates: the overage is counted exactly (no update lost under concurrency),
    # and once the budget is spent nothing more is admitted.
    await asyncio.gather(*(limiter.settle(r, 9) for r in admitted))
    assert await limiter.usage(budget) == 142 * 9
    assert await try_acquire(limiter, [budget], 1) is None


async def test_concurrent_acquire_and_settle_stay_within_the_budget(limiter: Inspectable) -> None:
    budget = Limit("tenant", "3", Kind.TOKENS_PER_MINUTE, 1000)
    charged: list[int] = []

    async def call() -> None:
        reservation = await try_acquire(limiter, [budget], 10)
        if reservation is not None:
            await asyncio.sleep(0)  # the answer streams while other requests arrive
            await limiter.settle(reservation, 6)
            charged.append(6)

    await asyncio.gather(*(call() for _ in range(200)))
    # Refunds free budget for later requests, but the count never passes the budget when actuals stay
    # within their estimates, and it equals exactly what the admitted requests used.
    assert 1000 // 10 <= len(charged) <= 1000 // 6
    assert await limiter.usage(budget) == sum(charged) <= 1000


async def test_429_reaches_the_client_with_retry_after(limiter: Inspectable) -> None:
    app = FastAPI()
    api_errors.install(app)
    limit = Limit("key", "sk-1", Kind.REQUESTS_PER_MINUTE, 1)

    @app.post("/call")
    async def call() -> dict[str, bool]:
        await limiter.acquire([limit], 0)
        return {"ok": True}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://souverain.test") as client:
        assert (await client.post("/call")).status_code == 200
        response = await client.post("/call")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "23"
    error = response.json()["error"]
    assert error["type"] == "rate_limit_error"
    assert error["code"] == "rate_limit_exceeded"
    assert error["message"] == "Rate limit reached: requests per minute of the key (1). Retry in 23 s."


async def test_memory_limiter_drops_ended_windows(clock: FakeClock) -> None:
    limiter = InMemoryLimiter(clock=clock)
    limits = [
        Limit("key", "sk-1", Kind.REQUESTS_PER_MINUTE, 5),
        Limit("key", "sk-1", Kind.TOKENS_PER_DAY, 99),
    ]
    await limiter.acquire(limits, 1)
    assert limiter.counters == 2
    clock.now = T0 + 120 + PRUNE_INTERVAL_SECONDS
    await limiter.acquire(limits, 1)
    assert limiter.counters == 2  # the old minute went, the day is still running, a new minute came
    clock.now = T0 + 86_400 + 2 * PRUNE_INTERVAL_SECONDS
    await limiter.acquire(limits, 1)
    assert limiter.counters == 2


async def test_redis_keys_and_their_expiry(
    redis_prefix: str, redis_client: redis.Redis, clock: FakeClock
) -> None:
    limiter = RedisLimiter(REDIS_URL, redis_prefix, clock=clock)
    per_minute = Limit("use_case", "7", Kind.TOKENS_PER_MINUTE, 1000)
    per_day = Limit("tenant", "3", Kind.TOKENS_PER_DAY, 5000)
    await limiter.acquire([per_minute, per_day], 10)
    await limiter.close()
    minute_key = f"{redis_prefix}:quota:use_case:7:tokens_per_minute:{DAY_START}"
    day_key = f"{redis_prefix}:quota:tenant:3:tokens_per_day:{DAY_START}"
    written = sorted(redis_client.scan_iter(match=f"{redis_prefix}:*"))
    assert written == sorted([minute_key.encode(), day_key.encode()])
    assert redis_client.get(minute_key) == b"10"
    # Each counter expires shortly after its window ends (23 s and 86,363 s from T0).
    assert 23 < redis_client.ttl(minute_key) <= 23 + EXPIRY_MARGIN_SECONDS
    assert 86_363 < redis_client.ttl(day_key) <= 86_363 + EXPIRY_MARGIN_SECONDS


async def test_two_redis_limiters_enforce_one_limit(redis_prefix: str, clock: FakeClock) -> None:
    # Two instances, each with its own connection pool: two gateway replicas in one test process.
    first = RedisLimiter(REDIS_URL, redis_prefix, clock=clock)
    second = RedisLimiter(REDIS_URL, redis_prefix, clock=clock)
    budget = Limit("tenant", "3", Kind.TOKENS_PER_MINUTE, 500)
    try:
        results = await asyncio.gather(
            *(try_acquire(first if i % 2 else second, [budget], 10) for i in range(120))
        )
        assert sum(r is not None for r in results) == 50
        assert await first.usage(budget) == await second.usage(budget) == 500
        assert await try_acquire(first, [budget], 1) is None
        assert await try_acquire(second, [budget], 1) is None
    finally:
        await first.close()
        await second.close()


WORKER = """
import asyncio, sys, time
import redis.asyncio
from souverain.errors import RateLimited
from souverain.governance.quota_redis import RedisLimiter
from souverain.governance.quotas import Kind, Limit

async def main(url, prefix, now, attempts, budget):
    ready = redis.asyncio.Redis.from_url(url)
    limiter = RedisLimiter(url, prefix, clock=lambda: now)
    limits = [Limit("tenant", "3", Kind.TOKENS_PER_MINUTE, budget)]
    # Start together: wait until both processes are up.
    await ready.incr(prefix + ":ready")
    while int(await ready.get(prefix + ":ready")) < 2:
        await asyncio.sleep(0.001)

    async def one():
        try:
            await limiter.acquire(limits, 10)
        except RateLimited:
            return 0
        return 1

    started = time.time()
    admitted = sum(await asyncio.gather(*(one() for _ in range(attempts))))
    print(admitted, started, time.time())
    await limiter.close()
    await ready.aclose()

url, prefix, now, attempts, budget = sys.argv[1:]
asyncio.run(main(url, prefix, float(now), int(attempts), int(budget)))
"""


def run_workers(prefix: str, attempts: int, budget: int) -> list[tuple[int, float, float]]:
    """Start two worker processes together; each reports (admitted, started, finished)."""
    args = [sys.executable, "-c", WORKER, REDIS_URL, prefix, str(T0), str(attempts), str(budget)]
    workers = [
        subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    reports = []
    try:
        for worker in workers:
            out, err = worker.communicate(timeout=60)
            assert worker.returncode == 0, err
            admitted, started, finished = out.split()
            reports.append((int(admitted), float(started), float(finished)))
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()
    return reports


def test_two_processes_admit_exactly_the_limit(redis_prefix: str, redis_client: redis.Redis) -> None:
    # 2 x 400 attempts of 10 tokens against 6,000: neither process alone can spend the budget.
    reports = run_workers(redis_prefix, attempts=400, budget=6_000)
    assert max(started for _, started, _ in reports) < min(finished for _, _, finished in reports)
    assert sum(admitted for admitted, _, _ in reports) == 600
    assert redis_client.get(f"{redis_prefix}:quota:tenant:3:tokens_per_minute:{DAY_START}") == b"6000"


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port bound but not listening: connections to it are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


async def test_unreachable_redis_fails_closed(closed_port: int, clock: FakeClock) -> None:
    limiter = RedisLimiter(f"redis://127.0.0.1:{closed_port}/0", "souverain-test", clock=clock)
    limit = Limit("key", "sk-1", Kind.TOKENS_PER_MINUTE, 100)
    reservation = Reservation(limits=[limit], tokens=5, windows={limit: DAY_START})
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: limiter.acquire([limit], 5),
        lambda: limiter.settle(reservation, 1),
        lambda: limiter.usage(limit),
    ]
    try:
        for call in calls:
            with pytest.raises(BackendUnavailable) as failed:
                await call()
            assert failed.value.status_code == 503
            assert failed.value.code == "quota_store_unavailable"
            assert failed.value.message == "quota store unavailable"
    finally:
        await limiter.close()


async def test_factory_picks_the_store_from_settings(redis_prefix: str) -> None:
    local = build_limiter(GovernanceSettings())
    assert isinstance(local, InMemoryLimiter)
    shared = build_limiter(GovernanceSettings(redis_url=REDIS_URL, redis_prefix=redis_prefix))
    assert isinstance(shared, RedisLimiter)
    limit = Limit("key", "sk-1", Kind.REQUESTS_PER_MINUTE, 1)
    try:
        await shared.acquire([limit], 0)
        assert await shared.usage(limit) == 1
    finally:
        await shared.close()
        await local.close()
