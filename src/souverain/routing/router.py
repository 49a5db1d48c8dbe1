"""The router: resolves an alias, orders its backends, and fails over before the first byte."""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from souverain.backends.base import Backend, EmbeddingResult
from souverain.errors import (
    RETRIABLE,
    BackendError,
    BackendUnavailable,
    InvalidRequest,
    NotFound,
    PolicyRefused,
    SouverainError,
)
from souverain.routing.health import HealthBoard
from souverain.settings import ModelSettings, RouteSettings

logger = logging.getLogger(__name__)

T = TypeVar("T")
BackendFilter = Callable[[Backend], bool]


@dataclass(frozen=True)
class Target:
    """One backend chosen for a request, with the upstream model name to send it."""

    route: RouteSettings
    backend: Backend
    upstream_model: str


@dataclass
class RoutedStream:
    """A stream whose first chunk has already arrived (so failover is no longer possible)."""

    target: Target
    first: dict[str, Any]
    rest: AsyncIterator[dict[str, Any]]


class Router:
    """Maps public model names to backends with priority, weight, health and failover."""

    def __init__(
        self,
        models: Sequence[ModelSettings],
        backends: dict[str, Backend],
        health: HealthBoard,
        rng: random.Random | None = None,
    ) -> None:
        self.models = {m.name: m for m in models}
        self.backends = backends
        self.health = health
        self._rng = rng or random.Random()

    def resolve(self, alias: str, kind: str) -> ModelSettings:
        """The alias's settings; 404 when unknown, 400 when it is the wrong kind of model."""
        model = self.models.get(alias)
        if model is None:
            raise NotFound(f"The model {alias!r} does not exist.", param="model", code="model_not_found")
        if model.type != kind:
            raise InvalidRequest(
                f"The model {alias!r} is {_article(model.type)} model, not {_article(kind)} model.",
                param="model",
                code="wrong_model_type",
            )
        return model

    def targets(self, model: ModelSettings, allowed: BackendFilter | None = None) -> list[Target]:
        """Cleared, available backends in the order to try: by priority, weighted-random within one."""
        by_priority: dict[int, list[RouteSettings]] = {}
        for route in model.routes:
            backend = self.backends[route.backend]
            if allowed is not None and not allowed(backend):
                continue
            if self.health.available(route.backend):
                by_priority.setdefault(route.priority, []).append(route)
        ordered: list[RouteSettings] = []
        for priority in sorted(by_priority):
            ordered.extend(self._weighted_order(by_priority[priority]))
        return [Target(r, self.backends[r.backend], r.model or model.name) for r in ordered]

    def _weighted_order(self, routes: list[RouteSettings]) -> list[RouteSettings]:
        remaining, ordered = list(routes), []
        while remaining:
            pick = self._rng.choices(remaining, weights=[r.weight for r in remaining])[0]
            remaining.remove(pick)
            ordered.append(pick)
        return ordered

    async def _first_success(
        self, model: ModelSettings, allowed: BackendFilter | None, call: Callable[[Target], Awaitable[T]]
    ) -> tuple[Target, T]:
        targets = self.targets(model, allowed)
        if not targets:
            raise self._none_available(model, allowed)
        last: SouverainError | None = None
        for target in targets:
            try:
                result = await call(target)
            except RETRIABLE as exc:
                logger.warning(
                    "backend %s failed (%s); trying the next one", target.route.backend, exc.message
                )
                self.health.failure(target.route.backend, exc.message)
                last = exc
                continue
            self.health.success(target.route.backend)
            return target, result
        assert last is not None
        raise last

    def _none_available(self, model: ModelSettings, allowed: BackendFilter | None) -> SouverainError:
        """403 when no route is cleared at all (fail closed); 503 when the cleared ones are down."""
        if allowed is not None and not any(allowed(self.backends[r.backend]) for r in model.routes):
            return PolicyRefused(
                f"No backend of the model {model.name!r} is cleared for this request's data classification.",
                code="no_cleared_backend",
            )
        return BackendUnavailable(
            f"No backend is available for the model {model.name!r}.", code="no_backend_available"
        )

    async def chat(
        self, model: ModelSettings, payload: dict[str, Any], allowed: BackendFilter | None = None
    ) -> tuple[Target, dict[str, Any]]:
        """A non-streaming completion from the first backend that succeeds."""
        return await self._first_success(
            model, allowed, lambda t: t.backend.chat({**payload, "model": t.upstream_model})
        )

    async def stream(
        self, model: ModelSettings, payload: dict[str, Any], allowed: BackendFilter | None = None
    ) -> RoutedStream:
        """Open a stream on the first backend whose first chunk arrives; later errors are not retried."""

        async def open_stream(target: Target) -> tuple[dict[str, Any], AsyncIterator[dict[str, Any]]]:
            iterator = aiter(target.backend.stream({**payload, "model": target.upstream_model}))
            try:
                first = await anext(iterator)
            except StopAsyncIteration:
                raise BackendError("upstream closed the stream without sending anything") from None
            except BaseException:
                await _aclose(iterator)
                raise
            return first, iterator

        target, (first, rest) = await self._first_success(model, allowed, open_stream)
        return RoutedStream(target, first, rest)

    async def embed(
        self, model: ModelSettings, texts: list[str], allowed: BackendFilter | None = None
    ) -> tuple[Target, EmbeddingResult]:
        """Embeddings from the first backend that succeeds."""
        return await self._first_success(model, allowed, lambda t: t.backend.embed(texts, t.upstream_model))


async def _aclose(iterator: AsyncIterator[Any]) -> None:
    close = getattr(iterator, "aclose", None)
    if close is not None:
        await close()


def _article(word: str) -> str:
    return f"an {word}" if word[:1] in ("a", "e", "i", "o", "u") else f"a {word}"
