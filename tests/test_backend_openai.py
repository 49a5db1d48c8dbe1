"""The OpenAI-compatible HTTP backend against a real fake server on loopback: mapping, timeouts, streams."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import pytest
from pydantic import SecretStr

from souverain.backends.openai_http import (
    OpenAIBackend,
    adapt_payload,
    dialect_of,
    parse_embeddings,
    upstream_error,
)
from souverain.errors import (
    RETRIABLE,
    BackendError,
    BackendTimeout,
    BackendUnavailable,
    InvalidRequest,
    NotFound,
    SouverainError,
)
from souverain.logs import request_id_var
from souverain.settings import BackendSettings, ModelSettings, RouteSettings, Settings
from tests.fakes.upstream import Behaviour, closed_base_url

if TYPE_CHECKING:
    from tests.fakes.fixtures import UpstreamFactory

pytest_plugins = ["tests.fakes.fixtures"]
pytestmark = pytest.mark.anyio

REPLY = "Bonjour, je suis le serveur de test."


def chat_payload(**extra: Any) -> dict[str, Any]:
    return {"model": "served-model", "messages": [{"role": "user", "content": "Bonjour"}], **extra}


@asynccontextmanager
async def started(base_url: str, **options: Any) -> AsyncIterator[OpenAIBackend]:
    """A started backend towards ``base_url`` with short timeouts (overridable)."""
    values: dict[str, Any] = {"connect_timeout": 1.0, "read_timeout": 3.0, "first_byte_timeout": 3.0}
    settings = BackendSettings(kind="openai", base_url=base_url, **{**values, **options})
    app_settings = Settings(
        backends={"up": settings}, models=[ModelSettings(name="m", routes=[RouteSettings(backend="up")])]
    )
    backend = OpenAIBackend("up", settings, app_settings)
    await backend.start()
    try:
        yield backend
    finally:
        await backend.close()


async def collect(chunks: AsyncIterator[dict[str, Any]], into: list[dict[str, Any]]) -> None:
    async for chunk in chunks:
        into.append(chunk)


async def first_answer(backend: OpenAIBackend, streaming: bool) -> dict[str, Any]:
    """The completion, or the first chunk of a stream (a stream must fail before yielding it)."""
    if streaming:
        return await anext(backend.stream(chat_payload()))
    return await backend.chat(chat_payload())


async def test_chat_sends_bearer_key_and_request_id_and_returns_the_completion(
    upstreams: UpstreamFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    upstream = upstreams(api_key="sk-secret-test-key")
    token = request_id_var.set("req-42")
    try:
        async with started(upstream.base_url, api_key=SecretStr("sk-secret-test-key")) as backend:
            body = await backend.chat(chat_payload(max_tokens=10))
    finally:
        request_id_var.reset(token)
    assert body["choices"][0]["message"]["content"] == REPLY
    assert body["usage"]["completion_tokens"] == len(REPLY.split())
    (request,) = upstream.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-secret-test-key"
    assert request.headers["x-request-id"] == "req-42"
    assert request.json == {**chat_payload(max_tokens=10), "stream": False}
    assert caplog.records, "debug logging was captured"
    assert not any("sk-secret-test-key" in r.getMessage() for r in caplog.records)


async def test_a_wrong_key_is_our_problem_and_retriable(upstreams: UpstreamFactory) -> None:
    upstream = upstreams(api_key="right")
    async with started(upstream.base_url, api_key=SecretStr("wrong")) as backend:
        with pytest.raises(BackendError, match="credentials") as caught:
            await backend.chat(chat_payload())
    assert isinstance(caught.value, RETRIABLE)


async def test_stream_relays_vllm_shaped_chunks_and_usage(upstreams: UpstreamFactory) -> None:
    upstream = upstreams()
    chunks: list[dict[str, Any]] = []
    async with started(upstream.base_url) as backend:
        await collect(backend.stream(chat_payload(stream_options={"include_usage": True})), chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == REPLY
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == len(REPLY.split())
    (request,) = upstream.requests
    assert request.json["stream"] is True
    assert request.json["stream_options"] == {"include_usage": True}


async def test_stream_is_relayed_as_it_arrives_not_buffered(upstreams: UpstreamFactory) -> None:
    upstream = upstreams(chunk_delay=0.1)
    async with started(upstream.base_url) as backend:
        chunks = backend.stream(chat_payload())
        began = time.monotonic()
        first = await anext(chunks)
        assert upstream.completed_streams == 0, "the first chunk came before the upstream finished"
        rest: list[dict[str, Any]] = []
        await collect(chunks, rest)
        total = time.monotonic() - began
    assert first["choices"][0]["delta"]["role"] == "assistant"
    assert len(rest) == len(REPLY.split())
    assert upstream.completed_streams == 1
    assert total > 0.1 * len(REPLY.split())  # the upstream's pacing reached the consumer


async def test_closing_a_stream_early_closes_the_upstream_response(upstreams: UpstreamFactory) -> None:
    upstream = upstreams(reply=" ".join(["mot"] * 40), chunk_delay=0.05)
    async with started(upstream.base_url) as backend:
        chunks = backend.stream(chat_payload())
        await anext(chunks)
        await anext(chunks)
        await chunks.aclose()  # type: ignore[attr-defined]
        for _ in range(100):
            if upstream.aborted_streams:
                break
            await asyncio.sleep(0.02)
    assert upstream.aborted_streams == 1
    assert upstream.completed_streams == 0


@pytest.mark.parametrize(
    ("behaviour", "error", "retriable"),
    [
        (Behaviour.ERROR_500, BackendError, True),
        (Behaviour.ERROR_429, BackendUnavailable, True),
        (Behaviour.GARBAGE, BackendError, True),
        (Behaviour.HTTP_400, InvalidRequest, False),
    ],
)
@pytest.mark.parametrize("streaming", [False, True])
async def test_upstream_failures_map_to_errors(
    upstreams: UpstreamFactory,
    behaviour: Behaviour,
    error: type[SouverainError],
    retriable: bool,
    streaming: bool,
) -> None:
    upstream = upstreams(behaviour)
    async with started(upstream.base_url) as backend:
        with pytest.raises(error) as caught:
            await first_answer(backend, streaming)
    assert isinstance(caught.value, RETRIABLE) is retriable
    assert upstream.count() == 1


async def test_upstream_400_is_relayed_with_its_message_and_param(upstreams: UpstreamFactory) -> None:
    upstream = upstreams(Behaviour.HTTP_400)
    async with started(upstream.base_url) as backend:
        with pytest.raises(InvalidRequest) as caught:
            await backend.chat(chat_payload())
    assert "maximum context length is 8192 tokens" in caught.value.message
    assert caught.value.param == "messages"
    assert caught.value.status_code == 400


async def test_refused_connection_is_unavailable() -> None:
    async with started(closed_base_url()) as backend:
        with pytest.raises(BackendUnavailable):
            await backend.chat(chat_payload())
        with pytest.raises(BackendUnavailable):
            await anext(backend.stream(chat_payload()))
        with pytest.raises(BackendUnavailable):
            await backend.embed(["x"], "served-model")
        assert await backend.health() is False


@pytest.mark.parametrize("behaviour", [Behaviour.DIE_MID_STREAM, Behaviour.GARBAGE_MID_STREAM])
async def test_failure_mid_stream_raises_from_the_iterator(
    upstreams: UpstreamFactory, behaviour: Behaviour
) -> None:
    upstream = upstreams(behaviour, good_chunks=2)
    received: list[dict[str, Any]] = []
    async with started(upstream.base_url) as backend:
        with pytest.raises(BackendError):
            await collect(backend.stream(chat_payload()), received)
    assert [c["choices"][0]["delta"].get("content") for c in received] == ["", "Bonjour,"]


async def test_hanging_upstream_times_out_after_read_timeout(upstreams: UpstreamFactory) -> None:
    upstream = upstreams(Behaviour.HANG)
    async with started(upstream.base_url, read_timeout=0.3) as backend:
        began = time.monotonic()
        with pytest.raises(BackendTimeout) as caught:
            await backend.chat(chat_payload())
        elapsed = time.monotonic() - began
    assert caught.value.status_code == 504
    assert 0.25 < elapsed < 2.0


@pytest.mark.parametrize("behaviour", [Behaviour.HANG, Behaviour.SLOW_FIRST_CHUNK])
async def test_stream_without_a_first_chunk_in_time_times_out_before_yielding(
    upstreams: UpstreamFactory, behaviour: Behaviour
) -> None:
    upstream = upstreams(behaviour, delay=5.0)
    async with started(upstream.base_url, read_timeout=10.0, first_byte_timeout=0.3) as backend:
        began = time.monotonic()
        with pytest.raises(BackendTimeout):
            await anext(backend.stream(chat_payload()))
        elapsed = time.monotonic() - began
    assert 0.25 < elapsed < 2.0  # first_byte_timeout, not read_timeout, bounded the wait


async def test_slow_first_byte_within_the_budget_is_served(upstreams: UpstreamFactory) -> None:
    upstream = upstreams(Behaviour.SLOW_FIRST_BYTE, delay=0.2)
    chunks: list[dict[str, Any]] = []
    async with started(upstream.base_url, first_byte_timeout=2.0) as backend:
        await collect(backend.stream(chat_payload()), chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


async def test_embeddings_come_back_in_order_as_float32(upstreams: UpstreamFactory) -> None:
    upstream = upstreams(dimensions=8)
    texts = ["un", "deux mots", "trois petits mots"]
    async with started(upstream.base_url) as backend:
        result = await backend.embed(texts, "embedder")
    assert result.vectors.dtype == np.float32
    assert result.vectors.shape == (3, 8)
    expected = [b / 255 - 0.5 for b in hashlib.sha256(b"deux mots").digest()[:8]]
    np.testing.assert_allclose(result.vectors[1], expected, rtol=1e-6)
    assert result.prompt_tokens == 6
    (request,) = upstream.requests
    assert request.path == "/v1/embeddings"
    assert request.json == {"model": "embedder", "input": texts, "encoding_format": "float"}


async def test_health_reflects_the_models_endpoint(upstreams: UpstreamFactory) -> None:
    good, broken, hung = upstreams(), upstreams(Behaviour.ERROR_500), upstreams(Behaviour.HANG)
    async with started(good.base_url) as backend:
        assert await backend.health() is True
    assert good.requests[0].method == "GET"
    assert good.requests[0].path == "/v1/models"
    async with started(broken.base_url) as backend:
        assert await backend.health() is False
    async with started(hung.base_url, read_timeout=0.3) as backend:
        began = time.monotonic()
        assert await backend.health() is False
        assert time.monotonic() - began < 2.0


def test_parse_embeddings_rejects_what_does_not_match_the_inputs() -> None:
    good = {"data": [{"index": 1, "embedding": [0.0, 1.0]}, {"index": 0, "embedding": [1.0, 0.0]}]}
    assert parse_embeddings(good, 2).vectors.tolist() == [[1.0, 0.0], [0.0, 1.0]]
    ragged = {"data": [{"index": 0, "embedding": [1.0]}, {"index": 1, "embedding": [1.0, 2.0]}]}
    duplicated = {"data": [{"index": 0, "embedding": [1.0]}, {"index": 0, "embedding": [2.0]}]}
    for body in (good | {"data": good["data"][:1]}, ragged, duplicated, {"data": "x"}, [1, 2]):
        with pytest.raises(BackendError):
            parse_embeddings(body, 2)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, BackendError),
        (502, BackendError),
        (503, BackendUnavailable),
        (429, BackendUnavailable),
        (504, BackendTimeout),
        (401, BackendError),
        (404, NotFound),
        (422, InvalidRequest),
    ],
)
def test_upstream_status_mapping(status: int, error: type[SouverainError]) -> None:
    assert type(upstream_error(status, b"{}")) is error


def test_upstream_messages_are_read_in_every_known_shape() -> None:
    vllm_fastapi = b'{"detail":[{"type":"string_type","loc":["body","guided_regex"],"msg":"Input should be a valid string","input":10}]}'  # noqa: E501 - recorded body
    exc = upstream_error(400, vllm_fastapi)
    assert exc.message == "The upstream rejected the request: guided_regex: Input should be a valid string"
    mistral = orjson.dumps(
        {
            "object": "error",
            "message": {"detail": [{"loc": ["body", "stream_options"], "msg": "Extra inputs"}]},
            "type": "invalid_request_error",
        }
    )
    assert upstream_error(422, mistral).message.endswith("stream_options: Extra inputs")
    assert upstream_error(400, b'{"object":"error","message":"bad"}').message.endswith(": bad")
    assert upstream_error(400, b"<html>nginx</html>").message.endswith(": HTTP 400")
    long_message = orjson.dumps({"error": {"message": "x" * 5000, "code": 400}})
    relayed = upstream_error(400, long_message)
    assert len(relayed.message) < 600
    assert relayed.code == "400"


def test_mistral_api_requests_are_rewritten_and_others_left_alone() -> None:
    assert dialect_of("https://api.mistral.ai/v1") == "mistral"
    assert dialect_of("http://vllm.internal:8000/v1") == "openai"
    options = {"stream_options": {"include_usage": True}, "max_completion_tokens": 5, "seed": 3}
    payload = chat_payload(stream=True, **options)
    assert adapt_payload(payload, "openai") is payload
    assert adapt_payload(payload, "mistral") == chat_payload(stream=True, max_tokens=5, random_seed=3)


async def test_mistral_api_backend_sends_the_rewritten_body(upstreams: UpstreamFactory) -> None:
    upstream = upstreams()
    async with started(upstream.base_url) as backend:
        backend.dialect = "mistral"  # the fake listens on loopback, not on api.mistral.ai
        chunks: list[dict[str, Any]] = []
        await collect(backend.stream(chat_payload(stream_options={"include_usage": True})), chunks)
    assert "stream_options" not in upstream.requests[0].json
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
