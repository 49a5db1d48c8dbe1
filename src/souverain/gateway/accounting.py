"""Token accounting of a call: estimates before routing, real counts from usage or from streamed deltas."""

from __future__ import annotations

from typing import Any

from souverain.pipeline.call import Call
from souverain.protocol.chat import ChatCompletionRequest
from souverain.settings import ModelSettings

_CHARS_PER_TOKEN = 4  # conservative average for European languages with BPE tokenizers


def estimate_text_tokens(texts: list[str]) -> int:
    return sum(len(t) for t in texts) // _CHARS_PER_TOKEN + len(texts)


def estimate_prompt_tokens(request: ChatCompletionRequest) -> int:
    return estimate_text_tokens([m.text() for m in request.messages])


def reservation_tokens(request: ChatCompletionRequest, model: ModelSettings, prompt: int) -> int:
    """Prompt estimate plus the output limit: what a quota reserves before the call."""
    return prompt + (request.output_limit() or model.max_output_tokens)


def _apply_usage(call: Call, usage: object) -> bool:
    if not isinstance(usage, dict):
        return False
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if isinstance(prompt, int) and isinstance(completion, int):
        call.prompt_tokens, call.completion_tokens = prompt, completion
        call.notes["usage_reported"] = True
        return True
    return False


def account_completion(call: Call, body: dict[str, Any]) -> None:
    """Token counts of a non-streaming answer (estimated from the text if the backend gave none)."""
    message = body["choices"][0].get("message") or {}
    call.response_parts.append(str(message.get("content") or ""))
    if not _apply_usage(call, body.get("usage")):
        call.completion_tokens = estimate_text_tokens([call.response_parts[-1]])
    call.mark_first_token()


def account_chunk(call: Call, chunk: dict[str, Any]) -> None:
    """Count a streamed chunk: each content or tool delta is one token until the usage chunk gives the truth.

    OpenAI-compatible servers stream one token per delta, so a client that disconnects mid-stream is still
    charged for what was generated up to then.
    """
    if _apply_usage(call, chunk.get("usage")):
        return
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta") or {}
        if isinstance(delta.get("content"), str):
            call.response_parts.append(delta["content"])
        if delta.get("content") or delta.get("tool_calls"):
            call.mark_first_token()
            if not call.notes.get("usage_reported"):
                call.completion_tokens += 1
