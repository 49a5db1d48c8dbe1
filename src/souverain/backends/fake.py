"""A deterministic in-process backend for tests and benchmarks: it answers ``settings.reply``.

``{echo}`` in the reply is replaced by the text of the last user message, so that tests can see what the
model was given come back in the answer (e.g. placeholders to restore).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator
from typing import Any

import numpy as np

from souverain.backends.base import EmbeddingResult, ServedModel
from souverain.protocol import responses
from souverain.settings import BackendSettings, Settings

_DIMENSIONS = 16
ECHO = "{echo}"


def _count_tokens(text: str) -> int:
    return max(1, len(text.split()))


def _last_user_text(payload: dict[str, Any]) -> str:
    for message in reversed(payload["messages"]):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return "".join(str(p.get("text", "")) for p in content if p.get("type") == "text")
            return str(content or "")
    return ""


class FakeBackend:
    """The reply is fixed (or echoes), token counts are word counts, embeddings are hash-derived.

    ``calls`` records every chat payload and ``embedded`` every list of embeddings inputs it received.
    """

    def __init__(self, name: str, settings: BackendSettings, app_settings: Settings) -> None:
        self.name = name
        self.settings = settings
        self.calls: list[dict[str, Any]] = []
        self.embedded: list[list[str]] = []

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def _prompt_tokens(self, payload: dict[str, Any]) -> int:
        return sum(_count_tokens(str(m.get("content") or "")) for m in payload["messages"])

    def _reply(self, payload: dict[str, Any]) -> str:
        if ECHO not in self.settings.reply:
            return self.settings.reply
        return self.settings.reply.replace(ECHO, _last_user_text(payload))

    async def chat(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(payload)
        reply = self._reply(payload)
        return responses.chat_completion(
            model=payload["model"],
            content=reply,
            prompt_tokens=self._prompt_tokens(payload),
            completion_tokens=_count_tokens(reply),
        )

    async def stream(self, payload: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        self.calls.append(payload)
        id_, created, model = responses.completion_id(), int(time.time()), payload["model"]
        yield responses.chat_chunk(id_=id_, model=model, created=created, delta={"role": "assistant"})
        words = self._reply(payload).split(" ")
        for index, word in enumerate(words):
            text = word if index == 0 else " " + word
            yield responses.chat_chunk(id_=id_, model=model, created=created, delta={"content": text})
        yield responses.chat_chunk(id_=id_, model=model, created=created, finish_reason="stop")
        usage = responses.usage(self._prompt_tokens(payload), len(words))
        yield responses.chat_chunk(id_=id_, model=model, created=created, usage_=usage)

    async def embed(self, texts: list[str], model: str) -> EmbeddingResult:
        self.embedded.append(list(texts))
        rows = []
        for text in texts:
            digest = hashlib.sha256(text.encode()).digest()[:_DIMENSIONS]
            row = np.frombuffer(digest, dtype=np.uint8).astype(np.float32) - 127.5
            rows.append(row / np.linalg.norm(row))
        return EmbeddingResult(np.stack(rows), sum(_count_tokens(t) for t in texts))

    async def health(self) -> bool:
        return True

    def served_model(self, model: str) -> ServedModel:
        return ServedModel(name=model)
