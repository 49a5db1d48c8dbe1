"""Shared fixtures: settings in a temporary data directory and the real app over ASGITransport."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from souverain.app import create_app
from souverain.settings import (
    BackendSettings,
    GovernanceSettings,
    ModelSettings,
    PrivacySettings,
    RouteSettings,
    Settings,
)

# The detection budget refuses a request whose personal-data detection is slow (tested with explicit budgets
# in test_privacy_pipeline). A loaded CI machine can stall one detection past the 200 ms default and turn
# another test's request into a refusal that test does not expect; the other tests get room.
TEST_PRIVACY = PrivacySettings(detection_budget_ms=2000.0)


def fake_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Settings with a fake backend serving a chat model and an embeddings model.

    Authentication is off (requests run as the anonymous development use case): these settings serve the
    gateway-mechanics tests; governance tests switch it on.
    """
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "governance": GovernanceSettings(auth_required=False),
        "privacy": TEST_PRIVACY,
        "backends": {
            "fake": BackendSettings(kind="fake", reply="Bonjour, je suis un assistant."),
        },
        "models": [
            ModelSettings(name="chat-fake", routes=[RouteSettings(backend="fake")], max_output_tokens=100),
            ModelSettings(name="embed-fake", type="embeddings", routes=[RouteSettings(backend="fake")]),
        ],
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return fake_settings(tmp_path)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://souverain.test") as c:
        yield c
