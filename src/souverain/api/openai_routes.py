"""The OpenAI-compatible endpoints: /v1/models, /v1/chat/completions, /v1/embeddings."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Header, Request
from starlette.responses import Response, StreamingResponse

from souverain.api import assistant_routes
from souverain.api.auth import AppPrincipal
from souverain.api.deps import ServicesDep
from souverain.assistant.openai_alias import ASSISTANT_MODEL
from souverain.gateway import sse
from souverain.pipeline.call import Call
from souverain.privacy.vault import CONVERSATION_HEADER, check_conversation_id
from souverain.protocol import responses
from souverain.protocol.chat import ChatCompletionRequest
from souverain.protocol.embeddings import EmbeddingRequest
from souverain.routing.router import Target

router = APIRouter(prefix="/v1", tags=["openai"])

ClassificationHeader = Annotated[str | None, Header(alias="X-Data-Classification")]
ConversationHeader = Annotated[str | None, Header(alias=CONVERSATION_HEADER)]


def _target_headers(target: Target, call: Call) -> dict[str, str]:
    """Which backend, zone and weights served the request (provenance for clients and auditors)."""
    served = target.backend.served_model(target.upstream_model)
    headers = {
        "X-Souverain-Backend": target.route.backend,
        "X-Souverain-Zone": target.backend.settings.zone.value,
        "X-Souverain-Served-Model": served.name,
    }
    if call.classification is not None:
        headers["X-Souverain-Classification"] = call.classification.value
    if served.weights_sha256:
        headers["X-Souverain-Weights-Sha256"] = served.weights_sha256
    return headers


def _request_id(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", "-"))


def _json(body: object, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), media_type="application/json", headers=headers)


@router.get("/models")
async def list_models(services: ServicesDep, principal: AppPrincipal) -> Response:
    use_case = principal.use_case
    names = [n for n in services.router.models if use_case is not None and n in use_case.allowed_models]
    if services.settings.assistant.model in names:  # the assistant answers with a model the key may call
        names.append(ASSISTANT_MODEL)
    return _json(responses.models_list(names, services.started_at))


@router.post("/chat/completions")
async def chat_completions(
    body: ChatCompletionRequest,
    request: Request,
    services: ServicesDep,
    principal: AppPrincipal,
    classification: ClassificationHeader = None,
    conversation: ConversationHeader = None,
) -> Response:
    conversation = check_conversation_id(conversation) if conversation is not None else None
    if body.model == ASSISTANT_MODEL:  # the citizen assistant, for any OpenAI client
        return await assistant_routes.assistant_completion(body, request, services, principal, conversation)
    call = services.chat.open(body, principal, _request_id(request), classification)
    if conversation is not None:  # the conversation's pseudonymisation vault (privacy stage)
        call.notes["conversation_id"] = conversation
    if body.stream:
        stream = await services.chat.stream(body, call)
        headers = {"Cache-Control": "no-cache", **_target_headers(stream.target, call)}
        return StreamingResponse(sse.encode(stream.chunks), media_type="text/event-stream", headers=headers)
    result = await services.chat.complete(body, call)
    return _json(result.body, _target_headers(result.target, call))


@router.post("/embeddings")
async def embeddings(
    body: EmbeddingRequest,
    request: Request,
    services: ServicesDep,
    principal: AppPrincipal,
    classification: ClassificationHeader = None,
) -> Response:
    call = services.embeddings.open(body, principal, _request_id(request), classification)
    result = await services.embeddings.embed(body, call)
    return _json(result.body, _target_headers(result.target, call))
