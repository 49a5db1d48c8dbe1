"""POST /v1/assistant/chat through the real application: grounded answers with checked citations,
refusals with a person offered, the AI notice, conversations, and the gateway's governance on the model call.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from souverain.assistant import translation
from souverain.assistant.models import Conversation
from souverain.assistant.prompt import NO_ANSWER, SYSTEM_PROMPT
from souverain.assistant.refusal import Refusals
from souverain.assistant.service import AssistantOptions
from tests.fakes.assistant_gateway import AssistantGateway, assistant_gateway
from tests.fakes.retriever import FakeCollection, FakeRetriever, passage
from tests.fakes.upstream import FakeUpstream

pytestmark = pytest.mark.anyio

QUESTION = "Mon fils a perdu sa carte d'identité à l'étranger, que faire ?"
PAGES = [
    passage(
        "fiches",
        "F1234",
        "Carte d'identité perdue à l'étranger",
        "En cas de perte de la carte d'identité à l'étranger, faites une déclaration de perte au consulat.",
    ),
    passage(
        "fiches", "F5678", "Passeport", "Le passeport d'un enfant perdu à l'étranger se demande au consulat."
    ),
    passage("fiches", "F9999", "Permis de conduire", "Le permis de conduire se renouvelle en ligne."),
]


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream(reply="Déclarez la perte au consulat [1].") as server:
        yield server


@pytest.fixture
def retriever() -> FakeRetriever:
    return FakeRetriever(
        [
            FakeCollection("ministry", "fiches", hits=PAGES),
            FakeCollection(
                "other-ministry", "secret-notes", hits=[passage("secret-notes", "X1", "Perte", "perte")]
            ),
        ]
    )


@pytest.fixture
async def gw(
    tmp_path: Path, upstream: FakeUpstream, retriever: FakeRetriever
) -> AsyncIterator[AssistantGateway]:
    async with assistant_gateway(tmp_path, upstream, retriever) as gateway:
        yield gateway


async def test_a_grounded_answer_cites_retrieved_pages(
    gw: AssistantGateway, retriever: FakeRetriever
) -> None:
    key = gw.provision()
    gw.upstream.reply = "Faites une déclaration de perte au consulat [1]. Un passeport se demande aussi [2]."
    r = await gw.chat(key.key, message=QUESTION, language="fr")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["answer"] == gw.upstream.reply
    assert body["grounded"] is True
    assert body["handover_offered"] is False
    assert body["language"] == "fr"
    assert body["citations"] == [
        {"n": 1, "document_id": "F1234", "chunk_id": "F1234#0", "title": PAGES[0].title, "url": PAGES[0].url},
        {"n": 2, "document_id": "F5678", "chunk_id": "F5678#0", "title": PAGES[1].title, "url": PAGES[1].url},
    ]
    assert body["provenance"]["model"] == "chat-fake"  # the upstream's name for the served model
    assert body["provenance"]["created"] > 0
    assert body["conversation_id"]
    [(scope, request)] = retriever.searches
    assert (scope.tenant, scope.use_case, scope.classification) == ("ministry", "assistant", "internal")
    assert request.query == QUESTION
    assert request.language == "fr"  # the question's language weighs the two sides of the search
    assert request.context_chars > 0  # passages come with the rest of their section for the excerpt
    prompt = gw.last_prompt()
    assert prompt[0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert "<<<SOURCE 1>>>\nCarte d'identité perdue à l'étranger" in prompt[-1]["content"]


async def test_invalid_citations_are_removed(gw: AssistantGateway) -> None:
    key = gw.provision()
    gw.upstream.reply = "Déclarez la perte au consulat [1] [7]. Voir aussi la mairie [12]."
    body = (await gw.chat(key.key, message=QUESTION)).json()
    assert body["answer"] == "Déclarez la perte au consulat [1]. Voir aussi la mairie."
    assert [c["n"] for c in body["citations"]] == [1]
    assert body["grounded"] is True


LOOP = (
    "[1] Carte d'identité perdue à l'étranger\n[2] Passeport\n[1] Carte d'identité perdue à l'étranger\n[1]"
)
STUCK = "Allez au consulat [1]. " + "Il faut aller au consulat. " * 3
REASONS = {NO_ANSWER: "no_answer", LOOP: "no_substance", STUCK: "no_substance"}


@pytest.mark.parametrize("reply", ["Allez à la mairie [9].", "Allez à la mairie.", NO_ANSWER, LOOP, STUCK])
async def test_an_answer_without_a_valid_citation_is_refused_and_a_person_offered(
    gw: AssistantGateway, reply: str
) -> None:
    key = gw.provision()
    gw.upstream.reply = reply
    body = (await gw.chat(key.key, message=QUESTION, language="fr")).json()
    assert body["grounded"] is False
    assert body["handover_offered"] is True
    assert body["citations"] == []
    assert body["answer"] == Refusals().not_answered("fr")
    assert "mairie" not in body["answer"]
    [event] = [e for e in gw.sink.events if e.action == "assistant.chat"]
    assert event.details["grounded"] is False
    assert event.details["reason"] == REASONS.get(reply, "no_valid_citation")


async def test_low_retrieval_confidence_refuses_without_calling_the_model(gw: AssistantGateway) -> None:
    key = gw.provision()
    body = (await gw.chat(key.key, message="Quel temps fera-t-il demain ?", language="de")).json()
    assert body["grounded"] is False
    assert body["handover_offered"] is True
    assert body["answer"] == Refusals().not_answered("de")
    assert body["provenance"]["model"] is None  # a fixed text, not generated
    assert gw.upstream.count() == 0
    assert gw.actions() == ["assistant.chat"]
    assert gw.sink.events[0].details["reason"] == "low_confidence"


async def test_a_question_naming_what_no_source_mentions_is_refused_without_the_model(
    gw: AssistantGateway,
) -> None:
    key = gw.provision()
    question = "Mon fils a perdu sa carte d'identité à Strasbourg, que faire ?"
    body = (await gw.chat(key.key, message=question, language="fr")).json()
    assert (body["grounded"], body["handover_offered"]) == (False, True)
    assert gw.upstream.count() == 0
    assert gw.sink.events[0].details["reason"] == "low_confidence"
    # towns are not checked in German (every German noun is capitalised): the model answers
    german = "Mein Sohn hat seinen Ausweis in Straßburg verloren, was tun? carte identité perte"
    assert (await gw.chat(key.key, message=german, language="de")).json()["grounded"] is True
    assert gw.upstream.count() == 1


async def test_a_country_is_checked_in_every_language_and_covered_by_a_page_about_abroad(
    gw: AssistantGateway, retriever: FakeRetriever
) -> None:
    key = gw.provision()
    allowances = passage(
        "fiches", "F13213", "Allocations familiales", "Les allocations familiales sont versées par la Caf."
    )
    retriever.collections[0].hits.append(allowances)
    german = "Wie hoch ist das Kindergeld in Deutschland? allocations familiales"
    body = (await gw.chat(key.key, message=german, language="de")).json()
    assert (body["grounded"], body["handover_offered"]) == (False, True)
    assert gw.upstream.count() == 0
    # a source names Germany, but the answer cites another: refused after the model has answered
    frontier = passage("fiches", "F1", "Travail en Allemagne", "Frontaliers : les allocations en Allemagne.")
    retriever.collections[0].hits.append(frontier)
    gw.upstream.reply = "Les allocations familiales sont versées par la Caf [1]."
    body = (await gw.chat(key.key, message=german, language="de")).json()
    assert (body["grounded"], gw.upstream.count()) == (False, 1)
    answers = [event for event in gw.sink.events if event.action == "assistant.chat"]
    assert answers[-1].details["reason"] == "name_not_in_cited_sources"
    retriever.collections[0].hits.remove(frontier)
    # the pages' own country is named by every page: never missing
    french = "Montant des allocations familiales en France ?"
    assert (await gw.chat(key.key, message=french, language="fr")).json()["grounded"] is True
    # a loss in Spain is a loss abroad: the page on a loss "à l'étranger" answers it, naming no country
    spain = "My son lost his ID in Spain, what now? carte identité perte"
    gw.upstream.reply = "Déclarez la perte au consulat [1]."
    assert (await gw.chat(key.key, message=spain, language="en")).json()["grounded"] is True
    assert gw.upstream.count() == 3


async def test_a_question_from_abroad_reads_the_section_about_abroad_first(
    gw: AssistantGateway, retriever: FakeRetriever
) -> None:
    key = gw.provision()
    papers = passage("fiches", "F31421", "Carte d'identité perdue", "Déclarez la perte au commissariat.")
    stamp = passage("fiches", "F33805", "Carte d'identité perdue : timbre", "Le timbre coûte 25 €.")
    minor = passage("fiches", "F1342", "Carte d'identité d'un mineur perdue", "En mairie.")
    abroad = passage("fiches", "F1153", "Consulat", "Carte : allez au consulat.", "À l'étranger")
    # the section on a loss abroad is retrieved fourth: it would not be among the three sources
    retriever.collections[0].hits[:] = [papers, stamp, minor, abroad]
    gw.upstream.reply = "Allez au consulat [1]."
    body = (await gw.chat(key.key, message="Carte d'identité perdue en Espagne ?", language="fr")).json()
    assert body["citations"][0]["document_id"] == "F1153"
    prompt = gw.last_prompt()[-1]["content"]
    assert prompt.index("consulat") < prompt.index("commissariat")
    # the same sources for a question asked at home keep their retrieved order
    body = (await gw.chat(key.key, message="Carte d'identité perdue ?", language="fr")).json()
    assert body["citations"][0]["document_id"] == "F31421"


async def test_a_town_only_an_uncited_source_mentions_makes_the_answer_ungrounded(
    gw: AssistantGateway, retriever: FakeRetriever
) -> None:
    key = gw.provision()
    court = "La Cour européenne siège à Strasbourg : horaires d'audience."
    retriever.collections[0].hits.append(passage("fiches", "F2", "Cour européenne", court))
    question = "Quels sont les horaires de la mairie de Strasbourg ?"
    gw.upstream.reply = "Les horaires sont affichés en mairie [1]."  # cites the page on elections
    elections = "Les horaires du bureau de vote : la mairie fixe les horaires."
    retriever.collections[0].hits.insert(0, passage("fiches", "F3", "Élections", elections))
    body = (await gw.chat(key.key, message=question, language="fr")).json()
    assert gw.upstream.count() == 1  # Strasbourg was among the sources: the model was asked
    assert (body["grounded"], body["handover_offered"]) == (False, True)
    answers = [event for event in gw.sink.events if event.action == "assistant.chat"]
    assert answers[0].details["reason"] == "name_not_in_cited_sources"
    # citing the source that names Strasbourg is grounded
    gw.upstream.reply = "La Cour siège à Strasbourg [2]."
    assert (await gw.chat(key.key, message=question, language="fr")).json()["grounded"] is True


async def test_the_name_checks_can_be_turned_off(
    tmp_path: Path, upstream: FakeUpstream, retriever: FakeRetriever
) -> None:
    court = "La Cour européenne siège à Strasbourg : horaires d'audience."
    elections = "Les horaires du bureau de vote : la mairie fixe les horaires."
    retriever.collections[0].hits[:] = [
        passage("fiches", "F3", "Élections", elections),
        passage("fiches", "F2", "Cour européenne", court),
    ]
    options = AssistantOptions(model="chat-fake", name_check_languages=())
    async with assistant_gateway(tmp_path, upstream, retriever, options) as gw:
        key = gw.provision()
        upstream.reply = "Les horaires sont affichés en mairie [1]."
        towns = "Quels sont les horaires de la mairie de Strasbourg ?"  # only the uncited source names it
        assert (await gw.chat(key.key, message=towns, language="fr")).json()["grounded"] is True
        countries = "Horaires de la mairie en Allemagne ?"  # no source names Germany
        assert (await gw.chat(key.key, message=countries, language="fr")).json()["grounded"] is True
        assert upstream.count() == 2


async def test_the_notice_comes_with_the_first_answer_only(gw: AssistantGateway) -> None:
    key = gw.provision()
    first = (await gw.chat(key.key, message=QUESTION, language="de")).json()
    assert first["notice"] == "Sie sprechen mit einer KI."
    conversation = first["conversation_id"]
    second = (
        await gw.chat(key.key, message="Und der Pass?", language="de", conversation_id=conversation)
    ).json()
    assert second["conversation_id"] == conversation
    assert second["notice"] is None
    other = (await gw.chat(key.key, message=QUESTION, language="lb", conversation_id="conv-new-1")).json()
    assert other["notice"] == "Dir schwätzt mat enger KI."


async def test_a_follow_up_sees_the_previous_exchange(gw: AssistantGateway, retriever: FakeRetriever) -> None:
    key = gw.provision()
    first = (await gw.chat(key.key, message=QUESTION, conversation_id="c-follow")).json()
    gw.upstream.reply = "Un passeport se demande au consulat [1]."
    await gw.chat(key.key, message="Et le passeport ?", conversation_id="c-follow")
    prompt = gw.last_prompt()
    assert [m["role"] for m in prompt] == ["system", "user", "assistant", "user"]
    assert prompt[1]["content"] == QUESTION
    assert prompt[2]["content"] == first["answer"].replace(" [1]", "")  # earlier sources are gone
    assert retriever.searches[-1][1].query == f"{QUESTION} Et le passeport ?"  # a short follow-up


async def test_the_answer_language_is_asked_of_the_model(gw: AssistantGateway) -> None:
    key = gw.provision()
    for language, name in [("de", "german"), ("en", "english"), ("lb", "luxembourgish"), ("fr", "french")]:
        await gw.chat(key.key, message=QUESTION, language=language)
        assert f"Question (answer in {name}): {QUESTION}" in gw.last_prompt()[-1]["content"]
    r = await gw.chat(key.key, message=QUESTION, language="es")
    assert r.status_code == 400
    assert r.json()["error"]["param"] == "language"


TRANSLATING = AssistantOptions(model="chat-fake", translate_languages=("en",))


async def test_an_english_question_is_searched_with_its_french_translation(
    tmp_path: Path, upstream: FakeUpstream, retriever: FakeRetriever
) -> None:
    async with assistant_gateway(tmp_path, upstream, retriever, TRANSLATING) as gw:
        key = gw.provision()
        english = "My son lost his identity card abroad, what should we do? Write to jean.dupont@example.lu"
        upstream.reply = "Mon fils a perdu sa carte d'identité à l'étranger, que faire ?"
        body = (await gw.chat(key.key, message=english, language="en")).json()
        chats = [r.json for r in upstream.requests if r.path == "/v1/chat/completions"]
        assert len(chats) == 2  # the translation, then the answer
        asked = chats[0]["messages"]
        assert asked[0] == {"role": "system", "content": translation.SYSTEM_PROMPT}
        assert asked[-1]["content"].startswith("My son lost his identity card abroad")
        assert "jean.dupont@example.lu" not in str(chats)  # the translation goes through the privacy layer
        [(_, request)] = retriever.searches
        assert request.query.startswith("My son lost his identity card abroad")
        assert request.query.endswith("Mon fils a perdu sa carte d'identité à l'étranger, que faire ?")
        assert request.language == "en"
        answer_turn = chats[1]["messages"][-1]["content"]  # found through the French words, source 1
        assert answer_turn.startswith("<<<SOURCE 1>>>\nCarte d'identité perdue à l'étranger")
        assert f"Question (answer in english): {english[:20]}" in answer_turn
        assert body["language"] == "en"
        assert [e.action for e in gw.sink.events].count("chat.completion") == 2  # both model calls audited
        # French and German questions are never translated
        upstream.reply = "Déclarez la perte au consulat [1]."
        await gw.chat(key.key, message=QUESTION, language="fr")
        await gw.chat(key.key, message="Mein Sohn hat seine Carte d'identité verloren", language="de")
        assert upstream.count() == 4


async def test_no_question_is_translated_by_default(gw: AssistantGateway, retriever: FakeRetriever) -> None:
    key = gw.provision()
    gw.upstream.reply = "Déclarez la perte au consulat [1]."
    await gw.chat(key.key, message="Lost ID card abroad? carte d'identité perte", language="en")
    assert gw.upstream.count() == 1
    assert retriever.searches[-1][1].query == "Lost ID card abroad? carte d'identité perte"


async def test_requests_are_validated(gw: AssistantGateway) -> None:
    key = gw.provision()
    cases: list[tuple[dict[str, object], str]] = [
        ({"message": "   "}, "message"),
        ({"message": "\u0000\u200b\u2060"}, "message"),  # invisible characters only: nothing to answer
        ({"message": "x", "conversation_id": "a b"}, "conversation_id"),
        ({"message": "x", "surprise": 1}, "surprise"),
    ]
    for body, param in cases:
        r = await gw.chat(key.key, **body)
        assert r.status_code == 400, body
        assert r.json()["error"]["param"] == param
    r = await gw.client.post("/v1/assistant/chat", json={"message": QUESTION})
    assert r.status_code == 401
    assert gw.upstream.count() == 0  # no refused request reached the model
    headers = {"Authorization": f"Bearer {key.key}"}
    for question in ("   ", "\u0000\u200b"):
        r = await gw.client.post("/v1/assistant/handover", json={"question": question}, headers=headers)
        assert r.status_code == 400, question
        assert r.json()["error"]["param"] == "question"


async def test_a_conversation_cannot_be_joined_from_another_use_case(gw: AssistantGateway) -> None:
    one, two = gw.provision(), gw.provision(use_case="other-assistant")
    assert (await gw.chat(one.key, message=QUESTION, conversation_id="shared-id")).status_code == 200
    r = await gw.chat(two.key, message=QUESTION, conversation_id="shared-id")
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "conversation_id_taken"


async def test_retrieval_stays_within_the_tenant(gw: AssistantGateway) -> None:
    key = gw.provision()
    r = await gw.chat(key.key, message=QUESTION, collection="secret-notes")
    assert r.status_code == 404
    assert gw.upstream.count() == 0


async def test_the_model_call_goes_through_privacy_usage_and_audit(gw: AssistantGateway) -> None:
    key = gw.provision()
    email = "jean.dupont@example.lu"
    r = await gw.chat(key.key, message=f"{QUESTION} Écrivez-moi à {email}", conversation_id="c-privacy")
    assert r.status_code == 200
    sent = str(gw.last_prompt())
    assert email not in sent  # pseudonymised before the model saw it
    assert "<EMAIL" in sent
    assert gw.actions() == ["chat.completion", "assistant.chat"]
    model_call = gw.sink.events[0]
    assert (model_call.tenant, model_call.use_case, model_call.model) == (
        "ministry",
        "assistant",
        "chat-fake",
    )
    assert "EMAIL" in model_call.entity_types
    assert all(email not in repr(e) for e in gw.sink.events)
    [usage] = await gw.usage()
    assert (usage.endpoint, usage.model, usage.status) == ("chat.completion", "chat-fake", 200)


async def test_the_use_case_must_allow_the_assistant_model(gw: AssistantGateway) -> None:
    key = gw.provision(allowed_models=[])
    r = await gw.chat(key.key, message=QUESTION)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "model_not_allowed"


async def test_no_answer_without_its_event(gw: AssistantGateway) -> None:
    key = gw.provision()
    gw.sink.refuse.add("assistant.chat")
    r = await gw.chat(key.key, message=QUESTION)
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "event_store_unavailable"


async def test_expired_conversations_are_purged_as_requests_come(gw: AssistantGateway) -> None:
    key = gw.provision()
    past = datetime.now(UTC) - timedelta(days=40)
    with gw.services.database.sessions() as session:
        session.add(
            Conversation(
                tenant="ministry",
                use_case="assistant",
                conversation_id="c-old",
                language="fr",
                created_at=past,
                expires_at=past + timedelta(days=30),
            )
        )
        session.commit()
    assert (await gw.chat(key.key, message=QUESTION)).status_code == 200
    assert gw.assistant.conversations.export_conversation("ministry", "c-old") is None
    [purge] = [e for e in gw.sink.events if e.action == "assistant.purge"]
    assert purge.details == {"conversations": 1}
