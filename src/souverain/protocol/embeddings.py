"""Embedding requests (``POST /v1/embeddings``); the spec forbids unknown fields here."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from souverain.protocol.wire import check_json, one_of


class EmbeddingRequest(BaseModel):
    """The request body; strict types, and unknown fields are refused as the spec says."""

    model_config = ConfigDict(extra="forbid", strict=True)

    model: str = Field(min_length=1)
    input: Annotated[
        str | list[str],
        one_of("a string or a list of strings (token arrays are not supported)"),
        Field(description="Text or list of texts; token arrays are not supported."),
    ]
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(None, ge=1)
    user: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _wire_safe(cls, data: Any) -> Any:
        if isinstance(data, dict):
            check_json(data)
        return data

    def texts(self) -> list[str]:
        """The inputs as a list."""
        return [self.input] if isinstance(self.input, str) else list(self.input)
