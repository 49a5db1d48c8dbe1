"""The embedded llama.cpp backend on the small bundled model: answers, streams, limits, concurrency.

The model is loaded once for the module; requests stay short (a few tokens) to keep the module quick.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from souverain.backends.base import Backend
from souverain.backends.embedded import (
    CompletionFolder,
    EmbeddedBackend,
    clean_chunk,
    engine_params,
    engine_request,
    raise_engine_error,
)
from souverain.bundled import ModelIntegrityError
from souverain.errors import BackendError, BackendUnavailable, InvalidRequest
from souverain.protocol import responses
from souverain.settings import BackendSettings, Settings
from tests.model_fixtures import SMALL_MODEL, model_data_dir

pytestmark = [pytest.mark.anyio, pytest.mark.model, pytest.mark.timeout(300)]  # CPU inference on 2 cores

SMALL_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"


__all__ = ["model_data_dir"]  # the session fixture, imported for this module


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def backend(model_data_dir: Path) -> AsyncIterator[EmbeddedBackend]:
    # one thread: on a busy machine two threads on two cores wait on each other and run ~5x slower
    settings = BackendSettings(kind="embedded", bundled=SMALL_MODEL, n_ctx=2048, parallel=2, threads=1)
    engine = EmbeddedBackend("local", settings, Settings(data_dir=model_data_dir))
    await engine.start()
    yield engine
    await engine.close()


def ask(question: str, **extra: Any) -> dict[str, Any]:
    body = {"messages": [{"role": "user", "content": question}], "max_tokens": 8, "temperature": 0}
    return {"model": "chat-small", **body, **extra}


def text_of(body: dict[str, Any]) -> str:
    return str(body["choices"][0]["message"]["content"])


async def stream_text(backend: EmbeddedBackend, payload: dict[str, Any]) -> str:
    return "".join(
        [c["choices"][0]["delta"].get("content") or "" async for c in backend.stream(payload) if c["choices"]]
    )


async def test_chat_answers_in_openai_shape(backend: EmbeddedBackend) -> None:
    body = await backend.chat(ask("What is the capital of France? Answer with one word."))
    assert responses.check_completion(body) is body
    assert "Paris" in text_of(body)
    assert body["model"] == "chat-small"
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["prompt_tokens"] > 10
    assert usage["completion_tokens"] >= 1
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert "timings" not in body


async def test_stream_yields_role_content_finish_then_usage(backend: EmbeddedBackend) -> None:
    chunks = [chunk async for chunk in backend.stream(ask("Name three colours.", max_tokens=12))]
    assert all(
        chunk["object"] == "chat.completion.chunk" and chunk["model"] == "chat-small" for chunk in chunks
    )
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    pieces = [c["choices"][0]["delta"].get("content") for c in chunks if c["choices"]]
    assert len([p for p in pieces if p]) >= 3  # token by token, not one buffered block
    assert chunks[-2]["choices"][0]["finish_reason"] in {"stop", "length"}
    assert chunks[-1]["choices"] == []
    usage = chunks[-1]["usage"]
    assert set(usage) == {"prompt_tokens", "completion_tokens", "total_tokens"}  # no cache statistics
    assert 3 <= usage["completion_tokens"] <= 12


async def test_max_tokens_is_respected_and_engine_native_limits_are_not_passed(
    backend: EmbeddedBackend,
) -> None:
    long_answer = ask("Write a long story about a lighthouse keeper.", max_tokens=4)
    body = await backend.chat({**long_answer, "n_predict": 40, "ignore_eos": True})
    assert body["usage"]["completion_tokens"] == 4
    assert body["choices"][0]["finish_reason"] == "length"
    body = await backend.chat({**long_answer, "max_completion_tokens": 3})
    assert body["usage"]["completion_tokens"] == 3


async def test_stop_sequence_ends_the_answer(backend: EmbeddedBackend) -> None:
    body = await backend.chat(ask("Count from 1 to 10, separated by spaces.", max_tokens=30, stop=["5"]))
    assert text_of(body).split() == ["1", "2", "3", "4"]
    assert body["choices"][0]["finish_reason"] == "stop"


async def test_same_seed_same_answer(backend: EmbeddedBackend) -> None:
    greedy = ask("Write a poem about the sea.", max_tokens=10)
    assert text_of(await backend.chat(greedy)) == text_of(await backend.chat(greedy))
    sampled = {**greedy, "temperature": 1.0, "seed": 1234}
    assert text_of(await backend.chat(sampled)) == await stream_text(backend, sampled)


async def test_json_object_response_format_yields_json(backend: EmbeddedBackend) -> None:
    question = "Give the name and age of Alice, who is 30, as a JSON object."
    body = await backend.chat(ask(question, max_tokens=30, response_format={"type": "json_object"}))
    assert isinstance(json.loads(text_of(body)), dict)


async def test_concurrent_requests_each_get_their_own_answer(backend: EmbeddedBackend) -> None:
    words = ["apple", "violin", "mountain"]  # three requests on two slots: one waits for a free slot
    payloads = [ask(f"Repeat this word exactly once and nothing else: {word}") for word in words]
    answers = await asyncio.gather(
        stream_text(backend, payloads[0]),
        backend.chat(payloads[1]),
        stream_text(backend, payloads[2]),
    )
    texts = [answers[0], text_of(answers[1]), answers[2]]
    for word, text in zip(words, texts, strict=True):
        assert text.strip().lower() == word


async def test_closing_a_stream_stops_its_generation(backend: EmbeddedBackend) -> None:
    endless = ask("Write a very long essay about the history of Luxembourg.", max_tokens=900)
    streams = [backend.stream(endless) for _ in range(2)]  # both slots busy for hundreds of tokens
    for stream in streams:
        await anext(stream)
        await stream.aclose()  # type: ignore[attr-defined]
    began = time.monotonic()
    body = await backend.chat(ask("Say yes.", max_tokens=2))
    # had the two generations gone on, this request would wait for 900 tokens (over a minute here)
    assert time.monotonic() - began < 30
    assert body["usage"]["completion_tokens"] <= 2


async def test_too_long_a_prompt_is_the_clients_error(backend: EmbeddedBackend) -> None:
    with pytest.raises(InvalidRequest) as refused:
        await backend.chat(ask("hello " * 1500))
    assert refused.value.code == "context_length_exceeded"
    assert "1024" in refused.value.message  # n_ctx 2048 shared by two slots


async def test_identity_health_and_no_embeddings(backend: EmbeddedBackend) -> None:
    assert isinstance(backend, Backend)
    assert await backend.health()
    served = backend.served_model("chat-small")
    assert served.name == SMALL_MODEL
    assert served.weights_sha256 == SMALL_SHA256
    with pytest.raises(InvalidRequest):
        await backend.embed(["x"], "chat-small")


async def test_weights_with_the_wrong_sha256_are_refused(tmp_path: Path) -> None:
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"GGUF" + bytes(1024))
    wrong = hashlib.sha256(b"other weights").hexdigest()
    settings = BackendSettings(kind="embedded", model_path=fake, sha256=wrong)
    engine = EmbeddedBackend("local", settings, Settings(data_dir=tmp_path))
    with pytest.raises(ModelIntegrityError, match="refusing to load"):
        await engine.start()
    assert not await engine.health()
    assert engine.served_model("m").weights_sha256 is None
    with pytest.raises(BackendUnavailable):
        await engine.chat(ask("hello"))
    await engine.close()


def test_engine_request_keeps_only_openai_fields() -> None:
    request = engine_request(
        {"model": "m", "messages": [], "max_completion_tokens": 5, "id_slot": 1, "grammar": "x", "user": "u"}
    )
    assert request == {
        "messages": [],
        "max_tokens": 5,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_engine_errors_are_the_clients_or_the_backends() -> None:
    too_long = {"code": 400, "type": "exceed_context_size_error", "n_prompt_tokens": 3030, "n_ctx": 1024}
    with pytest.raises(InvalidRequest, match="3030 prompt tokens") as refused:
        raise_engine_error({**too_long, "message": "request exceeds the available context size"})
    assert refused.value.code == "context_length_exceeded"
    with pytest.raises(InvalidRequest, match="rejected the request: bad stop"):
        raise_engine_error({"code": 400, "type": "invalid_request_error", "message": "bad stop"})
    with pytest.raises(BackendError, match="failed: out of memory"):
        raise_engine_error({"code": 500, "type": "server_error", "message": "out of memory"})
    with pytest.raises(BackendError):
        clean_chunk({"error": {"code": 500, "message": "decode failed"}}, "m")


def test_folded_stream_chunks_rebuild_tool_calls_and_usage() -> None:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        body = {
            "id": "chatcmpl-1",
            "created": 7,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return clean_chunk(body, "m")

    folder = CompletionFolder("m")
    call = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "weather", "arguments": ""}}
    for piece in [
        chunk({"role": "assistant", "content": None}),
        chunk({"tool_calls": [call]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}),
        chunk({}, "tool_calls"),
        clean_chunk(
            {
                "choices": [],
                "usage": {"prompt_tokens": 9, "completion_tokens": 4, "prompt_tokens_details": {}},
            },
            "m",
        ),
    ]:
        folder.add(piece)
    body = folder.body()
    message = body["choices"][0]["message"]
    assert message["content"] is None
    assert message["tool_calls"] == [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
        }
    ]
    assert body["choices"][0]["finish_reason"] == "tool_calls"
    assert body["usage"] == {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}
    assert (body["id"], body["created"], body["model"]) == ("chatcmpl-1", 7, "m")


def test_past_prompts_are_kept_only_when_the_settings_say_so(tmp_path: Path) -> None:
    settings = BackendSettings(kind="embedded", model_path=tmp_path / "m.gguf", sha256="0" * 64)
    assert engine_params(tmp_path / "m.gguf", settings).cache_ram_mib == 0  # llama.cpp's own: 8192
    cached = settings.model_copy(update={"prompt_cache_mib": 512})
    assert engine_params(tmp_path / "m.gguf", cached).cache_ram_mib == 512
