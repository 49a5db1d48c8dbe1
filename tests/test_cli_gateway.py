"""``souverain chat`` against a running server, and ``souverain models``."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.servers import Server, server_environment, souverain_command

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

CONFIG = """
data_dir = {data_dir}
[governance]
auth_required = false
[backends.fake]
kind = "fake"
reply = "Moien, ech sinn en Assistent."
[backends.remote]
kind = "openai"
base_url = "http://127.0.0.1:9/v1"
zone = "external"
clearance = "public"
[[models]]
name = "chat-fake"
routes = [{{ backend = "fake" }}, {{ backend = "remote", priority = 1 }}]
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "souverain.toml"
    path.write_text(CONFIG.format(data_dir=json.dumps(str(tmp_path / "data"))))
    return path


def souverain(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*souverain_command(), *args],
        env=server_environment(config),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_chat_streams_the_answer_to_the_terminal(config: Path, tmp_path: Path) -> None:
    with Server(config, tmp_path) as server:
        done = souverain(config, "chat", "Moien!", "--model", "chat-fake", "--url", server.base_url)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "Moien, ech sinn en Assistent."
        missing = souverain(config, "chat", "Moien!", "--model", "nope", "--url", server.base_url)
    assert missing.returncode == 1
    assert "error 404" in missing.stderr


def test_chat_says_when_no_server_answers(config: Path) -> None:
    done = souverain(config, "chat", "Moien!", "--url", "http://127.0.0.1:9")
    assert done.returncode == 1
    assert "cannot reach http://127.0.0.1:9" in done.stderr


def test_models_lists_aliases_with_their_backends_and_zones(config: Path) -> None:
    done = souverain(config, "models")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\t")[:2] == ["chat-fake", "chat"]
    assert "fake(on_prem, priority 0)" in done.stdout
    assert "remote(external, priority 1)" in done.stdout
