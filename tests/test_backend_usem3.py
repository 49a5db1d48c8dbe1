"""The bundled multilingual sentence encoder: vector shape and norm, multilingual similarity, refusals."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from souverain.backends.base import Backend
from souverain.backends.usem3 import DIMENSIONS, MODEL_NAME, SentenceEncoderBackend, estimate_tokens
from souverain.errors import BackendUnavailable, InvalidRequest
from souverain.settings import BackendSettings, Settings

pytestmark = pytest.mark.anyio

CARD_FR = "Comment renouveler ma carte d'identité ?"
CARD_FR_PARAPHRASE = "Que faut-il faire pour obtenir une nouvelle carte nationale d'identité ?"
TAX_DE = "Bis wann muss ich meine Steuererklärung abgeben?"
TAX_DE_PARAPHRASE = "Wann ist die Frist für die Einkommensteuererklärung?"
UNRELATED = ["Le chat dort sur le canapé.", "Der Zug nach Trier fährt um acht Uhr ab."]


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def encoder(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SentenceEncoderBackend]:
    data_dir: Path = tmp_path_factory.mktemp("usem3")
    backend = SentenceEncoderBackend(
        "encoder", BackendSettings(kind="usem3", threads=1), Settings(data_dir=data_dir)
    )
    await backend.start()
    yield backend
    await backend.close()


async def test_vectors_are_float32_unit_rows_of_512(encoder: SentenceEncoderBackend) -> None:
    result = await encoder.embed([CARD_FR, TAX_DE, "x"], "embeddings-default")
    assert result.vectors.shape == (3, DIMENSIONS)
    assert result.vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(result.vectors, axis=1), 1.0, atol=1e-5)
    assert result.prompt_tokens == estimate_tokens([CARD_FR, TAX_DE, "x"])
    assert result.prompt_tokens >= 3


@pytest.mark.parametrize(
    ("query", "paraphrase"), [(CARD_FR, CARD_FR_PARAPHRASE), (TAX_DE, TAX_DE_PARAPHRASE)], ids=["fr", "de"]
)
async def test_paraphrases_are_closer_than_unrelated_sentences(
    encoder: SentenceEncoderBackend, query: str, paraphrase: str
) -> None:
    vectors = (await encoder.embed([query, paraphrase, *UNRELATED], "e")).vectors
    similarity = vectors[1:] @ vectors[0]
    assert similarity[0] > max(similarity[1:]) + 0.1


async def test_across_languages_the_same_question_is_closest(encoder: SentenceEncoderBackend) -> None:
    vectors = (
        await encoder.embed([CARD_FR, "Wie erneuere ich meinen Personalausweis?", TAX_DE], "e")
    ).vectors
    assert vectors[1] @ vectors[0] > vectors[2] @ vectors[0]


async def test_concurrent_calls_give_the_same_vectors_as_one_batch(encoder: SentenceEncoderBackend) -> None:
    texts = [CARD_FR, CARD_FR_PARAPHRASE, TAX_DE, TAX_DE_PARAPHRASE, *UNRELATED]
    batch = (await encoder.embed(texts, "e")).vectors
    singles = await asyncio.gather(*(encoder.embed([text], "e") for text in texts))
    np.testing.assert_allclose(np.vstack([s.vectors for s in singles]), batch, atol=1e-5)


async def test_identity_and_refusals(encoder: SentenceEncoderBackend) -> None:
    assert isinstance(encoder, Backend)
    assert await encoder.health()
    served = encoder.served_model("embeddings-default")
    assert served.name == MODEL_NAME
    assert served.weights_sha256 is not None
    assert len(served.weights_sha256) == 64
    with pytest.raises(InvalidRequest):
        await encoder.chat({"model": "embeddings-default", "messages": []})
    with pytest.raises(InvalidRequest):
        encoder.stream({"model": "embeddings-default", "messages": []})


async def test_not_started_is_unavailable(tmp_path: Path) -> None:
    backend = SentenceEncoderBackend("encoder", BackendSettings(kind="usem3"), Settings(data_dir=tmp_path))
    assert not await backend.health()
    with pytest.raises(BackendUnavailable):
        await backend.embed(["x"], "e")
