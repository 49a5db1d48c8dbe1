"""Embeddings: input limits, routing and the OpenAI body in float or base64 encoding."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from souverain.errors import InvalidRequest
from souverain.protocol import responses
from souverain.protocol.embeddings import EmbeddingRequest
from souverain.routing.router import BackendFilter, Router, Target
from souverain.settings import ServerSettings


@dataclass
class EmbeddingsResult:
    body: dict[str, Any]
    target: Target


class EmbeddingsService:
    def __init__(self, router: Router, server: ServerSettings) -> None:
        self.router = router
        self.server = server

    async def embed(
        self, request: EmbeddingRequest, allowed: BackendFilter | None = None
    ) -> EmbeddingsResult:
        model = self.router.resolve(request.model, "embeddings")
        texts = request.texts()
        if not texts or any(not t for t in texts):
            raise InvalidRequest(
                "input must be a non-empty string or a list of non-empty strings.",
                param="input",
                code="empty_input",
            )
        if len(texts) > self.server.max_embedding_inputs:
            raise InvalidRequest(
                f"Too many inputs: {len(texts)} (at most {self.server.max_embedding_inputs}).",
                param="input",
                code="too_many_inputs",
            )
        target, result = await self.router.embed(model, texts, allowed)
        vectors = result.vectors
        if request.dimensions is not None:
            if request.dimensions > vectors.shape[1]:
                raise InvalidRequest(
                    f"dimensions must be at most {vectors.shape[1]} for this model.",
                    param="dimensions",
                    code="invalid_dimensions",
                )
            vectors = vectors[:, : request.dimensions]
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = vectors / np.where(norms == 0, 1, norms)
        body = responses.embeddings_body(model.name, vectors, result.prompt_tokens, request.encoding_format)
        return EmbeddingsResult(body, target)
