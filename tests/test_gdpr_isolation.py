"""Subject access and erasure reach one person only: an export holds the person's own values (none at all
when asked by pseudonymous identifier), a request id chosen by clients never joins another tenant's or use
case's records, and erasing one person of a shared conversation leaves the others' events, values and usage
where their own requests find them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from souverain.assistant.conversations import Answer, Owner
from souverain.audit.retained import RETAINED
from souverain.governance.models import UsageRecord
from tests.gdpr_support import OTHER_EMAIL, Office, open_office
from tests.privacy_support import EMAIL, IBAN, MATRICULE, bearer

pytestmark = pytest.mark.anyio


@pytest.fixture
async def office(tmp_path: Path) -> AsyncIterator[Office]:
    async with open_office(tmp_path) as opened:
        yield opened


async def test_an_export_holds_the_persons_own_values_and_no_one_elses(office: Office) -> None:
    await office.converse("conv-both", f"Matricule {MATRICULE}, IBAN {IBAN}, écrire à {OTHER_EMAIL}.")
    marie = (await office.export(MATRICULE))["subject_ids"]
    jean = await office.export(OTHER_EMAIL)
    [vault] = jean["stores"]["vaults"]
    assert vault["entries"] == [{"placeholder": "<EMAIL_1>", "type": "EMAIL", "value": OTHER_EMAIL}]
    [event] = [e for e in jean["stores"]["audit_events"] if e["action"] == "chat.completion"]
    assert event["subject"] == " ".join(jean["subject_ids"])  # not the other people of the request
    text = str(jean)
    for other in (MATRICULE, IBAN, IBAN.replace(" ", ""), *marie):
        assert other not in text


async def test_an_export_by_pseudonymous_identifier_holds_no_clear_value(office: Office) -> None:
    await office.converse("conv-marie", f"Mon adresse est {EMAIL}.")
    store = office.gateway.services.assistant.conversations
    ref = store.open(Owner("ministry", "assistant", 30), "conv-marie", "fr")
    store.add_exchange(ref, f"Mon adresse est {EMAIL}.", "fr", Answer("Voir [1].", [], grounded=True))
    [subject] = (await office.export(EMAIL))["subject_ids"]
    for caller in (office.auditor, office.admin):  # as taken from the trail: no way back to the person
        found = await office.export(subject, caller)
        counts = found["counts"]
        assert (counts["vaults"], counts["usage"], counts["conversations"]) == (1, 1, 1)
        assert found["stores"]["audit_events"][0]["action"] == "chat.completion"
        assert found["stores"]["vaults"][0]["entries"] == [{"placeholder": "<EMAIL_1>", "type": "EMAIL"}]
        [conversation] = found["stores"]["conversations"]
        assert (conversation["messages"], conversation["handovers"]) == (2, 0)
        assert EMAIL not in str(found)


async def test_a_client_chosen_request_id_never_joins_another_tenants_or_use_cases_records(
    office: Office,
) -> None:
    same = {"X-Request-Id": "portal-1"}
    mine = await office.converse("conv-marie", f"Mon adresse est {EMAIL}.", **same)
    assert mine == "portal-1"
    others = [office.gateway.provision(tenant="other", use_case="x"), office.gateway.provision(use_case="y")]
    for other in others:
        body = {"model": "embed-fake", "input": ["bonjour"]}
        headers = {**bearer(other.key), **same}
        assert (
            await office.gateway.client.post("/v1/embeddings", json=body, headers=headers)
        ).status_code == 200
    await office.gateway.services.usage.flush()

    found = await office.export(EMAIL)
    assert [(u["tenant"], u["use_case"]) for u in found["stores"]["usage"]] == [("ministry", "assistant")]
    assert (await office.erase(EMAIL))["removed"]["usage"] == 1
    with office.gateway.services.database.sessions() as session:
        left = session.scalars(select(UsageRecord.use_case).where(UsageRecord.request_id == "portal-1")).all()
    assert sorted(str(use_case) for use_case in left) == ["x", "y"]


async def test_erasing_one_person_leaves_the_others_of_a_shared_conversation(office: Office) -> None:
    shared = await office.converse("conv-both", f"Matricule {MATRICULE}, écrire à {OTHER_EMAIL}.")
    await office.converse("conv-both", f"Et aussi à {EMAIL}.")
    erased = await office.erase(MATRICULE)
    assert erased["removed"] == {"vaults": 1, "usage": 0, "conversations": 0}
    assert office.trail_intact()
    assert (await office.export(MATRICULE))["counts"] == {
        "audit_events": 0,
        "vaults": 0,
        "usage": 0,
        "conversations": 0,
    }
    # the other person's events, value and usage are still theirs to ask for
    jean = await office.export(OTHER_EMAIL)
    assert [e["request_id"] for e in jean["stores"]["audit_events"] if e["action"] == "chat.completion"] == [
        shared
    ]
    assert [u["request_id"] for u in jean["stores"]["usage"]] == [shared]
    [vault] = jean["stores"]["vaults"]
    assert [e["value"] for e in vault["entries"]] == [OTHER_EMAIL]
    assert [e["value"] for e in (await office.export(EMAIL))["stores"]["vaults"][0]["entries"]] == [EMAIL]
    # then their own erasure reaches the event kept for them, and the trail still verifies
    assert (await office.erase(OTHER_EMAIL))["audit_events"] >= 2
    assert (await office.export(OTHER_EMAIL))["counts"]["audit_events"] == 0
    assert office.trail_intact()
    with office.gateway.services.database.engine.connect() as c:
        assert c.scalar(select(func.count()).select_from(RETAINED)) == 0


async def test_a_pseudonymized_text_is_found_and_erased_for_its_subject(office: Office) -> None:
    body = {"text": f"Écrire à {EMAIL}.", "conversation_id": "p-1"}
    r = await office.gateway.client.post(
        "/v1/privacy/pseudonymize", json=body, headers=bearer(office.app_key)
    )
    assert r.status_code == 200, r.text
    found = await office.export(EMAIL)
    assert [e["action"] for e in found["stores"]["audit_events"]][:1] == ["privacy.pseudonymize"]
    assert found["stores"]["vaults"] == [
        {"conversation_id": "p-1", "entries": [{"placeholder": "<EMAIL_1>", "type": "EMAIL", "value": EMAIL}]}
    ]
    assert (await office.erase(EMAIL))["removed"]["vaults"] == 1
    assert office.gateway.services.vault.count() == 0


async def test_a_hand_over_ticket_is_found_and_erased_with_its_subject(office: Office) -> None:
    question = f"Pouvez-vous m'aider ? Écrivez-moi à {EMAIL}."
    body = {"conversation_id": "conv-h", "language": "fr", "question": question}
    r = await office.gateway.client.post("/v1/assistant/handover", json=body, headers=bearer(office.app_key))
    assert r.status_code == 201, r.text
    found = await office.export(EMAIL)
    [conversation] = found["stores"]["conversations"]
    assert [t["question"] for t in conversation["handovers"]] == [question]  # staff still read it
    assert found["stores"]["audit_events"][0]["action"] == "assistant.handover"
    with office.gateway.services.database.engine.connect() as c:
        trail = c.exec_driver_sql("SELECT * FROM audit_events").all()
    assert EMAIL not in str(trail)

    assert (await office.erase(EMAIL))["removed"]["conversations"] == 2  # the conversation and its ticket
    r = await office.gateway.client.get("/admin/handovers", headers=office.admin)
    assert r.json()["data"] == []


async def test_another_use_cases_conversation_of_the_same_id_is_not_exported(office: Office) -> None:
    store = office.gateway.services.assistant.conversations
    theirs = store.open(Owner("ministry", "other-use-case", 30), "conv-x", "fr")
    store.add_exchange(theirs, "Leur question", "fr", Answer("Leur réponse", [], grounded=True))
    await office.converse("conv-x", f"Mon adresse est {EMAIL}.")  # the same id, from another use case
    found = await office.export(EMAIL)
    assert (found["counts"]["vaults"], found["counts"]["conversations"]) == (1, 0)
    assert (await office.erase(EMAIL))["removed"]["conversations"] == 0
    assert store.export_conversation("ministry", "conv-x") is not None


async def test_an_erasure_right_after_a_request_reaches_its_queued_usage_record(office: Office) -> None:
    r = await office.gateway.chat(office.app_key, f"Mon adresse est {EMAIL}.")  # usage still queued
    assert r.status_code == 200, r.text
    assert (await office.erase(EMAIL))["removed"]["usage"] == 1
