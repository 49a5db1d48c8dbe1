"""The small bundled GGUF model for tests marked ``model`` or ``e2e``, assembled once per session.

Import the fixture into a test module (``from tests.model_fixtures import model_data_dir``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from souverain import bundled

SMALL_MODEL = "qwen2.5-coder-0.5b-instruct"


@pytest.fixture(scope="session")
def model_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory whose ``models/`` holds the small model, verified against its pinned sha256."""
    model = bundled.get(SMALL_MODEL)
    missing = [name for name in model.packages() if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(
            f"the small model's part-packages are not installed (uv sync --group {model.install_group})"
        )
    data_dir = tmp_path_factory.mktemp("model-data")
    bundled.assemble(model, data_dir / "models")
    return data_dir
