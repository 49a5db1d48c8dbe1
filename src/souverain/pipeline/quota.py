"""Quota stage: reserve one request and the estimated tokens, then settle with the real count."""

from __future__ import annotations

from souverain.governance.quotas import Limiter, limits_for
from souverain.pipeline.call import Call


class QuotaStage:
    name = "quota"

    def __init__(self, limiter: Limiter) -> None:
        self.limiter = limiter

    async def before(self, call: Call) -> None:
        limits = limits_for(call.principal)
        if limits:
            call.reservation = await self.limiter.acquire(limits, call.estimated_tokens)

    async def after(self, call: Call) -> None:
        if call.reservation is not None:
            await self.limiter.settle(call.reservation, call.prompt_tokens + call.completion_tokens)
