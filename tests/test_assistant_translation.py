"""Question translation for retrieval: the prompt, the cleaning of the model's reply, the search query, and
what a failing or refusing gateway does to it (a fake chat service; the gateway path is tested through the
application in ``test_assistant_api``)."""

from __future__ import annotations

from typing import Any

import pytest

from souverain.assistant.translation import (
    EXAMPLES,
    MAX_CHARS,
    SYSTEM_PROMPT,
    QuestionTranslator,
    Translation,
    cleaned,
    messages,
)
from souverain.errors import BackendTimeout, BackendUnavailable, DetectionError, PolicyRefused, RateLimited
from souverain.gateway.chat import ChatResult, ChatService
from souverain.governance.principal import Principal
from souverain.protocol.chat import ChatCompletionRequest

pytestmark = pytest.mark.anyio


class FakeChat:
    """The two ``ChatService`` methods the translator uses: it records requests, replies or raises."""

    def __init__(self, reply: str = "", error: Exception | None = None) -> None:
        self.reply = reply
        self.error = error
        self.requests: list[ChatCompletionRequest] = []

    def open(self, request: ChatCompletionRequest, *_: Any) -> object:
        self.requests.append(request)
        return object()

    async def complete(self, request: ChatCompletionRequest, call: object) -> ChatResult:
        if self.error is not None:
            raise self.error
        target: Any = None  # the translator reads only the body
        return ChatResult({"choices": [{"message": {"role": "assistant", "content": self.reply}}]}, target)


def translator(chat: FakeChat, languages: tuple[str, ...] = ("en",)) -> QuestionTranslator:
    fake: Any = chat  # duck-typed: the translator only opens and completes calls
    service: ChatService = fake
    return QuestionTranslator(service, "chat-default", languages)


PRINCIPAL: Any = object()  # passed through to the chat service untouched
WHO: Principal = PRINCIPAL


def test_the_prompt_is_static_then_the_question() -> None:
    turns = messages("  How much is a passport?  ")
    assert turns[0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert [t["role"] for t in turns[1:-1]] == ["user", "assistant"] * len(EXAMPLES)
    assert turns[-1] == {"role": "user", "content": "How much is a passport?"}
    assert turns[:-1] == messages("Another question?")[:-1]  # the same cached prefix for every question


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("Combien coûte un passeport ?", "Combien coûte un passeport ?"),
        ('"Combien coûte un passeport ?"\n\nUn passeport coûte 86 euros.', "Combien coûte un passeport ?"),
        ("« Où déclarer une naissance ? »", "Où déclarer une naissance ?"),
        ("\n\n  Où voter ?  ", "Où voter ?"),
        ("", ""),
    ],
)
def test_cleaned_keeps_the_first_line_without_quotes(reply: str, expected: str) -> None:
    assert cleaned(reply) == expected


def test_cleaned_cuts_a_reply_that_runs_on() -> None:
    assert len(cleaned("mot " * 200)) == MAX_CHARS


def test_the_query_is_the_question_then_its_translation_within_the_limit() -> None:
    translated = Translation("Passport cost?", "Coût du passeport ?")
    assert translated.query(2000) == "Passport cost? Coût du passeport ?"
    assert translated.query(20) == "Passport cost?"  # both would be too long: the question alone
    assert Translation("Passport cost?").query(2000) == "Passport cost?"


async def test_only_the_configured_languages_are_translated() -> None:
    chat = FakeChat(reply="Combien coûte un passeport ?")
    english = await translator(chat).translate(WHO, "r1", "How much is a passport?", "en")
    assert english == Translation("How much is a passport?", "Combien coûte un passeport ?")
    [request] = chat.requests
    assert (request.model, request.temperature, request.stream) == ("chat-default", 0, False)
    assert request.messages[-1].content == "How much is a passport?"
    for language in ("fr", "de", "lb"):
        assert await translator(chat).translate(WHO, "r2", "Frage", language) == Translation("Frage")
    assert await translator(chat, ()).translate(WHO, "r3", "Question?", "en") == Translation("Question?")
    assert len(chat.requests) == 1


@pytest.mark.parametrize(
    "error", [BackendUnavailable("down"), BackendTimeout("slow")], ids=["unavailable", "timeout"]
)
async def test_a_failing_model_costs_only_the_translation(error: Exception) -> None:
    chat = FakeChat(error=error)
    assert await translator(chat).translate(WHO, "r1", "Passport?", "en") == Translation("Passport?")


@pytest.mark.parametrize(
    "error",
    [PolicyRefused("no"), DetectionError("privacy down"), RateLimited("quota", retry_after=3)],
    ids=["policy", "privacy", "quota"],
)
async def test_a_refusal_of_the_gateway_refuses_the_question(error: Exception) -> None:
    with pytest.raises(type(error)):
        await translator(FakeChat(error=error)).translate(WHO, "r1", "Passport?", "en")
