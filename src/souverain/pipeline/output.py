"""Output filters: stages that rewrite what the model says (e.g. restoring pseudonymised values).

A filter sees the whole text of a non-streaming answer, or the streamed text delta by delta: ``feed``
returns what may be sent now (it may hold back the start of something split across chunks), ``flush``
returns what it still holds when the stream ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class OutputFilter(Protocol):
    def complete(self, text: str) -> str:
        """The whole answer, rewritten."""

    def feed(self, delta: str) -> str:
        """The next streamed delta; returns the text that can be sent now."""

    def flush(self) -> str:
        """What is still held back at the end of the stream."""


def filter_completion(filters: Sequence[OutputFilter], body: dict[str, Any]) -> None:
    """Rewrite the message content of every choice of a non-streaming answer in place."""
    if not filters:
        return
    for choice in body.get("choices") or ():
        message = choice.get("message") or {}
        if isinstance(message.get("content"), str):
            text = message["content"]
            for output in filters:
                text = output.complete(text)
            message["content"] = text


class StreamFilter:
    """Applies filters to streamed content deltas, and flushes before the chunk that ends the choice."""

    def __init__(self, filters: Sequence[OutputFilter]) -> None:
        self.filters = list(filters)
        self.done = False

    def _feed(self, text: str) -> str:
        for index, output in enumerate(self.filters):
            text = output.feed(text)
            if index + 1 < len(self.filters) and not text:
                return ""
        return text

    def _flush(self) -> str:
        text = ""
        for output in self.filters:
            text = output.feed(text) + output.flush() if text else output.flush()
        return text

    def apply(self, chunk: dict[str, Any]) -> None:
        """Rewrite ``chunk`` in place: filtered content, plus held-back text when the choice ends."""
        if not self.filters or self.done:
            return
        for choice in chunk.get("choices") or ():
            delta = choice.setdefault("delta", {})
            if isinstance(delta.get("content"), str):
                delta["content"] = self._feed(delta["content"])
            if choice.get("finish_reason") is not None:
                self.done = True
                rest = self._flush()
                if rest:
                    delta["content"] = (delta.get("content") or "") + rest

    def remainder(self) -> str:
        """Held-back text when the stream ended without a finish reason."""
        if not self.filters or self.done:
            return ""
        self.done = True
        return self._flush()
