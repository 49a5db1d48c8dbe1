"""Failover through the real app: OpenAI backends on fake upstreams; priority, weight, cool-down, /readyz."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import httpx
import orjson
import pytest

from souverain.app import create_app
from souverain.backends.base import Backend
from souverain.backends.openai_http import OpenAIBackend
from souverain.routing.health import HealthBoard
from souverain.routing.router import Router
from souverain.settings import BackendSettings, CooldownSettings, ModelSettings, RouteSettings, Settings
from tests.conftest import fake_settings
from tests.fakes.upstream import Behaviour, FakeUpstream, closed_base_url

if TYPE_CHECKING:
    from tests.fakes.fixtures import UpstreamFactory

pytest_plugins = ["tests.fakes.fixtures"]
pytestmark = pytest.mark.anyio

REPLY = "Bonjour, je suis le serveur de test."
CHAT = {"model": "chat", "messages": [{"role": "user", "content": "Bonjour"}]}
STREAM = {**CHAT, "stream": True}


def openai_backend(base_url: str) -> BackendSettings:
    """An openai backend with timeouts short enough for tests."""
    return BackendSettings(
        kind="openai", base_url=base_url, connect_timeout=1.0, read_timeout=0.5, first_byte_timeout=0.5
    )


def gateway_settings(
    tmp_path: Path,
    first: str,
    second: str,
    *,
    same_priority: bool = False,
    threshold: int = 3,
    cooldown: float = 30.0,
) -> Settings:
    """Two openai backends serving ``chat`` and ``embed``; ``first`` has priority unless told otherwise."""
    routes = [
        RouteSettings(backend="first", model="served-model", priority=0),
        RouteSettings(backend="second", model="served-model", priority=0 if same_priority else 1),
    ]
    return fake_settings(
        tmp_path,
        backends={"first": openai_backend(first), "second": openai_backend(second)},
        models=[
            ModelSettings(name="chat", routes=routes, max_output_tokens=100),
            ModelSettings(name="embed", type="embeddings", routes=routes),
        ],
        routing=CooldownSettings(
            failure_threshold=threshold, cooldown_seconds=cooldown, health_interval=3600
        ),
    )


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The real app, started, behind an in-process client."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://souverain.test") as client:
            yield client


def sse_events(body: str) -> list[Any]:
    """The data of each server-sent event (``[DONE]`` kept as a string)."""
    data = [line[len("data: ") :] for line in body.splitlines() if line.startswith("data: ")]
    return [d if d == "[DONE]" else orjson.loads(d) for d in data]


def streamed_text(events: list[Any]) -> str:
    return "".join(
        e["choices"][0]["delta"].get("content") or ""
        for e in events
        if isinstance(e, dict) and e.get("choices")
    )


def first_upstream(upstreams: UpstreamFactory, failure: str) -> tuple[str, FakeUpstream | None]:
    """The failing first upstream: nothing listening ("down") or a fake with that behaviour."""
    if failure == "down":
        return closed_base_url(), None
    fake = upstreams(Behaviour(failure))
    return fake.base_url, fake


@pytest.mark.parametrize("failure", ["down", "error_500", "hang", "error_429"])
@pytest.mark.parametrize("stream", [False, True])
async def test_second_backend_answers_when_the_first_fails_before_the_first_byte(
    tmp_path: Path, upstreams: UpstreamFactory, failure: str, stream: bool
) -> None:
    first_url, first = first_upstream(upstreams, failure)
    second = upstreams()
    async with serving(gateway_settings(tmp_path, first_url, second.base_url)) as client:
        response = await client.post("/v1/chat/completions", json=STREAM if stream else CHAT)
    assert response.status_code == 200, response.text
    assert response.headers["x-souverain-backend"] == "second"
    if stream:
        events = sse_events(response.text)
        assert events[-1] == "[DONE]"
        assert streamed_text(events) == REPLY
    else:
        assert response.json()["choices"][0]["message"]["content"] == REPLY
    if first is not None:
        assert first.count() == 1
    assert second.count() == 1
    assert second.requests[-1].json["model"] == "served-model"


async def test_embeddings_fail_over_too(tmp_path: Path, upstreams: UpstreamFactory) -> None:
    first, second = upstreams(Behaviour.ERROR_500), upstreams()
    async with serving(gateway_settings(tmp_path, first.base_url, second.base_url)) as client:
        response = await client.post("/v1/embeddings", json={"model": "embed", "input": ["a", "b"]})
    assert response.status_code == 200, response.text
    assert len(response.json()["data"]) == 2
    assert (first.count("/v1/embeddings"), second.count("/v1/embeddings")) == (1, 1)


async def test_death_mid_stream_ends_with_one_error_event_and_no_failover(
    tmp_path: Path, upstreams: UpstreamFactory
) -> None:
    first, second = upstreams(Behaviour.DIE_MID_STREAM, good_chunks=3), upstreams()
    async with serving(gateway_settings(tmp_path, first.base_url, second.base_url)) as client:
        response = await client.post("/v1/chat/completions", json=STREAM)
    assert response.status_code == 200  # the stream had started: only an event can carry the error
    events = sse_events(response.text)
    assert streamed_text(events) == "Bonjour, je"
    assert "[DONE]" not in events
    assert set(events[-1]) == {"error"}
    assert events[-1]["error"]["type"] == "upstream_error"
    assert second.count() == 0


@pytest.mark.parametrize("stream", [False, True])
async def test_garbage_from_every_upstream_is_a_502(
    tmp_path: Path, upstreams: UpstreamFactory, stream: bool
) -> None:
    first, second = upstreams(Behaviour.GARBAGE), upstreams(Behaviour.GARBAGE)
    async with serving(gateway_settings(tmp_path, first.base_url, second.base_url)) as client:
        response = await client.post("/v1/chat/completions", json=STREAM if stream else CHAT)
    assert response.status_code == 502, response.text
    assert response.json()["error"]["type"] == "upstream_error"
    assert (first.count(), second.count()) == (1, 1)


@pytest.mark.parametrize("stream", [False, True])
async def test_every_upstream_down_is_a_503(tmp_path: Path, stream: bool) -> None:
    settings = gateway_settings(tmp_path, closed_base_url(), closed_base_url())
    async with serving(settings) as client:
        response = await client.post("/v1/chat/completions", json=STREAM if stream else CHAT)
    assert response.status_code == 503, response.text
    assert response.json()["error"]["type"] == "service_unavailable"


async def test_an_upstream_400_is_relayed_and_not_retried(tmp_path: Path, upstreams: UpstreamFactory) -> None:
    first, second = upstreams(Behaviour.HTTP_400), upstreams()
    async with serving(gateway_settings(tmp_path, first.base_url, second.base_url)) as client:
        response = await client.post("/v1/chat/completions", json=CHAT)
    assert response.status_code == 400
    error = response.json()["error"]
    assert "maximum context length is 8192 tokens" in error["message"]
    assert error["type"] == "invalid_request_error"
    assert (first.count(), second.count()) == (1, 0)


async def test_priority_is_respected(tmp_path: Path, upstreams: UpstreamFactory) -> None:
    first, second = upstreams(), upstreams()
    async with serving(gateway_settings(tmp_path, first.base_url, second.base_url)) as client:
        for _ in range(10):
            response = await client.post("/v1/chat/completions", json=CHAT)
            assert response.headers["x-souverain-backend"] == "first"
    assert (first.count(), second.count()) == (10, 0)


async def test_equal_priority_shares_traffic(tmp_path: Path, upstreams: UpstreamFactory) -> None:
    first, second = upstreams(), upstreams()
    settings = gateway_settings(tmp_path, first.base_url, second.base_url, same_priority=True)
    async with serving(settings) as client:
        for _ in range(40):
            assert (await client.post("/v1/chat/completions", json=CHAT)).status_code == 200
    # equal weights: P(one backend gets nothing in 40 draws) = 2 * 0.5**40
    assert first.count() + second.count() == 40
    assert first.count() > 0
    assert second.count() > 0


async def test_weights_share_traffic_in_proportion(tmp_path: Path, upstreams: UpstreamFactory) -> None:
    # create_app builds its router with an unseeded RNG, so the seeded draw is checked on the router
    # itself, with the same real backends and upstreams.
    heavy, light = upstreams(), upstreams()
    settings = gateway_settings(tmp_path, heavy.base_url, light.base_url)
    model = ModelSettings(
        name="chat",
        routes=[RouteSettings(backend="first", weight=3.0), RouteSettings(backend="second", weight=1.0)],
    )
    backends: dict[str, Backend] = {
        name: OpenAIBackend(name, cfg, settings) for name, cfg in settings.backends.items()
    }
    router = Router([model], backends, HealthBoard(settings.routing), rng=random.Random(20240601))
    for backend in backends.values():
        await backend.start()
    try:
        for _ in range(200):
            await router.chat(model, {"messages": CHAT["messages"], "max_tokens": 5})
    finally:
        for backend in backends.values():
            await backend.close()
    # expected share 0.75, standard deviation 0.031 over 200 draws: the bounds are about 3 sigma
    assert heavy.count() + light.count() == 200
    assert 0.65 < heavy.count() / 200 < 0.85


async def wait_for_status(client: httpx.AsyncClient, backend: str, leaving: str) -> str:
    """Poll /readyz until ``backend`` leaves the status ``leaving`` (bounded by the test's cool-down)."""
    with anyio.fail_after(5):
        while True:
            status = str((await client.get("/readyz")).json()["backends"][backend]["status"])
            if status != leaving:
                return status
            await anyio.sleep(0.05)


async def test_a_failing_backend_cools_down_then_comes_back(
    tmp_path: Path, upstreams: UpstreamFactory
) -> None:
    first, second = upstreams(Behaviour.ERROR_500), upstreams()
    settings = gateway_settings(tmp_path, first.base_url, second.base_url, threshold=2, cooldown=1.5)
    async with serving(settings) as client:
        for _ in range(2):
            response = await client.post("/v1/chat/completions", json=CHAT)
            assert response.headers["x-souverain-backend"] == "second"
        ready = (await client.get("/readyz")).json()
        assert ready["backends"]["first"]["status"] == "cooling_down"
        assert ready["backends"]["second"]["status"] == "ready"
        response = await client.post("/v1/chat/completions", json=STREAM)
        assert response.headers["x-souverain-backend"] == "second"
        # The failing health check at start-up counted too: one failed request completed the threshold.
        assert first.count() == 1, "a backend in cool-down is not even contacted"
        first.behaviour = Behaviour.NORMAL
        assert await wait_for_status(client, "first", leaving="cooling_down") in ("down", "ready")
        response = await client.post("/v1/chat/completions", json=CHAT)
        assert response.headers["x-souverain-backend"] == "first"
        ready = (await client.get("/readyz")).json()
    assert first.count() == 2
    assert second.count() == 3
    assert ready["backends"]["first"]["status"] == "ready"


async def test_readyz_reflects_backend_states(tmp_path: Path, upstreams: UpstreamFactory) -> None:
    second = upstreams()
    async with serving(gateway_settings(tmp_path, closed_base_url(), second.base_url)) as client:
        response = await client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["backends"]["first"]["status"] == "down"
    assert body["backends"]["second"]["status"] == "ready"
    async with serving(gateway_settings(tmp_path, closed_base_url(), closed_base_url())) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


def test_a_passing_health_check_does_not_end_a_cool_down() -> None:
    now = [100.0]
    board = HealthBoard(CooldownSettings(failure_threshold=2, cooldown_seconds=10), clock=lambda: now[0])
    board.failure("b", "HTTP 500")
    board.failure("b", "HTTP 500")
    assert not board.available("b")
    board.probe("b", ok=True)
    assert not board.available("b")
    now[0] += 11
    assert board.available("b")
    board.failure("b", "HTTP 500")  # half-open: the first failure after a cool-down trips it again
    assert not board.available("b")
    now[0] += 11
    board.success("b")
    board.failure("b", "HTTP 500")  # closed again: back to the threshold
    assert board.available("b")
