"""Embeddings: input limits, the pipeline around routing, and the OpenAI body in float or base64."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from souverain.errors import InvalidRequest
from souverain.gateway.accounting import estimate_text_tokens
from souverain.governance.principal import Principal
from souverain.pipeline.call import Call
from souverain.pipeline.stage import Pipeline, record_failure
from souverain.protocol import responses
from souverain.protocol.embeddings import EmbeddingRequest
from souverain.routing.router import Router, Target
from souverain.settings import ServerSettings


@dataclass
class EmbeddingsResult:
    body: dict[str, Any]
    target: Target


def _check_inputs(texts: list[str], limit: int) -> None:
    if not texts or any(not t for t in texts):
        raise InvalidRequest(
            "input must be a non-empty string or a list of non-empty strings.",
            param="input",
            code="empty_input",
        )
    if len(texts) > limit:
        raise InvalidRequest(
            f"Too many inputs: {len(texts)} (at most {limit}).", param="input", code="too_many_inputs"
        )


def _truncate(vectors: np.ndarray, dimensions: int | None) -> np.ndarray:
    """Shorten to ``dimensions`` and re-normalise, as OpenAI does for its ``dimensions`` parameter."""
    if dimensions is None:
        return vectors
    if dimensions > vectors.shape[1]:
        raise InvalidRequest(
            f"dimensions must be at most {vectors.shape[1]} for this model.",
            param="dimensions",
            code="invalid_dimensions",
        )
    cut = vectors[:, :dimensions]
    norms = np.linalg.norm(cut, axis=1, keepdims=True)
    return np.asarray(cut / np.where(norms == 0, 1, norms))


class EmbeddingsService:
    def __init__(self, router: Router, server: ServerSettings, pipeline: Pipeline) -> None:
        self.router = router
        self.server = server
        self.pipeline = pipeline

    def open(
        self, request: EmbeddingRequest, principal: Principal, request_id: str, classification: str | None
    ) -> Call:
        """A call for ``request`` (404/400 for an unknown model or invalid inputs, before any stage)."""
        model = self.router.resolve(request.model, "embeddings")
        texts = request.texts()
        _check_inputs(texts, self.server.max_embedding_inputs)
        call = Call(request_id, "embeddings", principal, model, requested_classification=classification)
        call.payload = {"input": texts}
        call.prompt_tokens = call.estimated_tokens = estimate_text_tokens(texts)
        return call

    async def embed(self, request: EmbeddingRequest, call: Call) -> EmbeddingsResult:
        await self.pipeline.before(call)
        try:
            target, result = await self.router.embed(call.model, call.payload["input"], call.allowed)
            vectors = _truncate(result.vectors, request.dimensions)
        except BaseException as exc:
            record_failure(call, exc)
            await self.pipeline.after(call)
            raise
        call.target, call.prompt_tokens = target, result.prompt_tokens
        body = responses.embeddings_body(
            call.model.name, vectors, result.prompt_tokens, request.encoding_format
        )
        await self.pipeline.after(call)
        return EmbeddingsResult(body, target)
