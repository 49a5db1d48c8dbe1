"""The assistant endpoints: ``POST /v1/assistant/chat`` (JSON, or server-sent events when ``stream``) and
``POST /v1/assistant/handover`` (app keys, or the citizen page's configured use case for requests without
a key), the staff queue ``GET /admin/handovers`` (admin, operator; auditors see it without the questions,
which hold the person's words in clear), and ``assistant_completion``, which answers
``/v1/chat/completions`` for the model ``assistant``.

A stream sends ``event: meta`` (conversation, notice, sources), ``event: delta`` (text) repeatedly, then
``event: done`` with the same object as the JSON reply; its ``answer`` is authoritative (an answer found
ungrounded at the end is replaced by the refusal). A failure after the stream started is one
``event: error``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field, field_validator
from starlette.responses import Response, StreamingResponse

from souverain.api.auth import CitizenPrincipal, OperatorPrincipal
from souverain.api.deps import ServicesDep
from souverain.assistant import openai_alias
from souverain.assistant.handover import Status
from souverain.assistant.language import Language
from souverain.assistant.service import AssistantService, Question, StreamEvent
from souverain.errors import BackendUnavailable
from souverain.gateway import sse
from souverain.governance.principal import Principal, Role
from souverain.protocol.chat import ChatCompletionRequest
from souverain.protocol.wire import WireModel, is_blank
from souverain.state import Services

logger = logging.getLogger(__name__)

router = APIRouter(tags=["assistant"])

ConversationId = Annotated[
    str | None,
    Field(None, pattern=r"^[A-Za-z0-9._:-]{1,128}$", description="Letters, digits and ._:- (1-128)."),
]


class _Strict(WireModel):
    pass


class ChatIn(_Strict):
    conversation_id: ConversationId = None
    message: str = Field(
        min_length=1, max_length=openai_alias.MAX_MESSAGE_CHARS, description="The citizen's question."
    )
    language: Language = Field("fr", description="The language to answer in: fr, de, en or lb.")
    collection: str | None = Field(None, min_length=1, max_length=100, description="Collection to search.")
    stream: bool = Field(False, description="Answer as server-sent events.")

    @field_validator("message")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if is_blank(value):
            raise ValueError("the message is empty")
        return value


class HandoverIn(_Strict):
    conversation_id: ConversationId = None
    language: Language = Field("fr", description="The language the person should be answered in.")
    question: str = Field(min_length=1, max_length=4000, description="What the person needs help with.")

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if is_blank(value):
            raise ValueError("the question is empty")
        return value


def assistant_of(services: Services) -> AssistantService:
    """The application's assistant (503 when this server runs without one)."""
    assistant = getattr(services, "assistant", None)
    if not isinstance(assistant, AssistantService):
        raise BackendUnavailable(
            "The assistant is not configured on this server.", code="assistant_unavailable"
        )
    return assistant


async def get_assistant(services: ServicesDep) -> AssistantService:
    return assistant_of(services)


AssistantDep = Annotated[AssistantService, Depends(get_assistant)]


def _request_id(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", "-"))


def _json(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _sse(name: str, data: object) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


async def encode_events(events: AsyncIterator[StreamEvent]) -> AsyncIterator[bytes]:
    """Named server-sent events; a failure mid-stream becomes one ``error`` event and ends the stream."""
    try:
        async for name, data in events:
            yield _sse(name, data)
    except Exception as exc:  # noqa: BLE001 - any failure mid-stream must end as one error event
        logger.warning("assistant stream interrupted: %s", type(exc).__name__)
        yield b"event: error\n" + sse.error_event(exc)


def _streaming(chunks: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(chunks, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


@router.post("/v1/assistant/chat")
async def assistant_chat(
    body: ChatIn, request: Request, assistant: AssistantDep, principal: CitizenPrincipal
) -> Response:
    question = Question(body.message, body.language, body.conversation_id, body.collection)
    if body.stream:
        events = await assistant.open_stream(principal, _request_id(request), question)
        return _streaming(encode_events(events))
    reply = await assistant.answer(principal, _request_id(request), question)
    return _json(reply.as_dict())


@router.post("/v1/assistant/handover", status_code=201)
async def assistant_handover(
    body: HandoverIn, request: Request, assistant: AssistantDep, principal: CitizenPrincipal
) -> Response:
    ticket = await assistant.hand_over(
        principal, _request_id(request), body.conversation_id, body.language, body.question
    )
    message = assistant.refusals.handed_over(body.language)
    return _json({"ticket_id": ticket.ticket_id, "status": ticket.status, "message": message}, status=201)


@router.get("/admin/handovers")
async def list_handovers(
    request: Request,
    assistant: AssistantDep,
    principal: OperatorPrincipal,
    status: Annotated[Status | None, Query(description="open or closed; every ticket when absent.")] = None,
) -> Response:
    tickets = await assistant.queue(principal, _request_id(request), status)
    data = [ticket.as_dict() for ticket in tickets]
    if principal.role is Role.AUDITOR:  # staff answer the person; an auditor checks the queue, not its words
        data = [{**ticket, "question": None} for ticket in data]
    return _json({"data": data})


async def assistant_completion(
    body: ChatCompletionRequest,
    request: Request,
    services: Services,
    principal: Principal,
    conversation_id: str | None,
) -> Response:
    """``/v1/chat/completions`` for the model ``assistant``: the last user message, answered and cited."""
    assistant = assistant_of(services)
    question = openai_alias.question_of(body, conversation_id)
    if body.stream:
        events = await assistant.open_stream(principal, _request_id(request), question, hold_until_cited=True)
        return _streaming(sse.encode(openai_alias.completion_chunks(events)))
    reply = await assistant.answer(principal, _request_id(request), question)
    return _json(openai_alias.completion_body(reply))
