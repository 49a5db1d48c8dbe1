"""Chooses the quota limiter from configuration: Redis when a URL is set, in-process otherwise."""

from __future__ import annotations

from souverain.governance.quota_memory import InMemoryLimiter
from souverain.governance.quota_redis import RedisLimiter
from souverain.governance.quotas import Limiter
from souverain.settings import GovernanceSettings


def build_limiter(settings: GovernanceSettings) -> Limiter:
    """The limiter ``settings`` ask for: shared in Redis if ``redis_url`` is set, in-process otherwise."""
    if settings.redis_url:
        return RedisLimiter(settings.redis_url, settings.redis_prefix)
    return InMemoryLimiter()
