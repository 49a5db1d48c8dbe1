"""A question asked from abroad is answered first from the sources in a section about being abroad."""

from __future__ import annotations

from souverain.assistant.situation import abroad_first, asks_from_abroad, in_section_abroad
from tests.fakes.retriever import passage

PAPERS = passage("c", "F31421", "J'ai perdu tous mes papiers", "Allez au commissariat.", "Pour un mineur")
TRAVEL = passage("c", "F1922", "Voyager à l'étranger avec un mineur", "Carte d'identité ou passeport.", "")
LOSS_ABROAD = passage("c", "F1153", "Carte d'identité perdue", "Adressez-vous au consulat.", "À l'étranger")
THEFT_ABROAD = passage("c", "F10774", "Vol de papiers", "Au consulat.", "Si le vol a eu lieu à l'étranger")


def test_a_question_is_from_abroad_in_any_language_or_when_it_names_a_foreign_country() -> None:
    for question in (
        "Mon fils a perdu sa carte d'identité à l'étranger, que faire ?",
        "Mein Sohn hat seinen Personalausweis im Ausland verloren",
        "Auslandsreise mit Kind: welche Papiere?",
        "My son lost his identity card abroad",
        "Mäi Jong huet säin Ausweis am Ausland verluer",
        "Perte de passeport pendant nos vacances en Espagne",
    ):
        assert asks_from_abroad(question), question
    for question in (
        "Combien coûte un passeport ?",
        "Wo ist die Ausländerbehörde?",  # foreigners, not abroad
        "Wie lange ist ein Reisepass in Frankreich gültig?",  # the pages' own country
    ):
        assert not asks_from_abroad(question), question


def test_passages_in_a_section_about_abroad_come_first_in_their_retrieved_order() -> None:
    assert in_section_abroad(THEFT_ABROAD)
    assert not in_section_abroad(TRAVEL)  # its title mentions abroad; its section does not
    sources = [PAPERS, TRAVEL, LOSS_ABROAD, THEFT_ABROAD]
    abroad = abroad_first("My son lost his identity card abroad", sources)
    assert [hit.document_id for hit in abroad] == ["F1153", "F10774", "F31421", "F1922"]
    assert abroad_first("Combien coûte un passeport ?", sources) == sources
    assert abroad_first("Reisepass in Frankreich verloren", sources) == sources
