"""Server-sent events for streamed completions: chunks, the final ``[DONE]``, or one error event."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson

from souverain.errors import SouverainError

logger = logging.getLogger(__name__)

DONE = b"data: [DONE]\n\n"


def event(data: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(data) + b"\n\n"


def error_event(exc: BaseException) -> bytes:
    """The one final event sent when a stream fails after it started."""
    if isinstance(exc, SouverainError):
        error = {"message": exc.message, "type": exc.error_type, "param": exc.param, "code": exc.code}
    else:
        error = {
            "message": "The stream failed on the server.",
            "type": "server_error",
            "param": None,
            "code": None,
        }
    return event({"error": error})


async def encode(chunks: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    """SSE bytes for ``chunks``; an error mid-stream becomes one error event and ends the stream."""
    try:
        async for chunk in chunks:
            yield event(chunk)
    except Exception as exc:  # noqa: BLE001 - any failure mid-stream must end as one error event
        logger.warning("stream interrupted: %s", type(exc).__name__)
        yield error_event(exc)
        return
    yield DONE
