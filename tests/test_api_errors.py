"""Every error case of the OpenAI-compatible API: status, OpenAI envelope, a useful message, a request id.

Also: a backend that crashes gives a generic 500 (request id, no traceback), and a seeded fuzz of mangled
bodies never produces a 5xx.
"""

from __future__ import annotations

import copy
import http.client
import json
import logging
import random
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from souverain.app import create_app
from souverain.backends.base import Backend, EmbeddingResult, ServedModel
from souverain.backends.fake import FakeBackend
from souverain.settings import BackendSettings, ModelSettings, RouteSettings, ServerSettings, Settings
from tests.conftest import fake_settings
from tests.test_web_support import ThreadServer

pytestmark = pytest.mark.anyio

CHAT_URL, EMBED_URL = "/v1/chat/completions", "/v1/embeddings"
CHAT = {"model": "chat-fake", "messages": [{"role": "user", "content": "Bonjour"}]}
EMBED = {"model": "embed-fake", "input": "Bonjour"}
JSON = {"content-type": "application/json"}
SERVER_REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")


@asynccontextmanager
async def serve(
    settings: Settings, backends: dict[str, Backend] | None = None, raise_app_exceptions: bool = True
) -> AsyncIterator[httpx.AsyncClient]:
    """The real app, started, behind an in-process client."""
    app = create_app(settings, backends=backends)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
        async with httpx.AsyncClient(transport=transport, base_url="http://souverain.test") as client:
            yield client


def assert_error(
    r: httpx.Response,
    status: int,
    error_type: str,
    *,
    param: str | None = None,
    code: str | None = None,
    says: str = "",
) -> dict[str, Any]:
    """The response is the OpenAI error envelope with a request id; returns the error object."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == error_type
    assert error["param"] == param
    if code is not None:
        assert error["code"] == code
    assert isinstance(error["message"], str)
    assert len(error["message"]) > 10
    assert says.lower() in error["message"].lower()
    assert "Traceback" not in r.text
    assert r.headers["x-request-id"]
    return error


async def test_malformed_json(client: httpx.AsyncClient) -> None:
    r = await client.post(CHAT_URL, content=b'{"model": "chat-fake", "messages": [', headers=JSON)
    assert_error(r, 400, "invalid_request_error", code="invalid_json", says="not valid JSON")


@pytest.mark.parametrize("url", [CHAT_URL, EMBED_URL])
@pytest.mark.parametrize("content", [b"null", b"[]", b'"Bonjour"', b"42", b"true", b""])
async def test_json_that_is_not_an_object(client: httpx.AsyncClient, url: str, content: bytes) -> None:
    r = await client.post(url, content=content, headers=JSON)
    assert_error(r, 400, "invalid_request_error", code="invalid_body", says="must be a JSON object")


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain; charset=utf-8"])
async def test_a_body_sent_as_another_media_type_is_a_415(
    client: httpx.AsyncClient, content_type: str
) -> None:
    body = b'{"model": "chat-fake", "messages": [{"role": "user", "content": "Bonjour"}]}'
    r = await client.post(CHAT_URL, content=body, headers={"Content-Type": content_type})
    assert_error(
        r, 415, "invalid_request_error", code="unsupported_media_type", says="Content-Type: application/json"
    )
    # without a Content-Type too (FastAPI then does not read it as JSON); said to be JSON, it is answered
    r = await client.post(CHAT_URL, content=body)
    assert_error(r, 415, "invalid_request_error", code="unsupported_media_type")
    json_utf8 = {"Content-Type": "application/json; charset=utf-8"}
    assert (await client.post(CHAT_URL, content=body, headers=json_utf8)).status_code == 200


@pytest.mark.parametrize(
    ("change", "param", "says"),
    [
        ({"messages": "Bonjour"}, "messages", "list"),
        ({"messages": []}, "messages", "at least 1"),
        ({"messages": [{"role": "citizen", "content": "x"}]}, "messages.0.role", "'user'"),
        ({"messages": [{"role": "user", "content": 5}]}, "messages.0.content", "a string, a list"),
        ({"temperature": "0.7"}, "temperature", "valid number"),
        ({"temperature": 2.5}, "temperature", "less than or equal to 2"),
        ({"temperature": -0.1}, "temperature", "greater than or equal to 0"),
        ({"top_p": 1.5}, "top_p", "less than or equal to 1"),
        ({"n": 2}, "n", "less than or equal to 1"),
        ({"stream": "yes"}, "stream", "boolean"),
        ({"max_tokens": 0}, "max_tokens", "greater than or equal to 1"),
        ({"max_tokens": 10.5}, "max_tokens", "integer"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop", "at most 4"),
        ({"stop": 3}, "stop", "a string, a list of strings"),
        ({"seed": 2**64}, "seed", "64-bit"),
        ({"stream_options": {"include_usage": "true"}}, "stream_options.include_usage", "boolean"),
        ({"response_format": {"type": "xml"}}, "response_format.type", "json_schema"),
    ],
)
async def test_chat_wrong_values(
    client: httpx.AsyncClient, change: dict[str, Any], param: str, says: str
) -> None:
    r = await client.post(CHAT_URL, json={**CHAT, **change})
    assert_error(r, 400, "invalid_request_error", param=param, says=says)


@pytest.mark.parametrize(
    ("change", "param", "says"),
    [
        ({"input": [1, 2, 3]}, "input", "token arrays are not supported"),
        ({"input": {"text": "x"}}, "input", "a string or a list of strings"),
        ({"encoding_format": "int8"}, "encoding_format", "'base64'"),
        ({"dimensions": 0}, "dimensions", "greater than or equal to 1"),
        ({"dimensions": "8"}, "dimensions", "integer"),
        ({"dimensions": 4096}, "dimensions", "at most 16"),
    ],
)
async def test_embeddings_wrong_values(
    client: httpx.AsyncClient, change: dict[str, Any], param: str, says: str
) -> None:
    r = await client.post(EMBED_URL, json={**EMBED, **change})
    assert_error(r, 400, "invalid_request_error", param=param, says=says)


@pytest.mark.parametrize(
    ("url", "body", "param"),
    [
        (CHAT_URL, {"messages": CHAT["messages"]}, "model"),
        (CHAT_URL, {"model": "chat-fake"}, "messages"),
        (CHAT_URL, {"model": "chat-fake", "messages": [{"content": "x"}]}, "messages.0.role"),
        (EMBED_URL, {"input": "x"}, "model"),
        (EMBED_URL, {"model": "embed-fake"}, "input"),
    ],
)
async def test_missing_fields(client: httpx.AsyncClient, url: str, body: dict[str, Any], param: str) -> None:
    r = await client.post(url, json=body)
    assert_error(r, 400, "invalid_request_error", param=param, code="missing_parameter", says=param)


async def test_unknown_field_on_embeddings_is_refused(client: httpx.AsyncClient) -> None:
    """CreateEmbeddingRequest has ``additionalProperties: false`` in OpenAI's spec."""
    r = await client.post(EMBED_URL, json={**EMBED, "normalize": True})
    assert_error(r, 400, "invalid_request_error", param="normalize", code="unknown_parameter")


async def test_unknown_field_on_chat_is_passed_to_the_backend(tmp_path: Path) -> None:
    """The spec does not forbid extra chat properties: vendor extras (vLLM's top_k) go upstream."""
    settings = fake_settings(tmp_path)
    backend = FakeBackend("fake", settings.backends["fake"], settings)
    async with serve(settings, {"fake": backend}) as client:
        r = await client.post(CHAT_URL, json={**CHAT, "top_k": 40, "repetition_penalty": 1.1})
    assert r.status_code == 200, r.text
    assert backend.calls[-1]["top_k"] == 40
    assert backend.calls[-1]["repetition_penalty"] == 1.1


async def test_explicit_nulls_mean_defaults(tmp_path: Path) -> None:
    """``"stream_options": null`` (and other nulls) behave as absent fields; it used to be a 500."""
    settings = fake_settings(tmp_path)
    backend = FakeBackend("fake", settings.backends["fake"], settings)
    body = {**CHAT, "stream": True, "stream_options": None, "temperature": None, "max_tokens": None}
    async with serve(settings, {"fake": backend}) as client:
        r = await client.post(CHAT_URL, json=body)
    assert r.status_code == 200, r.text
    assert r.text.rstrip().endswith("data: [DONE]")
    assert "temperature" not in backend.calls[-1]
    assert backend.calls[-1]["max_tokens"] == 100  # the model's limit, as when max_tokens is absent


@pytest.mark.parametrize(
    ("url", "body"), [(CHAT_URL, {**CHAT, "model": "gpt-9"}), (EMBED_URL, EMBED | {"model": "gpt-9"})]
)
async def test_unknown_model(client: httpx.AsyncClient, url: str, body: dict[str, Any]) -> None:
    r = await client.post(url, json=body)
    assert_error(r, 404, "not_found_error", param="model", code="model_not_found", says="'gpt-9'")


async def test_model_of_the_wrong_type(client: httpx.AsyncClient) -> None:
    r = await client.post(EMBED_URL, json={**EMBED, "model": "chat-fake"})
    error = assert_error(r, 400, "invalid_request_error", param="model", code="wrong_model_type")
    assert error["message"] == "The model 'chat-fake' is a chat model, not an embeddings model."
    r = await client.post(CHAT_URL, json={**CHAT, "model": "embed-fake"})
    error = assert_error(r, 400, "invalid_request_error", param="model", code="wrong_model_type")
    assert error["message"] == "The model 'embed-fake' is an embeddings model, not a chat model."


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), 300):
        yield data[start : start + 300]


async def test_body_over_the_limit(tmp_path: Path) -> None:
    settings = fake_settings(tmp_path, server=ServerSettings(max_body_bytes=1024))
    padded = json.dumps({**CHAT, "user": "x" * 2000}).encode()
    async with serve(settings) as client:
        r = await client.post(CHAT_URL, content=padded, headers=JSON)
        assert_error(r, 413, "invalid_request_error", code="body_too_large", says="1024 bytes")
        # chunked: no Content-Length, the limit is enforced on the bytes actually received
        r = await client.post(CHAT_URL, content=_chunks(padded), headers=JSON)
        assert "content-length" not in r.request.headers
        assert_error(r, 413, "invalid_request_error", code="body_too_large", says="1024 bytes")
        # just under the limit, in chunks: the body is replayed whole to the application
        small = json.dumps({**CHAT, "user": "x" * 900}).encode()
        assert len(small) <= 1024
        r = await client.post(CHAT_URL, content=_chunks(small), headers=JSON)
        assert r.status_code == 200, r.text


async def test_too_many_messages(tmp_path: Path) -> None:
    settings = fake_settings(tmp_path, server=ServerSettings(max_messages=3))
    messages = [{"role": "user", "content": str(i)} for i in range(4)]
    async with serve(settings) as client:
        r = await client.post(CHAT_URL, json={**CHAT, "messages": messages})
        assert_error(
            r, 400, "invalid_request_error", param="messages", code="too_many_messages", says="at most 3"
        )
        r = await client.post(CHAT_URL, json={**CHAT, "messages": messages[:3]})
        assert r.status_code == 200, r.text


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
async def test_output_limit_above_the_model_limit(client: httpx.AsyncClient, field: str) -> None:
    r = await client.post(CHAT_URL, json={**CHAT, field: 101})
    error = assert_error(r, 400, "invalid_request_error", param=field, code="max_tokens_too_large")
    assert "101" in error["message"]
    assert "100" in error["message"]
    r = await client.post(CHAT_URL, json={**CHAT, field: 100})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("empty", ["", [], [""], ["Bonjour", ""]])
async def test_empty_embedding_input(client: httpx.AsyncClient, empty: object) -> None:
    r = await client.post(EMBED_URL, json={**EMBED, "input": empty})
    assert_error(r, 400, "invalid_request_error", param="input", code="empty_input", says="non-empty")


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/v1/nowhere"), ("POST", "/v1/completions"), ("GET", "/nowhere")]
)
async def test_unknown_route(client: httpx.AsyncClient, method: str, path: str) -> None:
    r = await client.request(method, path)
    assert_error(r, 404, "not_found_error", code="unknown_url", says=f"{method} {path}")


async def test_a_long_unknown_path_is_not_echoed_whole(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/" + "x" * 5000)
    error = assert_error(r, 404, "not_found_error", code="unknown_url", says="GET /v1/xxx")
    assert len(error["message"]) < 250


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("GET", CHAT_URL, "POST"), ("PUT", EMBED_URL, "POST"), ("DELETE", "/v1/models", "GET")],
)
async def test_wrong_method(client: httpx.AsyncClient, method: str, path: str, allowed: str) -> None:
    r = await client.request(method, path)
    assert_error(r, 405, "invalid_request_error", code="method_not_allowed", says=f"method {method}")
    assert r.headers["allow"] == allowed


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
async def test_health_answers_head_like_get(client: httpx.AsyncClient, path: str) -> None:
    """Monitors probe with HEAD, which RFC 9110 expects wherever GET is allowed."""
    got, head = await client.get(path), await client.head(path)
    assert (head.status_code, head.headers["content-type"]) == (got.status_code, got.headers["content-type"])
    assert head.content == b""


@pytest.mark.parametrize("path", ["/v1/models", "/v1/nowhere"])
async def test_safe_request_id_is_echoed(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path, headers={"X-Request-Id": "portal-42.retry_1"})
    assert r.headers["x-request-id"] == "portal-42.retry_1"


@pytest.mark.parametrize("unsafe", ["has space", "a" * 129, "<script>", "id;drop", "é-accent"])
async def test_unsafe_request_id_is_replaced(client: httpx.AsyncClient, unsafe: str) -> None:
    r = await client.get("/v1/models", headers={b"X-Request-Id": unsafe.encode()})
    assert r.status_code == 200
    assert SERVER_REQUEST_ID.match(r.headers["x-request-id"])
    assert unsafe not in r.text


SECRET = "secret-detail-from-inside-the-backend"


class CrashingBackend:
    """A backend with a bug: it raises RuntimeError, after ``chunks_before`` stream chunks."""

    def __init__(self, settings: BackendSettings, chunks_before: int = 0) -> None:
        self.name = "crashing"
        self.settings = settings
        self.chunks_before = chunks_before

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def chat(self, payload: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError(SECRET)

    async def stream(self, payload: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        for _ in range(self.chunks_before):
            yield {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m", "choices": []}
        raise RuntimeError(SECRET)

    async def embed(self, texts: list[str], model: str) -> EmbeddingResult:
        raise RuntimeError(SECRET)

    async def health(self) -> bool:
        return True

    def served_model(self, model: str) -> ServedModel:
        return ServedModel(name=model)


def _crashing_settings(tmp_path: Path) -> Settings:
    return fake_settings(
        tmp_path,
        backends={"crashing": BackendSettings(kind="fake")},
        models=[
            ModelSettings(name="chat-fake", routes=[RouteSettings(backend="crashing")]),
            ModelSettings(name="embed-fake", type="embeddings", routes=[RouteSettings(backend="crashing")]),
        ],
    )


@pytest.mark.parametrize(
    ("url", "body"), [(CHAT_URL, CHAT), (CHAT_URL, {**CHAT, "stream": True}), (EMBED_URL, EMBED)]
)
async def test_backend_bug_gives_a_generic_500(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, url: str, body: dict[str, Any]
) -> None:
    backend = CrashingBackend(BackendSettings(kind="fake"))
    async with serve(
        _crashing_settings(tmp_path), {"crashing": backend}, raise_app_exceptions=False
    ) as client:
        with caplog.at_level(logging.ERROR, logger="souverain"):
            r = await client.post(url, json=body, headers={"X-Request-Id": "case-500"})
    error = assert_error(r, 500, "server_error", says="request id case-500")
    assert r.headers["x-request-id"] == "case-500"
    assert SECRET not in r.text
    assert "RuntimeError" not in r.text
    assert error["code"] is None
    logged = [rec.getMessage() for rec in caplog.records if rec.levelno == logging.ERROR]
    assert any("case-500" in line and "RuntimeError" in line for line in logged), logged


async def test_an_unexpected_error_is_answered_not_re_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A 500 is the app's last word: an exception escaping it makes uvicorn log the whole traceback and
    close the keep-alive connection (the client's next request on it was reset)."""
    backend = CrashingBackend(BackendSettings(kind="fake"))
    async with serve(_crashing_settings(tmp_path), {"crashing": backend}) as client:  # re-raises
        with caplog.at_level(logging.ERROR, logger="souverain"):
            r = await client.post(EMBED_URL, json=EMBED, headers={"X-Request-Id": "case-500b"})
    assert_error(r, 500, "server_error", says="request id case-500b")
    assert r.headers.get_list("x-request-id") == ["case-500b"]
    [line] = [rec.getMessage() for rec in caplog.records if rec.levelno == logging.ERROR]
    assert line == "unexpected RuntimeError while serving /v1/embeddings (request id case-500b)"


def test_a_500_keeps_the_connection_open(tmp_path: Path) -> None:
    """Over a real server: uvicorn closed a keep-alive connection after a 500, resetting the next request."""
    backend = CrashingBackend(BackendSettings(kind="fake"))
    app = create_app(_crashing_settings(tmp_path), backends={"crashing": backend})
    with ThreadServer(app) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            statuses = []
            for _ in range(3):
                connection.request("POST", EMBED_URL, json.dumps(EMBED), JSON)
                response = connection.getresponse()
                response.read()
                statuses.append(response.status)
        finally:
            connection.close()
    assert statuses == [500, 500, 500]


async def test_backend_bug_mid_stream_ends_with_one_error_event(tmp_path: Path) -> None:
    backend = CrashingBackend(BackendSettings(kind="fake"), chunks_before=2)
    async with serve(_crashing_settings(tmp_path), {"crashing": backend}) as client:
        r = await client.post(CHAT_URL, json={**CHAT, "stream": True})
    assert r.status_code == 200  # the status line was sent with the first chunk
    events = [line.removeprefix("data: ") for line in r.text.splitlines() if line]
    assert len(events) == 3
    assert "[DONE]" not in events
    error = json.loads(events[-1])["error"]
    assert error["type"] == "server_error"
    assert SECRET not in r.text
    assert set(error) == {"message", "type", "param", "code"}


# --- fuzz: mangled bodies never produce a 5xx -------------------------------------------------------------

SCALARS: list[object] = [None, True, 0, -1, 2**63, 10**30, 1.5, -0.0, 1e308, "", "x", "\ud800", "é" * 40]
SCALARS += ["chat-fake", "embed-fake", "user", "assistant", "tool", "text", "float", "base64", "a" * 3000]
BASES = {
    CHAT_URL: {
        **CHAT,
        "messages": [
            {"role": "system", "content": "Court."},
            {"role": "user", "content": [{"type": "text", "text": "Oui"}]},
        ],
        "temperature": 0.5,
        "max_tokens": 20,
        "stream": False,
        "stream_options": {"include_usage": True},
        "stop": ["\n"],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        "response_format": {"type": "text"},
    },
    EMBED_URL: {**EMBED, "input": ["a", "b"], "encoding_format": "float", "dimensions": 8},
}


def _random_value(rng: random.Random, depth: int = 0) -> object:
    roll = rng.random()
    if depth > 2 or roll < 0.6:
        return rng.choice(SCALARS)
    if roll < 0.8:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    keys = ["role", "content", "type", "text", "name", "x"]
    return {rng.choice(keys): _random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def _locations(value: object, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        items: list[tuple[Any, object]] = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    else:
        items = []
    return found + [loc for key, child in items for loc in _locations(child, (*prefix, key))]


def _mutate_tree(rng: random.Random, body: dict[str, Any]) -> None:
    for _ in range(rng.randint(1, 3)):
        locations = _locations(body)
        if not locations:
            return
        *parents, last = rng.choice(locations)
        parent: Any = body
        for key in parents:
            parent = parent[key]
        roll = rng.random()
        if roll < 0.3:
            del parent[last]
        elif roll < 0.8 or not isinstance(parent, dict):
            parent[last] = _random_value(rng)
        else:
            parent[rng.choice(["bogus", "top_k", "stream", "\ud800", ""])] = _random_value(rng)


def mangled_body(rng: random.Random, base: dict[str, Any]) -> bytes:
    """A valid body with random edits, then sometimes broken bytes or a non-object document."""
    body = copy.deepcopy(base)
    _mutate_tree(rng, body)
    raw = json.dumps(body).encode()
    roll = rng.random()
    if roll < 0.1:
        return raw[: rng.randint(0, len(raw))]
    if roll < 0.15:
        return bytes(b ^ 0xFF if rng.random() < 0.05 else b for b in raw)
    if roll < 0.2:
        return rng.choice([b"null", b"[]", b'"s"', b"", b"{", b"NaN", b"[" * 3000, b'{"a":' * 500])
    if roll < 0.25:
        return raw.replace(b"0.5", b"NaN").replace(b"20", b"-Infinity")
    return raw


@pytest.mark.parametrize("url", [CHAT_URL, EMBED_URL])
async def test_fuzzed_bodies_never_give_a_5xx(tmp_path: Path, url: str) -> None:
    rng = random.Random(20240611)
    statuses: dict[int, int] = {}
    async with serve(fake_settings(tmp_path), raise_app_exceptions=False) as client:
        for _ in range(200):
            raw = mangled_body(rng, BASES[url])
            r = await client.post(url, content=raw, headers=JSON)
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            assert r.status_code < 500, (raw[:500], r.text[:500])
            assert '"server_error"' not in r.text, (raw[:500], r.text[:500])
            if r.status_code != 200:
                assert set(r.json()["error"]) == {"message", "type", "param", "code"}
    # the fuzz reaches both sides: some bodies are served, most are refused
    assert statuses.get(200, 0) >= 10, statuses
    assert statuses.get(400, 0) >= 100, statuses
