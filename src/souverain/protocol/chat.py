"""Chat completion requests (``POST /v1/chat/completions``) as typed, validated models."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from souverain.protocol.wire import WireModel, one_of


class _Open(BaseModel):
    """Objects whose spec allows more fields than we type; extras are kept and passed upstream.

    Strict, as OpenAI is: ``"temperature": "0.5"`` or ``"stream": "true"`` are type errors, not coerced.
    """

    model_config = ConfigDict(extra="allow", strict=True)


class ContentPart(_Open):
    type: str


class FunctionCall(_Open):
    name: str
    arguments: str


class ToolCall(_Open):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class ChatMessage(_Open):
    """One message; content is text or a list of content parts (the spec's union, kept permissive)."""

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: Annotated[
        str | list[ContentPart] | None, one_of("a string, a list of content parts or null")
    ] = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None

    def text(self) -> str:
        """The message's text content (text parts joined), for token estimates and display."""
        if isinstance(self.content, str):
            return self.content
        if not self.content:
            return ""
        return "".join(str(getattr(part, "text", "")) for part in self.content if part.type == "text")


class JsonSchemaFormat(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, strict=True)

    name: str = Field(min_length=1, max_length=64)
    description: str | None = None
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    strict: bool | None = None


class ResponseFormat(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    include_usage: bool | None = None


class FunctionDefinition(_Open):
    name: str = Field(min_length=1, max_length=64)
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(_Open):
    type: Literal["function"]
    function: FunctionDefinition


Stop = Annotated[str | list[str] | None, one_of("a string, a list of strings or null"), Field(None)]


class ChatCompletionRequest(WireModel):
    """The request body; fields the spec defines are typed, vendor extras are passed through."""

    model_config = ConfigDict(extra="allow", strict=True)

    model: str = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    stop: Stop
    seed: int | None = Field(None, ge=-(2**63), le=2**63 - 1)
    n: int | None = Field(None, ge=1, le=1, description="Only n=1 is supported.")
    presence_penalty: float | None = Field(None, ge=-2, le=2)
    frequency_penalty: float | None = Field(None, ge=-2, le=2)
    response_format: ResponseFormat | None = None
    tools: list[Tool] | None = None
    tool_choice: Annotated[str | dict[str, Any] | None, one_of("a string, an object or null")] = None
    parallel_tool_calls: bool | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(None, ge=0, le=20)
    user: str | None = None

    @field_validator("stop")
    @classmethod
    def _at_most_four_stops(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and len(value) > 4:
            raise ValueError("at most 4 stop sequences are allowed")
        return value

    def output_limit(self) -> int | None:
        """The requested output limit; max_completion_tokens wins over the legacy max_tokens."""
        return self.max_completion_tokens or self.max_tokens

    def upstream_payload(self, model: str) -> dict[str, Any]:
        """The body to send to a backend: only what the client set, with the backend's model name."""
        payload = self.model_dump(mode="json", exclude_unset=True, by_alias=True)
        # an explicit top-level null means "the default", exactly as leaving the field out does;
        # dropping it spares every consumer a None check (``"stream_options": null`` used to crash)
        payload = {key: value for key, value in payload.items() if value is not None}
        payload["model"] = model
        return payload
