"""Chat completions: request limits, routing with failover, and the shape of what clients receive."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from souverain.errors import InvalidRequest
from souverain.protocol.chat import ChatCompletionRequest
from souverain.routing.router import BackendFilter, Router, Target
from souverain.settings import ModelSettings, ServerSettings


@dataclass
class ChatResult:
    body: dict[str, Any]
    target: Target


@dataclass
class ChatStream:
    target: Target
    chunks: AsyncIterator[dict[str, Any]]


def check_limits(request: ChatCompletionRequest, model: ModelSettings, server: ServerSettings) -> None:
    """400 for too many messages or an output limit above what the model allows."""
    if len(request.messages) > server.max_messages:
        raise InvalidRequest(
            f"Too many messages: {len(request.messages)} (at most {server.max_messages}).",
            param="messages",
            code="too_many_messages",
        )
    limit = request.output_limit()
    if limit is not None and limit > model.max_output_tokens:
        param = "max_completion_tokens" if request.max_completion_tokens else "max_tokens"
        raise InvalidRequest(
            f"{param} is {limit}, above the limit of {model.max_output_tokens} for the model {model.name!r}.",
            param=param,
            code="max_tokens_too_large",
        )


def upstream_payload(request: ChatCompletionRequest, model: ModelSettings) -> dict[str, Any]:
    """What backends receive: the client's fields, a bounded output, and usage always requested."""
    payload = request.upstream_payload(model.name)
    if request.output_limit() is None:
        payload["max_tokens"] = model.max_output_tokens
    if request.stream:
        payload["stream_options"] = {**payload.get("stream_options", {}), "include_usage": True}
    return payload


class ChatService:
    """Validates, routes and shapes chat completions."""

    def __init__(self, router: Router, server: ServerSettings) -> None:
        self.router = router
        self.server = server

    def _prepare(self, request: ChatCompletionRequest) -> tuple[ModelSettings, dict[str, Any]]:
        model = self.router.resolve(request.model, "chat")
        check_limits(request, model, self.server)
        return model, upstream_payload(request, model)

    async def complete(
        self, request: ChatCompletionRequest, allowed: BackendFilter | None = None
    ) -> ChatResult:
        model, payload = self._prepare(request)
        target, body = await self.router.chat(model, payload, allowed)
        body["model"] = model.name
        return ChatResult(body, target)

    async def stream(
        self, request: ChatCompletionRequest, allowed: BackendFilter | None = None
    ) -> ChatStream:
        model, payload = self._prepare(request)
        routed = await self.router.stream(model, payload, allowed)
        include_usage = bool(request.stream_options and request.stream_options.include_usage)
        return ChatStream(routed.target, _relay(routed.first, routed.rest, model.name, include_usage))


async def _relay(
    first: dict[str, Any], rest: AsyncIterator[dict[str, Any]], alias: str, include_usage: bool
) -> AsyncIterator[dict[str, Any]]:
    """Chunks as clients see them: the public model name; the usage chunk only when asked for."""
    try:
        chunk: dict[str, Any] | None = first
        while chunk is not None:
            chunk["model"] = alias
            usage_only = not chunk.get("choices") and "usage" in chunk
            if not usage_only:
                if not include_usage:
                    chunk.pop("usage", None)
                yield chunk
            elif include_usage:
                yield chunk
            chunk = await anext(rest, None)
    finally:
        close = getattr(rest, "aclose", None)
        if close is not None:
            await close()
