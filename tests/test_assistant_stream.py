"""Streamed answers (meta, deltas, done, in order) and the model alias ``assistant`` for OpenAI clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx2
import openai
import pytest

from souverain.assistant.refusal import Refusals
from tests.fakes.assistant_gateway import AssistantGateway, assistant_gateway, parse_sse
from tests.fakes.retriever import FakeCollection, FakeRetriever, passage
from tests.fakes.upstream import FakeUpstream

pytestmark = pytest.mark.anyio

QUESTION = "Mein Sohn hat seine carte d'identité im Ausland verloren (perte à l'étranger)."
PAGE = passage(
    "fiches",
    "F1234",
    "Carte d'identité perdue à l'étranger",
    "En cas de perte de la carte d'identité à l'étranger, faites une déclaration au consulat.",
)


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream(reply="Melden Sie den Verlust beim Konsulat [1]. Dann [4] neu beantragen.") as server:
        yield server


@pytest.fixture
async def gw(tmp_path: Path, upstream: FakeUpstream) -> AsyncIterator[AssistantGateway]:
    retriever = FakeRetriever([FakeCollection("ministry", "fiches", hits=[PAGE])])
    async with assistant_gateway(tmp_path, upstream, retriever) as gateway:
        yield gateway


async def test_stream_events_come_in_order_and_done_is_the_reply(gw: AssistantGateway) -> None:
    key = gw.provision()
    events = await gw.stream(key.key, message=QUESTION, language="de")
    names = [name for name, _ in events]
    assert names[0] == "meta"
    assert names[-1] == "done"
    assert set(names[1:-1]) == {"delta"}
    assert len(names) > 4  # the answer came in pieces
    meta, done = events[0][1], events[-1][1]
    assert meta["notice"] == "Sie sprechen mit einer KI."
    assert meta["sources"] == [{"n": 1, "title": PAGE.title, "url": PAGE.url}]
    assert meta["conversation_id"] == done["conversation_id"]
    streamed = "".join(data["text"] for name, data in events if name == "delta")
    assert streamed == "Melden Sie den Verlust beim Konsulat [1]. Dann neu beantragen."  # [4] never shown
    assert done["answer"] == streamed
    assert done["grounded"] is True
    assert [c["document_id"] for c in done["citations"]] == ["F1234"]
    assert done["provenance"]["model"] == "chat-fake"
    assert gw.actions() == ["chat.completion", "assistant.chat"]


async def test_an_ungrounded_stream_ends_with_the_refusal(gw: AssistantGateway) -> None:
    key = gw.provision()
    gw.upstream.reply = "Gehen Sie einfach zum Rathaus."
    events = await gw.stream(key.key, message=QUESTION, language="de")
    done = events[-1][1]
    assert done["grounded"] is False
    assert done["handover_offered"] is True
    assert done["answer"] == Refusals().not_answered("de")


async def test_a_low_confidence_stream_refuses_at_once(gw: AssistantGateway) -> None:
    key = gw.provision()
    events = await gw.stream(key.key, message="Wetter morgen?", language="en")
    assert [name for name, _ in events] == ["meta", "delta", "done"]
    assert events[0][1]["sources"] == []
    assert events[1][1]["text"] == Refusals().not_answered("en") == events[2][1]["answer"]
    assert gw.upstream.count() == 0


async def test_a_refused_stream_is_an_http_error_before_any_event(gw: AssistantGateway) -> None:
    key = gw.provision(allowed_models=[])
    r = await gw.chat(key.key, message=QUESTION, language="de", stream=True)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "model_not_allowed"


async def test_a_failure_at_the_end_of_a_stream_is_one_error_event(gw: AssistantGateway) -> None:
    key = gw.provision()
    gw.sink.refuse.add("assistant.chat")
    r = await gw.chat(key.key, message=QUESTION, stream=True)
    events = parse_sse(r.text)
    assert events[-1][0] == "error"
    assert events[-1][1]["error"]["code"] == "event_store_unavailable"
    assert "done" not in [name for name, _ in events]


def _openai(gw: AssistantGateway, key: str) -> openai.AsyncOpenAI:
    # the SDK's own HTTP client library (httpx2), served by the application in-process
    http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=gw.app), base_url="http://souverain.test")
    return openai.AsyncOpenAI(api_key=key, base_url="http://souverain.test/v1", http_client=http)


async def test_the_assistant_model_alias_answers_with_numbered_links(gw: AssistantGateway) -> None:
    key = gw.provision()
    client = _openai(gw, key.key)
    completion = await client.chat.completions.create(
        model="assistant", messages=[{"role": "user", "content": QUESTION}]
    )
    content = completion.choices[0].message.content or ""
    assert content.startswith("Sie sprechen mit einer KI.\n\n")  # first answer: the notice first
    assert "Melden Sie den Verlust beim Konsulat [1]." in content
    assert content.endswith(f"Quellen:\n[1] [{PAGE.title}]({PAGE.url})")
    extra = completion.model_extra or {}
    assert extra["souverain"]["grounded"] is True
    await client.close()


async def test_the_assistant_model_alias_streams_and_refuses_without_showing_ungrounded_text(
    gw: AssistantGateway,
) -> None:
    key = gw.provision()
    client = _openai(gw, key.key)
    gw.upstream.reply = "Go to the town hall, it is easy."
    stream = await client.chat.completions.create(
        model="assistant",
        messages=[
            {"role": "user", "content": "My son lost his carte d'identité abroad (perte à l'étranger)"}
        ],
        stream=True,
        extra_headers={"X-Conversation-Id": "alias-conv-1"},
    )
    text = "".join([chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices])
    assert "town hall" not in text
    assert text.endswith(Refusals().not_answered("en"))  # the language guessed from the question
    await client.close()


async def test_the_assistant_model_alias_refuses_an_unknown_language_or_a_long_message(
    gw: AssistantGateway,
) -> None:
    key = gw.provision()
    client = _openai(gw, key.key)
    refusals = [
        ({"language": "es"}, QUESTION, "language", "unsupported_language"),
        ({"language": 3}, QUESTION, "language", "unsupported_language"),
        ({}, "carte " * 400, "messages", "message_too_long"),
    ]
    for extra, message, param, code in refusals:
        with pytest.raises(openai.BadRequestError) as refused:
            await client.chat.completions.create(
                model="assistant", messages=[{"role": "user", "content": message}], extra_body=extra
            )
        error = refused.value.body
        assert isinstance(error, dict)
        assert (error["param"], error["code"]) == (param, code), error
    assert gw.upstream.count() == 0
    named = await client.chat.completions.create(
        model="assistant", messages=[{"role": "user", "content": QUESTION}], extra_body={"language": "en"}
    )
    assert (named.model_extra or {})["souverain"]["language"] == "en"
    await client.close()
