"""Subject access and erasure through the real app: a person is found by matricule, e-mail or subject id
in every store (audit events, vaults, usage), erased from all of them while the trail still verifies, and
the erased values are nowhere in the database files; other people's data stays."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from souverain.assistant.conversations import Answer, Owner
from souverain.audit.checkpoints import stored_checkpoints
from souverain.audit.models import EVENTS
from souverain.audit.verify import verify
from souverain.errors import InvalidRequest
from souverain.gdpr.subject import subject_ids
from souverain.privacy.detector import Detector
from souverain.privacy.entities import EntityType
from souverain.privacy.subjects import SubjectKeys, event_subject
from tests.gdpr_support import OTHER_EMAIL, Office, open_office
from tests.privacy_support import EMAIL, MATRICULE, bearer

pytestmark = pytest.mark.anyio
KEYS = SubjectKeys(b"a secret of at least thirty-two characters")


def test_one_identifier_has_one_subject_id_however_it_is_written() -> None:
    matricule = KEYS.subject_id(EntityType.LU_MATRICULE, "1893 1201 05732")
    assert matricule == KEYS.subject_id(EntityType.LU_MATRICULE, MATRICULE)
    assert KEYS.subject_id(EntityType.EMAIL, "Marie.Dupont@Example.LU") == KEYS.subject_id(
        EntityType.EMAIL, EMAIL
    )
    assert matricule.startswith("subj_")
    assert MATRICULE not in matricule
    assert matricule != SubjectKeys(b"another secret of thirty-two chars!!").subject_id(
        EntityType.LU_MATRICULE, MATRICULE
    )
    assert KEYS.subjects_of([("Marie Dupont", EntityType.PERSON)]) == []  # a name alone identifies nobody
    assert event_subject([]) is None


def test_a_request_names_a_subject_by_identifier_or_is_refused() -> None:
    detector = Detector()
    [by_matricule] = subject_ids(MATRICULE, KEYS, detector)
    assert subject_ids(by_matricule, KEYS, detector) == [by_matricule]
    assert subject_ids(f"  {EMAIL} ", KEYS, detector) == [KEYS.subject_id(EntityType.EMAIL, EMAIL)]
    for nobody in ("hello", "1893120105733", "", f"{MATRICULE} and more words"):
        with pytest.raises(InvalidRequest):
            subject_ids(nobody, KEYS, detector)


@pytest.fixture
async def office(tmp_path: Path) -> AsyncIterator[Office]:
    async with open_office(tmp_path) as opened:
        yield opened


def _database_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


async def test_access_request_finds_the_person_in_every_store(office: Office) -> None:
    marie = await office.converse("conv-marie", f"Mon matricule est {MATRICULE}, écrivez à {EMAIL}.")
    await office.converse("conv-jean", f"Mon adresse est {OTHER_EMAIL}.")
    await office.gateway.services.usage.flush()

    found = await office.export(MATRICULE)
    stores = found["stores"]
    assert [e["request_id"] for e in stores["audit_events"]] == [marie]
    assert [u["request_id"] for u in stores["usage"]] == [marie]
    [vault] = stores["vaults"]
    assert vault["conversation_id"] == "conv-marie"
    # the values of the identifier given, not the other values of the conversation
    assert [(e["type"], e["value"]) for e in vault["entries"]] == [("LU_MATRICULE", MATRICULE)]
    # the same request is found from the e-mail address, and from the pseudonymous identifier
    by_email = await office.export(EMAIL)
    assert [e["request_id"] for e in by_email["stores"]["audit_events"]] == [marie]
    [subject] = found["subject_ids"]
    by_id = await office.export(subject, office.auditor)
    assert next(e["request_id"] for e in by_id["stores"]["audit_events"]) == marie
    # the export itself is in the trail, with the subject, and leaves the clear identifier out
    with office.gateway.services.database.engine.connect() as c:
        exports = c.execute(select(EVENTS.c.subject).where(EVENTS.c.action == "gdpr.export")).scalars().all()
    email_subject = by_email["subject_ids"][0]
    assert exports == [subject, email_subject, subject]
    assert MATRICULE.encode() not in _database_bytes(office.data_file)


async def test_only_admins_name_a_person_and_only_admins_erase(office: Office) -> None:
    client = office.gateway.client
    app = bearer(office.app_key)
    assert (await client.post("/admin/gdpr/export", json={"subject": EMAIL}, headers=app)).status_code == 403
    r = await client.post("/admin/gdpr/erase", json={"subject": EMAIL}, headers=office.auditor)
    assert r.status_code == 403
    # an auditor reads the trail: by pseudonymous identifier only, never by naming the person
    r = await client.post("/admin/gdpr/export", json={"subject": EMAIL}, headers=office.auditor)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "insufficient_role"
    subject = KEYS.subject_id(EntityType.EMAIL, EMAIL)  # a well-formed identifier (of another key)
    r = await client.post("/admin/gdpr/export", json={"subject": subject}, headers=office.auditor)
    assert r.status_code == 200, r.text
    r = await client.post("/admin/gdpr/export", json={"subject": "nobody"}, headers=office.admin)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "unknown_subject"


async def test_erasure_removes_the_person_everywhere_and_the_trail_still_verifies(office: Office) -> None:
    marie = await office.converse("conv-marie", f"Mon matricule est {MATRICULE}, écrivez à {EMAIL}.")
    jean = await office.converse("conv-jean", f"Mon adresse est {OTHER_EMAIL}.")
    await office.gateway.services.usage.flush()
    [subject] = (await office.export(MATRICULE))["subject_ids"]

    r = await office.gateway.client.post(
        "/admin/gdpr/erase", json={"subject": MATRICULE}, headers=office.admin
    )
    assert r.status_code == 200, r.text
    erasure = r.json()
    # the request named the e-mail address's subject too: its usage record and vault entry stay for it
    assert erasure["removed"] == {"vaults": 1, "usage": 0, "conversations": 0}
    assert erasure["audit_events"] == 2  # the chat completion and the export
    r = await office.gateway.client.post("/admin/gdpr/erase", json={"subject": EMAIL}, headers=office.admin)
    assert r.json()["removed"] == {"vaults": 1, "usage": 1, "conversations": 0}

    store = office.gateway.services.audit
    assert store is not None
    assert verify(store.store, stored_checkpoints(store.store)).intact
    with store.store.database.engine.connect() as c:
        row = c.execute(
            select(EVENTS.c.subject, EVENTS.c.purged_at).where(EVENTS.c.request_id == marie)
        ).one()
        erasures = c.execute(select(EVENTS.c.details).where(EVENTS.c.action == "gdpr.erase")).scalars().all()
    assert row.subject is None
    assert row.purged_at is not None
    assert all(erase["cleared_seq_ranges"] for erase in erasures)
    assert MATRICULE not in str(erasures)
    files = _database_bytes(office.data_file)
    for value in (MATRICULE, EMAIL, subject):
        assert value.encode() not in files, value
    for identifier in (MATRICULE, EMAIL):
        after = await office.export(identifier)
        assert after["counts"] == {"audit_events": 0, "vaults": 0, "usage": 0, "conversations": 0}
    # the other person is untouched
    jean_export = await office.export(OTHER_EMAIL)
    assert [e["request_id"] for e in jean_export["stores"]["audit_events"]] == [jean]
    assert jean_export["counts"]["vaults"] == 1


async def test_the_assistants_stored_conversation_is_exported_and_erased(office: Office) -> None:
    await office.converse("conv-marie", f"Mon matricule est {MATRICULE}.")
    store = office.gateway.services.assistant.conversations
    ref = store.open(Owner("ministry", "assistant", 30), "conv-marie", "fr")
    store.add_exchange(ref, f"Mon matricule est {MATRICULE}.", "fr", Answer("Voir [1].", [], grounded=True))
    other = store.open(Owner("ministry", "assistant", 30), "conv-other", "fr")
    store.add_exchange(other, "Bonjour", "fr", Answer("Bonjour.", [], grounded=False))

    found = await office.export(MATRICULE)
    [conversation] = found["stores"]["conversations"]
    assert MATRICULE in str(conversation)
    r = await office.gateway.client.post(
        "/admin/gdpr/erase", json={"subject": MATRICULE}, headers=office.admin
    )
    assert r.status_code == 200, r.text
    assert r.json()["removed"]["conversations"] >= 3  # the conversation and its two messages
    assert store.export_conversation("ministry", "conv-marie") is None
    assert store.export_conversation("ministry", "conv-other") is not None
    assert MATRICULE.encode() not in _database_bytes(office.data_file)
