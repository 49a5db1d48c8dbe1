"""A subject's copy of their conversations does not hand over other people's data (GDPR Art. 15(4)): asked
by the person's identifier, the texts keep that identifier and mask every other detected value; asked by
pseudonymous identifier, they are still withheld; and a failing detector fails the export."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from souverain.assistant.conversations import Answer, Owner
from souverain.errors import DetectionError
from souverain.gdpr.redaction import Redactor
from souverain.gdpr.sources import ASSISTANT_TEXTS, ConversationSource
from souverain.gdpr.subject import Subject
from souverain.privacy.detector import Detector
from souverain.privacy.entities import Entity, EntityType
from souverain.privacy.subject_links import Conversation
from souverain.privacy.subjects import SubjectKeys
from tests.gdpr_support import OTHER_EMAIL, Office, open_office
from tests.privacy_support import EMAIL, MATRICULE, PHONE, bearer

KEYS = SubjectKeys(b"a secret of at least thirty-two characters")
MARIE = KEYS.subject_id(EntityType.EMAIL, EMAIL)
MIXED = f"Je suis joignable à {EMAIL}. Mon collègue Jean Muller ({OTHER_EMAIL}, matricule {MATRICULE}) aussi."
MASKED = f"Je suis joignable à {EMAIL}. Mon collègue [PERSON] ([EMAIL], matricule [LU_MATRICULE]) aussi."


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor(Detector(), KEYS)


def test_only_the_subjects_own_identifiers_stay_in_clear(redactor: Redactor) -> None:
    assert redactor.redact(MIXED, [MARIE], "fr") == MASKED
    assert redactor.redact(MIXED, [], "fr") == (
        "Je suis joignable à [EMAIL]. Mon collègue [PERSON] ([EMAIL], matricule [LU_MATRICULE]) aussi."
    )
    # the identifier as the subject wrote it, however it is spelled; a name is masked even if it is theirs
    text = f"Marie Dupont, Marie.Dupont@Example.LU, tél. {PHONE}."
    assert redactor.redact(text, [MARIE], "fr") == "[PERSON], Marie.Dupont@Example.LU, tél. [PHONE]."
    phone = KEYS.subject_id(EntityType.PHONE, "00352621123456")
    assert redactor.redact(text, [phone], "fr") == f"[PERSON], [EMAIL], tél. {PHONE}."
    assert redactor.redact("Voyez la page [1].", [MARIE]) == "Voyez la page [1]."


class Broken:
    def find(self, text: str, language: str | None) -> list[Entity]:
        raise RuntimeError("model file corrupted")


def stored(tenant: str, conversation_id: str, use_case: str | None) -> dict[str, Any]:
    """A conversation record as ``ConversationStore.export_conversation`` writes it."""
    return {
        "conversation_id": conversation_id,
        "language": "fr",
        "messages": [{"role": "user", "content": MIXED, "language": "fr"}],
        "handovers": [{"ticket_id": "t-1", "question": f"Appelez {OTHER_EMAIL}.", "language": "fr"}],
    }


def source(detector: Detector) -> ConversationSource:
    def owner(scope: str) -> tuple[str, str | None]:
        return ("ministry", "assistant")

    return ConversationSource(
        "conversations", stored, lambda *_: 0, owner, Redactor(detector, KEYS), ASSISTANT_TEXTS
    )


def test_the_source_redacts_messages_and_hand_over_questions() -> None:
    conversations = (Conversation(tenant="scope", conversation_id="c-1", handle="h"),)
    [found] = source(Detector()).export(Subject((MARIE,), conversations, by_identifier=True))
    assert found["messages"] == [{"role": "user", "content": MASKED, "language": "fr"}]
    assert found["handovers"] == [{"ticket_id": "t-1", "question": "Appelez [EMAIL].", "language": "fr"}]


def test_a_failing_detector_fails_the_export_rather_than_show_the_text() -> None:
    conversations = (Conversation(tenant="scope", conversation_id="c-1", handle="h"),)
    broken = source(Detector([Broken()]))
    with pytest.raises(DetectionError):
        broken.export(Subject((MARIE,), conversations, by_identifier=True))
    [withheld] = broken.export(Subject((MARIE,), conversations))  # no text to redact: nothing to detect
    assert (withheld["messages"], withheld["handovers"]) == (1, 1)


@pytest.fixture
async def office(tmp_path: Path) -> AsyncIterator[Office]:
    async with open_office(tmp_path) as opened:
        yield opened


@pytest.mark.anyio
async def test_an_export_by_identifier_masks_the_other_people_of_the_conversation(office: Office) -> None:
    await office.converse("conv-r", f"Mon adresse est {EMAIL}.")
    store = office.gateway.services.assistant.conversations
    held = store.open(Owner("ministry", "assistant", 30), "conv-r", "fr")
    store.add_exchange(held, MIXED, "fr", Answer(f"Écrivez à {OTHER_EMAIL} [1].", [], grounded=True))

    found = await office.export(EMAIL)
    [conversation] = found["stores"]["conversations"]
    assert [m["content"] for m in conversation["messages"]] == [MASKED, "Écrivez à [EMAIL] [1]."]
    text = str(found)
    assert EMAIL in text
    for other in (OTHER_EMAIL, MATRICULE, "Jean Muller"):
        assert other not in text

    [subject] = found["subject_ids"]
    [withheld] = (await office.export(subject))["stores"]["conversations"]
    assert (withheld["messages"], withheld["content"]) == (2, "withheld: ask with the person's identifier")
    assert EMAIL not in str(withheld)


@pytest.mark.anyio
async def test_each_person_of_a_hand_over_question_gets_their_own_value_only(office: Office) -> None:
    question = f"Écrivez-moi à {EMAIL}, ou à mon conseiller {OTHER_EMAIL}."
    body = {"conversation_id": "conv-h", "language": "fr", "question": question}
    r = await office.gateway.client.post("/v1/assistant/handover", json=body, headers=bearer(office.app_key))
    assert r.status_code == 201, r.text
    for person, other in ((EMAIL, OTHER_EMAIL), (OTHER_EMAIL, EMAIL)):
        [conversation] = (await office.export(person))["stores"]["conversations"]
        [ticket] = conversation["handovers"]
        assert ticket["question"] == question.replace(other, "[EMAIL]")
