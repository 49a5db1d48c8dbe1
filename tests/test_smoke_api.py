"""Smoke tests of the OpenAI-compatible API on the fake backend."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.anyio


async def test_chat_completion(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/chat/completions",
        json={"model": "chat-fake", "messages": [{"role": "user", "content": "Salut"}]},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["choices"][0]["message"]["content"] == "Bonjour, je suis un assistant."
    assert body["model"] == "chat-fake"
    assert r.headers["x-request-id"]
    assert r.headers["x-souverain-backend"] == "fake"


async def test_stream(client: httpx.AsyncClient) -> None:
    body = {
        "model": "chat-fake",
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "Salut"}],
    }
    async with client.stream("POST", "/v1/chat/completions", json=body) as r:
        lines = [line async for line in r.aiter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    assert '"usage"' in lines[-2]


async def test_errors(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/chat/completions", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "invalid_json"
    r = await client.post(
        "/v1/chat/completions", json={"model": "nope", "messages": [{"role": "user", "content": "x"}]}
    )
    assert r.status_code == 404
    r = await client.post("/v1/embeddings", json={"model": "embed-fake", "input": "x", "bogus": 1})
    assert r.status_code == 400
    assert r.json()["error"]["param"] == "bogus"
    r = await client.post("/v1/chat/completions", content=b"x" * 3_000_000)
    assert r.status_code == 413
