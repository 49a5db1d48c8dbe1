"""Chat completions: request limits, the pipeline around routing, and the shape of what clients receive."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from souverain.errors import InvalidRequest
from souverain.gateway.accounting import (
    account_chunk,
    account_completion,
    estimate_prompt_tokens,
    reservation_tokens,
)
from souverain.governance.principal import Principal
from souverain.pipeline.call import Call
from souverain.pipeline.output import StreamFilter, filter_completion
from souverain.pipeline.stage import Pipeline, record_failure
from souverain.protocol import responses
from souverain.protocol.chat import ChatCompletionRequest
from souverain.routing.router import Router, Target
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
    """Validates, runs the pipeline, routes and shapes chat completions."""

    def __init__(self, router: Router, server: ServerSettings, pipeline: Pipeline) -> None:
        self.router = router
        self.server = server
        self.pipeline = pipeline

    def open(
        self,
        request: ChatCompletionRequest,
        principal: Principal,
        request_id: str,
        classification: str | None,
    ) -> Call:
        """A call for ``request`` (404/400 for an unknown model or limits exceeded, before any stage)."""
        model = self.router.resolve(request.model, "chat")
        check_limits(request, model, self.server)
        call = Call(request_id, "chat.completion", principal, model, requested_classification=classification)
        call.payload = upstream_payload(request, model)
        call.prompt_tokens = estimate_prompt_tokens(request)  # replaced by the backend's count
        call.estimated_tokens = reservation_tokens(request, model, call.prompt_tokens)
        return call

    async def complete(self, request: ChatCompletionRequest, call: Call) -> ChatResult:
        await self.pipeline.before(call)
        try:
            target, body = await self.router.chat(call.model, call.payload, call.allowed)
            filter_completion(call.output_filters, body)
        except BaseException as exc:
            record_failure(call, exc)
            await self.pipeline.after(call)
            raise
        call.target = target
        account_completion(call, body)
        body["model"] = call.model.name
        await self.pipeline.after(call)
        return ChatResult(body, target)

    async def stream(self, request: ChatCompletionRequest, call: Call) -> ChatStream:
        await self.pipeline.before(call)
        try:
            routed = await self.router.stream(call.model, call.payload, call.allowed)
        except BaseException as exc:
            record_failure(call, exc)
            await self.pipeline.after(call)
            raise
        call.target = routed.target
        include_usage = bool(request.stream_options and request.stream_options.include_usage)
        chunks = self._relay(routed.first, routed.rest, call, include_usage)
        return ChatStream(routed.target, chunks)

    async def _relay(
        self, first: dict[str, Any], rest: AsyncIterator[dict[str, Any]], call: Call, include_usage: bool
    ) -> AsyncIterator[dict[str, Any]]:
        """Client-facing chunks; the pipeline's ``after`` runs before ``[DONE]`` or when the client leaves."""
        completed = False
        outputs = StreamFilter(call.output_filters)
        try:
            chunk: dict[str, Any] | None = first
            while chunk is not None:
                account_chunk(call, chunk)
                outputs.apply(chunk)
                shaped = _shape(chunk, call.model.name, include_usage)
                if shaped is not None:
                    yield shaped
                chunk = await anext(rest, None)
            if remainder := outputs.remainder():
                yield _text_chunk(first, call.model.name, remainder)
            completed = True
        except Exception as exc:
            record_failure(call, exc)
            raise
        finally:
            if not completed and call.outcome == "success":
                call.outcome, call.status = "client_disconnected", 499
            await _aclose(rest)
            await self.pipeline.after(call)


def _text_chunk(like: dict[str, Any], alias: str, text: str) -> dict[str, Any]:
    """A content chunk in the stream's identity (for text an output filter still held at the end)."""
    return responses.chat_chunk(
        id_=str(like.get("id", "")), model=alias, created=int(like.get("created", 0)), delta={"content": text}
    )


def _shape(chunk: dict[str, Any], alias: str, include_usage: bool) -> dict[str, Any] | None:
    """The chunk with the public model name; the usage-only chunk only when the client asked for it."""
    chunk["model"] = alias
    usage_only = not chunk.get("choices") and "usage" in chunk
    if usage_only:
        return chunk if include_usage else None
    if not include_usage:
        chunk.pop("usage", None)
    return chunk


async def _aclose(iterator: AsyncIterator[Any]) -> None:
    close = getattr(iterator, "aclose", None)
    if close is not None:
        await close()
