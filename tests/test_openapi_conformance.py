"""Wire-format conformance: our response bodies validate against OpenAI's official OpenAPI schemas.

The schemas come from ``tests/schemas/openai_extract.json`` (see SOURCE.md there), extracted from
openai/openai-openapi by ``scripts/extract_openai_schemas.py``; the real app answers on the fake backend.
"""

from __future__ import annotations

import base64
import json
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import numpy as np
import pytest
from jsonschema.protocols import Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

pytestmark = pytest.mark.anyio

EXTRACT = Path(__file__).parent / "schemas" / "openai_extract.json"
CHAT = {"model": "chat-fake", "messages": [{"role": "user", "content": "Bonjour"}]}
ROOTS = (
    "ListModelsResponse",
    "CreateChatCompletionResponse",
    "CreateChatCompletionStreamResponse",
    "CreateEmbeddingResponse",
    "ErrorResponse",
)


@cache
def _extract() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(EXTRACT.read_text(encoding="utf-8"))
    return document


@cache
def validator(name: str) -> Validator:
    """A 2020-12 validator for one component schema, its ``$ref``s resolved inside the extract."""
    document = _extract()
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(document["$id"], resource)
    schema = {"$ref": f"{document['$id']}#/components/schemas/{name}"}
    return jsonschema.Draft202012Validator(schema, registry=registry)


def assert_conforms(name: str, body: Any) -> None:
    """Fail with every schema violation listed, not only the first."""
    errors = sorted(validator(name).iter_errors(body), key=lambda e: list(e.absolute_path))
    details = [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors]
    assert not details, f"body does not conform to {name}:\n" + "\n".join(details)


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


async def _sse(client: httpx.AsyncClient, body: dict[str, Any]) -> list[str]:
    async with client.stream("POST", "/v1/chat/completions", json=body) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        return [line.removeprefix("data: ") async for line in response.aiter_lines() if line]


def test_extract_is_self_contained_and_valid() -> None:
    document = _extract()
    schemas = document["components"]["schemas"]
    assert set(ROOTS) <= set(schemas)
    prefix = "#/components/schemas/"
    missing = {ref for ref in _refs(schemas) if ref.removeprefix(prefix) not in schemas}
    assert not missing, f"references that do not resolve inside the extract: {missing}"
    for schema in schemas.values():
        jsonschema.Draft202012Validator.check_schema(schema)
    assert "nullable" not in json.dumps(schemas), "OpenAPI 3.0 nullable must be rewritten for JSON Schema"


def test_validators_reject_what_openai_would_not_send() -> None:
    """The schemas bite: wrong bodies fail, so the passing tests below mean something."""
    # the message's role is checked by a referenced schema: this also proves that $refs resolve
    message: dict[str, Any] = {"role": "user", "content": "hi", "refusal": None}
    choice: dict[str, Any] = {"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}
    bad_completion: dict[str, Any] = {
        "id": "x",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [choice],
    }
    good_choice = {**choice, "message": {**message, "role": "assistant"}}
    assert validator("CreateChatCompletionResponse").is_valid({**bad_completion, "choices": [good_choice]})
    bad_chunk: dict[str, Any] = {
        "id": "x",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "done"}],
    }
    cases: list[tuple[str, dict[str, Any]]] = [
        ("CreateChatCompletionResponse", bad_completion),
        ("CreateChatCompletionStreamResponse", bad_chunk),
        ("ErrorResponse", {"error": {"message": "m", "type": "t"}}),
        ("CreateEmbeddingResponse", {"object": "list", "data": [], "model": "m"}),
        ("ListModelsResponse", {"object": "list", "data": [{"id": "m", "object": "model"}]}),
    ]
    for name, body in cases:
        assert not validator(name).is_valid(body), name


async def test_models_list(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/models")
    assert r.status_code == 200
    body = r.json()
    assert_conforms("ListModelsResponse", body)
    assert [m["id"] for m in body["data"]] == ["chat-fake", "embed-fake"]


async def test_chat_completion(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/chat/completions", json={**CHAT, "max_tokens": 50, "temperature": 0.2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert_conforms("CreateChatCompletionResponse", body)
    assert body["choices"][0]["message"]["content"] == "Bonjour, je suis un assistant."
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0


async def test_stream_chunks_with_usage(client: httpx.AsyncClient) -> None:
    lines = await _sse(client, {**CHAT, "stream": True, "stream_options": {"include_usage": True}})
    assert lines[-1] == "[DONE]"
    chunks = [json.loads(line) for line in lines[:-1]]
    for chunk in chunks:
        assert_conforms("CreateChatCompletionStreamResponse", chunk)
    assert len({c["id"] for c in chunks}) == 1
    assert len({c["created"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "Bonjour, je suis un assistant."
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    usage_chunk = chunks[-1]
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"]["completion_tokens"] > 0


async def test_stream_chunks_without_usage(client: httpx.AsyncClient) -> None:
    lines = await _sse(client, {**CHAT, "stream": True})
    chunks = [json.loads(line) for line in lines[:-1]]
    for chunk in chunks:
        assert_conforms("CreateChatCompletionStreamResponse", chunk)
    assert all(chunk["choices"] and "usage" not in chunk for chunk in chunks)


async def test_embeddings_float(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/embeddings", json={"model": "embed-fake", "input": ["un", "deux"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert_conforms("CreateEmbeddingResponse", body)
    assert [d["index"] for d in body["data"]] == [0, 1]
    assert all(isinstance(x, float) for x in body["data"][0]["embedding"])


async def test_embeddings_base64(client: httpx.AsyncClient) -> None:
    """The spec only models float arrays; a base64 body conforms once decoded, and decodes to the floats."""
    request = {"model": "embed-fake", "input": ["un", "deux"]}
    floats = (await client.post("/v1/embeddings", json=request)).json()
    r = await client.post("/v1/embeddings", json={**request, "encoding_format": "base64"})
    assert r.status_code == 200, r.text
    body = r.json()
    encoded = [item["embedding"] for item in body["data"]]
    assert all(isinstance(e, str) for e in encoded)
    for item in body["data"]:
        item["embedding"] = np.frombuffer(base64.b64decode(item["embedding"]), dtype="<f4").tolist()
    assert_conforms("CreateEmbeddingResponse", body)
    for decoded, expected in zip(body["data"], floats["data"], strict=True):
        np.testing.assert_allclose(decoded["embedding"], expected["embedding"], rtol=1e-6)


@pytest.mark.parametrize(
    ("method", "path", "payload", "status"),
    [
        ("POST", "/v1/chat/completions", b"{oops", 400),
        ("POST", "/v1/chat/completions", json.dumps({**CHAT, "model": "absent"}).encode(), 404),
        ("POST", "/v1/embeddings", json.dumps({"model": "embed-fake", "input": ""}).encode(), 400),
        ("GET", "/v1/nowhere", None, 404),
        ("GET", "/v1/embeddings", None, 405),
    ],
)
async def test_error_envelope(
    client: httpx.AsyncClient, method: str, path: str, payload: bytes | None, status: int
) -> None:
    headers = {"content-type": "application/json"}
    r = await client.request(method, path, content=payload, headers=headers)
    assert r.status_code == status, r.text
    assert_conforms("ErrorResponse", r.json())
