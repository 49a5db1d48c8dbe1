"""The assistant as a citizen sees it: one question sent to ``POST /v1/assistant/chat`` with ``stream``
on, its server-sent events read as they arrive, the first text delta timed.

The stream (see the assistant's contract) is ``event: meta`` with the retrieved ``sources``, then
``event: delta`` ``{"text"}`` repeated, then ``event: done`` with the whole reply (``answer``,
``citations``, ``grounded``, ``handover_offered``), or ``event: error`` ``{"error": {...}}``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from souverain.evaluation.answers import AnswerQuestion, Observed

CHAT_PATH = "/v1/assistant/chat"


@dataclass
class _Reading:
    """What the events of one stream said so far."""

    sources: set[int] = field(default_factory=set)
    deltas: list[str] = field(default_factory=list)
    done: dict[str, Any] | None = None
    error: str | None = None
    first_delta_at: float | None = None


def parse_sse(lines: Iterable[str]) -> Iterator[tuple[str, Any]]:
    """``(event name, decoded data)`` for each server-sent event of ``lines`` (name "message" by default)."""
    name, data = "message", list[str]()
    for line in lines:
        if line == "":
            if data:
                yield name, orjson.loads("\n".join(data))
            name, data = "message", []
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    if data:
        yield name, orjson.loads("\n".join(data))


def _error_message(data: Any) -> str:
    error = data.get("error") if isinstance(data, dict) else None
    return str(error.get("message", error)) if isinstance(error, dict) else str(data)


def _read_event(reading: _Reading, name: str, data: Any, now: float) -> None:
    if name == "meta":
        reading.sources = {int(s["n"]) for s in data.get("sources", [])}
    elif name == "delta":
        text = str(data.get("text", ""))
        reading.deltas.append(text)
        if text and reading.first_delta_at is None:
            reading.first_delta_at = now
    elif name == "done":
        reading.done = data
    elif name == "error":
        reading.error = _error_message(data)


def observe(reading: _Reading, started: float, ended: float) -> Observed:
    """The ``Observed`` reply of a finished stream."""
    done = reading.done or {}
    error = reading.error or (None if reading.done is not None else "the stream ended without a done event")
    return Observed(
        answer=str(done.get("answer", "".join(reading.deltas))),
        source_numbers=frozenset(reading.sources),
        citation_numbers=frozenset(int(c["n"]) for c in done.get("citations", [])),
        grounded=bool(done.get("grounded", False)),
        handover_offered=bool(done.get("handover_offered", False)),
        ttft_s=None if reading.first_delta_at is None else reading.first_delta_at - started,
        total_s=ended - started,
        error=error,
    )


def ask(
    client: httpx.Client,
    question: AnswerQuestion,
    collection: str | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> Observed:
    """Put one question to the assistant in a new conversation and read its streamed reply."""
    body = {
        "conversation_id": None,
        "message": question.question,
        "language": question.language,
        "collection": collection,
        "stream": True,
    }
    reading, started = _Reading(), clock()
    try:
        with client.stream("POST", CHAT_PATH, json=body) as response:
            if response.status_code != 200:
                response.read()
                reading.error = f"HTTP {response.status_code}: {_error_message(_json_or_text(response))}"
            else:
                for name, data in parse_sse(response.iter_lines()):
                    _read_event(reading, name, data, clock())
    except (httpx.HTTPError, orjson.JSONDecodeError) as exc:
        reading.error = f"{type(exc).__name__}: {exc}"
    return observe(reading, started, clock())


def _json_or_text(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:200]
