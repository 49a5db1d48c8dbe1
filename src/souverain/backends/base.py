"""The protocol every backend implements, and the small value types it exchanges."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from souverain.settings import BackendSettings


@dataclass(frozen=True)
class EmbeddingResult:
    """Vectors (one row per input, float32) and the tokens the inputs cost."""

    vectors: np.ndarray
    prompt_tokens: int


@dataclass(frozen=True)
class ServedModel:
    """Identity of what actually answers: upstream model name and, for local weights, their sha256."""

    name: str
    weights_sha256: str | None = None


@runtime_checkable
class Backend(Protocol):
    """One inference backend.

    ``chat`` and ``stream`` take an OpenAI chat request body (a dict whose ``model`` is the upstream
    name) and return an OpenAI chat completion body or an iterator of chunk bodies. Failures raise the
    ``souverain.errors`` backend exceptions; a stream must raise before its first chunk when the
    request cannot be served, so that the router can fail over.
    """

    name: str
    settings: BackendSettings

    async def start(self) -> None:
        """Load weights or open connections; called once in the application lifespan."""

    async def close(self) -> None:
        """Release everything ``start`` acquired."""

    async def chat(self, payload: dict[str, Any]) -> dict[str, Any]:
        """One non-streaming chat completion."""

    def stream(self, payload: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """A streaming chat completion, chunk by chunk (a usage chunk last when it is known)."""

    async def embed(self, texts: list[str], model: str) -> EmbeddingResult:
        """Embed texts; backends without embeddings raise ``InvalidRequest``."""

    async def health(self) -> bool:
        """Whether the backend can serve now (cheap; called periodically)."""

    def served_model(self, model: str) -> ServedModel:
        """The identity of the model that serves ``model`` on this backend."""
