"""The privacy stage through the real app: what backends receive, what clients get back, and fail-closed."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from souverain.privacy.detector import Detector
from souverain.privacy.entities import Entity, EntityType
from souverain.settings import PrivacySettings
from tests.privacy_support import (
    CANARY,
    EMAIL,
    IBAN,
    MATRICULE,
    NAME,
    Gateway,
    bearer,
    gateway,
    leaks,
    privacy_settings,
    splitting_backends,
)

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector()


@pytest.fixture
async def gw(tmp_path: Path, detector: Detector) -> AsyncIterator[Gateway]:
    async with gateway(privacy_settings(tmp_path), detector) as g:
        yield g


def sent_text(gw: Gateway, backend: str = "fake") -> str:
    """Every message text the backend received in its last call."""
    payload = gw.backend(backend).calls[-1]
    return "\n".join(str(m.get("content")) for m in payload["messages"])


async def test_pseudonymized_upstream_and_restored_answer(gw: Gateway) -> None:
    key = await gw.key("pseudonymize")
    r = await gw.chat(key, CANARY)
    assert r.status_code == 200, r.text
    upstream = sent_text(gw)
    assert leaks(upstream) == []
    for placeholder in ("<PERSON_1>", "<LU_MATRICULE_1>", "<IBAN_1>", "<PHONE_1>", "<EMAIL_1>"):
        assert placeholder in upstream
    assert r.json()["choices"][0]["message"]["content"] == f"Réponse : {CANARY}"


async def test_every_text_of_the_conversation_is_covered(gw: Gateway) -> None:
    key = await gw.key("pseudonymize")
    arguments = f'{{"iban": "{IBAN}"}}'
    body: dict[str, Any] = {
        "model": "chat-fake",
        "user": EMAIL,
        "messages": [
            {"role": "system", "content": f"Le dossier concerne {NAME}."},
            {"role": "user", "content": [{"type": "text", "text": f"Mon matricule est {MATRICULE}."}]},
            {
                "role": "assistant",
                "content": f"Merci {NAME}.",
                "tool_calls": [
                    {"id": "t1", "type": "function", "function": {"name": "f", "arguments": arguments}}
                ],
            },
            {"role": "tool", "tool_call_id": "t1", "content": f"Compte {IBAN} trouvé."},
            {"role": "user", "content": f"Écrivez à {EMAIL}."},
        ],
    }
    r = await gw.client.post("/v1/chat/completions", json=body, headers=bearer(key))
    assert r.status_code == 200, r.text
    received = gw.backend().calls[-1]
    assert leaks(str(received)) == []
    assert received["messages"][0]["content"] == "Le dossier concerne <PERSON_1>."
    assert received["messages"][2]["content"] == "Merci <PERSON_1>."  # the same value, the same placeholder
    assert received["messages"][2]["tool_calls"][0]["function"]["arguments"] == '{"iban": "<IBAN_1>"}'
    assert received["user"] == "<EMAIL_1>"
    assert r.json()["choices"][0]["message"]["content"] == f"Réponse : Écrivez à {EMAIL}."


async def test_streamed_answers_are_restored_with_split_placeholders(
    tmp_path: Path, detector: Detector
) -> None:
    settings = privacy_settings(tmp_path)
    async with gateway(settings, detector, splitting_backends(settings)) as gw:
        key = await gw.key("pseudonymize")
        r, streamed = await gw.stream(key, CANARY)
        assert r.status_code == 200
        assert streamed == f"Réponse : {CANARY}"
        assert leaks(sent_text(gw)) == []
        assert "<PERSON_1>" in sent_text(gw)  # 10 characters: it went out in 3-character chunks


async def test_a_conversation_keeps_its_placeholders(gw: Gateway) -> None:
    key = await gw.key("pseudonymize")
    conversation = {"X-Conversation-Id": "dossier-42"}
    await gw.chat(key, f"Je suis {NAME}.", headers=conversation)
    assert sent_text(gw) == "Je suis <PERSON_1>."
    r = await gw.chat(key, "Mon collègue Jean Weber et moi, Marie Dupont.", headers=conversation)
    assert r.status_code == 200
    assert sent_text(gw) == "Mon collègue <PERSON_2> et moi, <PERSON_1>."
    await gw.chat(key, "Mon collègue Jean Weber.")  # no conversation: a vault for this request only
    assert sent_text(gw) == "Mon collègue <PERSON_1>."
    r = await gw.chat(key, "x", headers={"X-Conversation-Id": "no spaces allowed"})
    assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_conversation_id")


async def test_text_pseudonymized_by_the_endpoint_is_restored_in_chat(gw: Gateway) -> None:
    key = await gw.key("pseudonymize")
    r = await gw.client.post("/v1/privacy/pseudonymize", json={"text": CANARY}, headers=bearer(key))
    assert r.status_code == 200, r.text
    pseudonymized, handle = r.json()["text"], r.json()["vault"]
    assert leaks(pseudonymized) == []
    headers = {"X-Conversation-Id": handle["conversation_id"]}
    answer = await gw.chat(key, pseudonymized, headers=headers)
    assert sent_text(gw) == pseudonymized  # the model only ever saw placeholders
    assert answer.json()["choices"][0]["message"]["content"] == f"Réponse : {CANARY}"


@pytest.mark.parametrize("conversation", ["", "no spaces allowed"])
async def test_the_endpoint_refuses_a_malformed_conversation_id(gw: Gateway, conversation: str) -> None:
    key = await gw.key("pseudonymize")
    body = {"text": CANARY, "conversation_id": conversation}  # "" named no vault and opened a new one
    r = await gw.client.post("/v1/privacy/pseudonymize", json=body, headers=bearer(key))
    assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_conversation_id")
    assert r.json()["error"]["param"] == "conversation_id"


async def test_another_use_case_of_the_tenant_never_opens_the_vault(gw: Gateway) -> None:
    key = await gw.key("pseudonymize")
    sibling = await gw.key("pseudonymize", name="sibling")  # same tenant, another use case
    body = {"text": f"Écrire à {EMAIL}.", "conversation_id": "shared-id"}
    r = await gw.client.post("/v1/privacy/pseudonymize", json=body, headers=bearer(key))
    assert r.json()["text"] == "Écrire à <EMAIL_1>."
    headers = {"X-Conversation-Id": "shared-id"}
    r = await gw.chat(sibling, "Recopie : <EMAIL_1>", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == "Réponse : Recopie : <EMAIL_1>"
    r = await gw.chat(key, "Recopie : <EMAIL_1>", headers=headers)  # the use case's own key does
    assert r.json()["choices"][0]["message"]["content"] == f"Réponse : Recopie : {EMAIL}"


async def test_redact_is_irreversible(gw: Gateway) -> None:
    key = await gw.key("redact")
    r = await gw.chat(key, f"Je suis {NAME}, matricule {MATRICULE}.")
    assert sent_text(gw) == "Je suis [PERSON], matricule [LU_MATRICULE]."
    assert (
        r.json()["choices"][0]["message"]["content"]
        == "Réponse : Je suis [PERSON], matricule [LU_MATRICULE]."
    )


async def test_block_refuses_the_listed_types_and_pseudonymizes_the_rest(gw: Gateway) -> None:
    key = await gw.key("block", block=["LU_MATRICULE", "IBAN"])
    r = await gw.chat(key, f"Je suis {NAME}, matricule {MATRICULE}, IBAN {IBAN}.")
    assert r.status_code == 403
    error = r.json()["error"]
    assert error["code"] == "personal_data_blocked"
    assert "IBAN, LU_MATRICULE" in error["message"]
    assert leaks(r.text) == []
    assert gw.backend().calls == []
    r = await gw.chat(key, f"Je suis {NAME}.")
    assert r.status_code == 200
    assert sent_text(gw) == "Je suis <PERSON_1>."
    everything = await gw.key("block", name="strict")  # no list: any personal data is refused
    r = await gw.chat(everything, f"Je suis {NAME}.")
    assert (r.status_code, r.json()["error"]["code"]) == (403, "personal_data_blocked")
    assert "PERSON" in r.json()["error"]["message"]


async def test_detect_and_off_pass_text_on_to_on_prem_backends(gw: Gateway) -> None:
    for policy in ("detect", "off"):
        key = await gw.key(policy, name=policy)
        r = await gw.chat(key, CANARY)
        assert r.status_code == 200
        assert sent_text(gw) == CANARY


async def test_an_external_backend_always_gets_pseudonymized_text(gw: Gateway) -> None:
    key = await gw.key("off")
    # internal data: the external backend is not cleared, so only on-prem may serve and "off" applies
    r = await gw.chat(key, CANARY, model="chat-mixed")
    assert r.headers["x-souverain-zone"] == "on_prem"
    assert sent_text(gw) == CANARY
    # public data: the router may fail over to the external backend, so the text is pseudonymised
    # before routing, even though the on-prem backend answers this time
    r = await gw.chat(key, CANARY, model="chat-mixed", headers={"X-Data-Classification": "public"})
    assert r.status_code == 200
    assert leaks(sent_text(gw)) == []
    assert r.json()["choices"][0]["message"]["content"] == f"Réponse : {CANARY}"


async def test_embeddings_inputs_are_pseudonymized(gw: Gateway) -> None:
    key = await gw.key("pseudonymize")
    body = {"model": "embed-fake", "input": [f"Je suis {NAME}.", "Sans données personnelles.", CANARY]}
    r = await gw.client.post("/v1/embeddings", json=body, headers=bearer(key))
    assert r.status_code == 200, r.text
    received = gw.backend().embedded[-1]
    assert leaks(str(received)) == []
    assert received[:2] == ["Je suis <PERSON_1>.", "Sans données personnelles."]
    assert "<LU_MATRICULE_1>" in received[2]


async def test_privacy_analyze_endpoint(gw: Gateway) -> None:
    key = await gw.key("pseudonymize")
    r = await gw.client.post(
        "/v1/privacy/analyze", json={"text": CANARY, "language": "fr"}, headers=bearer(key)
    )
    assert r.status_code == 200
    spans = [(CANARY[e["start"] : e["end"]], e["type"]) for e in r.json()["entities"]]
    for value, kind in ((NAME, "PERSON"), (MATRICULE, "LU_MATRICULE"), (IBAN, "IBAN"), (EMAIL, "EMAIL")):
        assert any(value in text and kind == found for text, found in spans), (value, spans)
    assert leaks(r.text) == []  # spans, never values
    r = await gw.client.post("/v1/privacy/analyze", json={"text": CANARY})
    assert r.status_code == 401


class Failing:
    """A recognizer that breaks."""

    def find(self, text: str, language: str | None) -> Iterator[Entity]:
        raise RuntimeError("model file corrupted")


class Slow:
    """A recognizer that takes 300 ms."""

    def find(self, text: str, language: str | None) -> Iterator[Entity]:
        time.sleep(0.3)
        yield Entity(0, 1, EntityType.PERSON, 0.9)


@pytest.mark.parametrize(
    ("recognizer", "code"), [(Failing(), "pii_detection_failed"), (Slow(), "pii_detection_timeout")]
)
async def test_detection_failure_or_timeout_refuses_the_request(
    tmp_path: Path, recognizer: Failing | Slow, code: str
) -> None:
    settings = privacy_settings(tmp_path, privacy=PrivacySettings(detection_budget_ms=50))
    async with gateway(settings, Detector([recognizer])) as gw:
        key = await gw.key("detect")
        chat = {"model": "chat-fake", "messages": [{"role": "user", "content": CANARY}]}
        requests = [
            ("/v1/chat/completions", chat),
            ("/v1/chat/completions", {**chat, "stream": True}),
            ("/v1/embeddings", {"model": "embed-fake", "input": CANARY}),
            ("/v1/privacy/analyze", {"text": CANARY}),
            ("/v1/privacy/pseudonymize", {"text": CANARY}),
        ]
        for path, body in requests:
            r = await gw.client.post(path, json=body, headers=bearer(key))
            assert r.status_code == 503, r.text
            assert (r.json()["error"]["type"], r.json()["error"]["code"]) == ("privacy_unavailable", code)
        assert gw.backend().calls == []
        assert gw.backend().embedded == []
        assert {e.outcome for e in gw.sink.events if e.action != "admin.use_case.update"} == {"error"}
        # a use case that needs identity on cleared backends runs no detection at all
        off = await gw.key("off", name="identity")
        assert (await gw.chat(off, CANARY)).status_code == 200


async def test_the_admin_api_checks_privacy_fields(gw: Gateway) -> None:
    app_key = gw.provision(use_case="checked")
    admin = gw.provision(use_case="checked-admin", role="admin")
    url = f"/admin/use-cases/{app_key.use_case_id}"
    for changes in (
        {"privacy_policy": "maybe"},
        {"privacy_block_types": ["SHOE_SIZE"]},
        {"privacy_policy": None},
    ):
        r = await gw.client.patch(url, json=changes, headers=bearer(admin.key))
        assert r.status_code == 400, changes
    r = await gw.client.get(url, headers=bearer(admin.key))
    assert (r.json()["privacy_policy"], r.json()["privacy_block_types"]) == ("pseudonymize", [])
