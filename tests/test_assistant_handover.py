"""Hand-over to a person: a ticket per request, in the staff queue for admin, operator and auditor keys."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.fakes.assistant_gateway import AssistantGateway, assistant_gateway
from tests.fakes.retriever import FakeCollection, FakeRetriever
from tests.fakes.upstream import FakeUpstream

pytestmark = pytest.mark.anyio


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as server:
        yield server


@pytest.fixture
async def gw(tmp_path: Path, upstream: FakeUpstream) -> AsyncIterator[AssistantGateway]:
    async with assistant_gateway(
        tmp_path, upstream, FakeRetriever([FakeCollection("ministry", "fiches")])
    ) as g:
        yield g


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_a_refusal_offers_a_person_and_the_hand_over_lands_in_the_staff_queue(
    gw: AssistantGateway,
) -> None:
    app = gw.provision()
    question = "Mon fils a perdu sa carte d'identité au Japon, que faire ?"
    reply = (await gw.chat(app.key, message=question, language="fr")).json()
    assert reply["handover_offered"] is True  # the (empty) collection does not answer
    body = {"conversation_id": reply["conversation_id"], "language": "fr", "question": question}
    r = await gw.client.post("/v1/assistant/handover", json=body, headers=_auth(app.key))
    assert r.status_code == 201, r.text
    ticket = r.json()
    assert ticket["status"] == "open"
    assert ticket["ticket_id"].startswith("ho-")
    assert "agent" in ticket["message"]
    for role, use_case in [("admin", "staff-a"), ("operator", "staff-o"), ("auditor", "staff-u")]:
        staff = gw.provision(role=role, use_case=use_case)
        r = await gw.client.get("/admin/handovers", params={"status": "open"}, headers=_auth(staff.key))
        assert r.status_code == 200, (role, r.text)
        [listed] = r.json()["data"]
        assert listed["ticket_id"] == ticket["ticket_id"]
        assert (listed["conversation_id"], listed["language"], listed["question"]) == (
            reply["conversation_id"],
            "fr",
            question if role != "auditor" else None,  # the person's words are for the staff who answer
        )
        assert (listed["tenant"], listed["use_case"], listed["status"]) == ("ministry", "assistant", "open")
    [handover] = [e for e in gw.sink.events if e.action == "assistant.handover"]
    assert handover.status == 201  # as the response
    assert all(question not in repr(e) for e in gw.sink.events)  # events carry no content


async def test_the_staff_queue_is_forbidden_to_an_app_key(gw: AssistantGateway) -> None:
    app = gw.provision()
    r = await gw.client.get("/admin/handovers", headers=_auth(app.key))
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "insufficient_role"
    assert (await gw.client.get("/admin/handovers")).status_code == 401


async def test_staff_of_another_tenant_do_not_see_the_tickets(gw: AssistantGateway) -> None:
    app = gw.provision()
    body = {"conversation_id": "conv-x", "language": "de", "question": "Ich brauche Hilfe."}
    assert (
        await gw.client.post("/v1/assistant/handover", json=body, headers=_auth(app.key))
    ).status_code == 201
    other = gw.provision(tenant="other-ministry", use_case="staff", role="operator")
    r = await gw.client.get("/admin/handovers", headers=_auth(other.key))
    assert r.json()["data"] == []
    own = gw.provision(use_case="staff", role="operator")
    r = await gw.client.get("/admin/handovers", headers=_auth(own.key))
    assert [t["conversation_id"] for t in r.json()["data"]] == ["conv-x"]
    r = await gw.client.get("/admin/handovers", params={"status": "closed"}, headers=_auth(own.key))
    assert r.json()["data"] == []
    r = await gw.client.get("/admin/handovers", params={"status": "lost"}, headers=_auth(own.key))
    assert r.status_code == 400


async def test_a_hand_over_needs_a_question_and_a_known_language(gw: AssistantGateway) -> None:
    app = gw.provision()
    for body in [{"language": "fr"}, {"question": "Aide", "language": "it"}, {"question": ""}]:
        r = await gw.client.post("/v1/assistant/handover", json=body, headers=_auth(app.key))
        assert r.status_code == 400, body


async def test_the_citizen_page_asks_and_hands_over_without_a_key(
    tmp_path: Path, upstream: FakeUpstream
) -> None:
    retriever = FakeRetriever([FakeCollection("ministry", "fiches")])
    async with assistant_gateway(tmp_path, upstream, retriever, public_use_case="ministry/assistant") as gw:
        r = await gw.client.post("/v1/assistant/chat", json={"message": "Bonjour ?"})
        assert r.status_code == 401  # configured, but not registered yet: no keyless access at all
        gw.provision()  # registers ministry/assistant
        reply = (
            await gw.client.post("/v1/assistant/chat", json={"message": "Mon fils a perdu sa carte"})
        ).json()
        assert reply["notice"] == "Vous échangez avec une IA."
        body = {"conversation_id": reply["conversation_id"], "language": "fr", "question": "Aidez-moi"}
        assert (await gw.client.post("/v1/assistant/handover", json=body)).status_code == 201
        assert (await gw.client.get("/admin/handovers")).status_code == 401  # the queue always needs a key
        staff = gw.provision(role="operator", use_case="staff")
        [ticket] = (await gw.client.get("/admin/handovers", headers=_auth(staff.key))).json()["data"]
        assert (ticket["tenant"], ticket["use_case"], ticket["question"]) == (
            "ministry",
            "assistant",
            "Aidez-moi",
        )
        [event] = [e for e in gw.sink.events if e.action == "assistant.handover"]
        assert event.actor == "public-page"


def test_the_refusal_names_the_office_in_correct_grammar() -> None:
    from souverain.assistant.refusal import Refusals

    refusals = Refusals()
    assert "Adressez-vous au guichet ou au service d'assistance" in refusals.not_answered("fr")
    assert " à le " not in refusals.not_answered("fr")
    assert "Wenden Sie sich bitte an den Schalter" in refusals.not_answered("de")
    custom = Refusals({"fr": "à la mairie de votre commune"})
    assert "Adressez-vous à la mairie de votre commune." in custom.not_answered("fr")
