"""Embedding requests (``POST /v1/embeddings``); the spec forbids unknown fields here."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from souverain.protocol.wire import WireModel, one_of


class EmbeddingRequest(WireModel):
    """The request body; strict types, and unknown fields are refused as the spec says."""

    model: str = Field(min_length=1)
    input: Annotated[
        str | list[str],
        one_of("a string or a list of strings (token arrays are not supported)"),
        Field(description="Text or list of texts; token arrays are not supported."),
    ]
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(None, ge=1)
    user: str | None = None

    def texts(self) -> list[str]:
        """The inputs as a list."""
        return [self.input] if isinstance(self.input, str) else list(self.input)
