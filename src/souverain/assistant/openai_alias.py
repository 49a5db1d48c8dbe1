"""The assistant as the model ``assistant`` of ``/v1/chat/completions``, so that any OpenAI client can use it.

The last user message is the question; its language is the request's ``language`` field when given, else
guessed from the text. The answer comes back as an ordinary chat completion whose text carries the AI notice
(first answer of a conversation), the answer, and the citations as numbered links; the structured reply is
under ``souverain`` for clients that want it. Streams never show text before its first valid citation.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from souverain.assistant.citations import Citation
from souverain.assistant.language import LANGUAGES, Language, guess_language, parse_language
from souverain.assistant.reply import Reply
from souverain.assistant.service import Question, StreamEvent
from souverain.errors import InvalidRequest
from souverain.protocol import responses
from souverain.protocol.chat import ChatCompletionRequest

ASSISTANT_MODEL = "assistant"
MAX_MESSAGE_CHARS = 2000  # as POST /v1/assistant/chat

_SOURCES_LABEL: dict[Language, str] = {
    "fr": "Sources :",
    "de": "Quellen:",
    "en": "Sources:",
    "lb": "Quellen:",
}


def question_of(
    body: ChatCompletionRequest, conversation_id: str | None, default: Language = "fr"
) -> Question:
    """The question a chat completion request asks the assistant (400 without a user message)."""
    asked = [m.text() for m in body.messages if m.role == "user" and m.text().strip()]
    if not asked:
        raise InvalidRequest(
            "The assistant needs a user message with text.", param="messages", code="no_question"
        )
    message = asked[-1]
    if len(message) > MAX_MESSAGE_CHARS:
        raise InvalidRequest(
            f"The assistant answers questions of at most {MAX_MESSAGE_CHARS} characters.",
            param="messages",
            code="message_too_long",
        )
    named = (body.model_extra or {}).get("language")
    language = parse_language(named)
    if named is not None and language is None:
        raise InvalidRequest(
            f"The assistant speaks {', '.join(LANGUAGES)}; 'language' was {named!r}.",
            param="language",
            code="unsupported_language",
        )
    return Question(
        message=message,
        language=language or guess_language(message, default),
        conversation_id=conversation_id,
    )


def sources_footer(citations: Sequence[Citation], language: Language) -> str:
    """The citations as numbered Markdown links, after the answer."""
    if not citations:
        return ""
    lines = [f"[{c.n}] [{c.title}]({c.url})" if c.url else f"[{c.n}] {c.title}" for c in citations]
    return "\n\n" + _SOURCES_LABEL[language] + "\n" + "\n".join(lines)


def _notice_prefix(notice: str | None) -> str:
    return f"{notice}\n\n" if notice else ""


def completion_body(reply: Reply) -> dict[str, Any]:
    """The reply as a chat completion; the structured reply rides along under ``souverain``."""
    content = _notice_prefix(reply.notice) + reply.answer + sources_footer(reply.citations, reply.language)
    body = responses.chat_completion(model=ASSISTANT_MODEL, content=content)
    body["souverain"] = reply.as_dict()
    return body


async def completion_chunks(events: AsyncIterator[StreamEvent]) -> AsyncIterator[dict[str, Any]]:
    """The assistant's stream events as chat completion chunks: notice, answer, then the sources."""
    id_, created = responses.completion_id(), int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return responses.chat_chunk(
            id_=id_, model=ASSISTANT_MODEL, created=created, delta=delta, finish_reason=finish
        )

    async for name, data in events:
        if name == "meta":
            yield chunk({"role": "assistant", "content": _notice_prefix(data["notice"])})
        elif name == "delta":
            yield chunk({"content": data["text"]})
        elif name == "done":
            citations = [Citation(**c) for c in data["citations"]]
            yield chunk({"content": sources_footer(citations, data["language"])}, finish="stop")
