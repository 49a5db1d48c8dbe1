"""The OpenAI-compatible endpoints: /v1/models, /v1/chat/completions, /v1/embeddings."""

from __future__ import annotations

import orjson
from fastapi import APIRouter
from starlette.responses import Response, StreamingResponse

from souverain.api.deps import ServicesDep
from souverain.gateway import sse
from souverain.protocol import responses
from souverain.protocol.chat import ChatCompletionRequest
from souverain.protocol.embeddings import EmbeddingRequest
from souverain.routing.router import Target

router = APIRouter(prefix="/v1", tags=["openai"])


def _target_headers(target: Target) -> dict[str, str]:
    """Which backend, zone and weights served the request (provenance for clients and auditors)."""
    served = target.backend.served_model(target.upstream_model)
    headers = {
        "X-Souverain-Backend": target.route.backend,
        "X-Souverain-Zone": target.backend.settings.zone.value,
        "X-Souverain-Served-Model": served.name,
    }
    if served.weights_sha256:
        headers["X-Souverain-Weights-Sha256"] = served.weights_sha256
    return headers


def _json(body: object, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), media_type="application/json", headers=headers)


@router.get("/models")
async def list_models(services: ServicesDep) -> Response:
    return _json(responses.models_list(list(services.router.models), services.started_at))


@router.post("/chat/completions")
async def chat_completions(body: ChatCompletionRequest, services: ServicesDep) -> Response:
    if body.stream:
        stream = await services.chat.stream(body)
        return StreamingResponse(
            sse.encode(stream.chunks),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", **_target_headers(stream.target)},
        )
    result = await services.chat.complete(body)
    return _json(result.body, _target_headers(result.target))


@router.post("/embeddings")
async def embeddings(body: EmbeddingRequest, services: ServicesDep) -> Response:
    result = await services.embeddings.embed(body)
    return _json(result.body, _target_headers(result.target))
