"""Builders for OpenAI response bodies (pure functions over plain dicts, cheap on the hot path)."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np

from souverain.errors import BackendError


def completion_id() -> str:
    """A fresh chat completion id in OpenAI's format."""
    return f"chatcmpl-{uuid.uuid4().hex}"


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def chat_completion(
    *,
    model: str,
    content: str | None,
    finish_reason: str = "stop",
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    tool_calls: list[dict[str, Any]] | None = None,
    id_: str | None = None,
) -> dict[str, Any]:
    """A complete non-streaming chat completion body with one choice."""
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": id_ or completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}],
        "usage": usage(prompt_tokens, completion_tokens),
    }


def chat_chunk(
    *,
    id_: str,
    model: str,
    created: int,
    delta: dict[str, Any] | None = None,
    finish_reason: str | None = None,
    usage_: dict[str, int] | None = None,
) -> dict[str, Any]:
    """One streaming chunk; a usage-only chunk has an empty choices list, as OpenAI sends it."""
    chunk: dict[str, Any] = {"id": id_, "object": "chat.completion.chunk", "created": created, "model": model}
    if usage_ is not None:
        chunk["choices"] = []
        chunk["usage"] = usage_
    else:
        chunk["choices"] = [
            {"index": 0, "delta": delta or {}, "finish_reason": finish_reason, "logprobs": None}
        ]
    return chunk


def check_completion(body: object) -> dict[str, Any]:
    """Reject an upstream body that is not a chat completion (502), so garbage never reaches a client."""
    if not isinstance(body, dict):
        raise BackendError("upstream returned a body that is not a JSON object")
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise BackendError("upstream returned a chat completion without choices")
    if not isinstance(choices[0].get("message"), dict):
        raise BackendError("upstream returned a choice without a message")
    return body


def check_chunk(chunk: object) -> dict[str, Any]:
    """Reject an upstream stream chunk that is not a chat completion chunk."""
    if not isinstance(chunk, dict) or not isinstance(chunk.get("choices", []), list):
        raise BackendError("upstream sent a stream chunk that is not a chat completion chunk")
    if "error" in chunk:
        raise BackendError("upstream reported an error in the stream")
    return chunk


def embeddings_body(
    model: str, vectors: np.ndarray | Sequence[Sequence[float]], prompt_tokens: int, encoding: str
) -> dict[str, Any]:
    """An embeddings list body; base64 encodes little-endian float32 as OpenAI does."""
    matrix = np.asarray(vectors, dtype=np.float32)
    data: list[dict[str, Any]] = []
    for index, row in enumerate(matrix):
        embedding: Any = (
            base64.b64encode(row.astype("<f4").tobytes()).decode("ascii")
            if encoding == "base64"
            else row.tolist()
        )
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }


def models_list(names: Sequence[str], created: int, owned_by: str = "souverain") -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": n, "object": "model", "created": created, "owned_by": owned_by} for n in names],
    }
