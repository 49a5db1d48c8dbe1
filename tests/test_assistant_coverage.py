"""Names the sources never mention: found in the question and looked up in the sources (the assistant's use of
them, with a fake retriever and a fake model server, is in test_assistant_api.py)."""

from __future__ import annotations

import pytest

from souverain.assistant.coverage import missing_countries, missing_names, names, unmentioned
from souverain.assistant.places import FRANCE
from tests.fakes.retriever import passage

SOURCES = [
    passage(
        "c", "F1", "Allocations familiales", "Les allocations familiales sont versées par la Caf en France."
    ),
    passage(
        "c", "F2", "Recensement citoyen", "Tout jeune Français doit se faire recenser à 16 ans.", "Qui ?"
    ),
]


def test_proper_names_are_capitalised_words_inside_a_sentence() -> None:
    assert names("Quel est le montant des allocations familiales au Luxembourg ?") == ["Luxembourg"]
    assert names("Horaires de la mairie de Strasbourg ? Et à Metz.") == ["Strasbourg", "Metz"]
    assert names("Je pars d'Allemagne vers l'Île-de-France.") == ["Allemagne", "Île-de-France"]
    assert names("Ma demande de RSA est-elle acceptée par la CAF ?") == ["RSA", "CAF"]
    assert names("Combien coûte un passeport ? Quel délai ?") == []


def test_the_names_of_people_are_not_places_to_look_for() -> None:
    # a citizen who introduces or signs the question still asks about something the pages may cover
    signed = "Comment renouveler ma carte d'identité ? Je m'appelle Jean Muller, écrivez-moi."
    assert names(signed) == []
    assert unmentioned(signed, SOURCES, "fr") == []
    assert names("Madame Weber demande les allocations familiales au Luxembourg") == ["Luxembourg"]
    assert names("Bonjour, je suis Pierre Martin : quels horaires pour la mairie de Strasbourg ?") == [
        "Strasbourg"
    ]


LOSS = "Carte d'identité d'un mineur : en cas de perte"
ABROAD = passage("c", "F1153", LOSS, "Adressez-vous au consulat.", "À l'étranger")


def test_a_name_no_source_mentions_is_reported_and_others_are_not() -> None:
    assert unmentioned("Montant des allocations familiales au Luxembourg ?", SOURCES, "fr") == ["Luxembourg"]
    assert unmentioned("Horaires de la mairie de Strasbourg ?", SOURCES, "fr") == ["Strasbourg"]
    assert unmentioned("Les allocations familiales en France, versées par la CAF ?", SOURCES, "fr") == []
    # another form of the same word: the name matches on its first letters, at the start of a word
    census = "À quel âge les jeunes Françaises doivent-elles se faire recenser ?"
    assert unmentioned(census, SOURCES, "fr") == []
    talents = [passage("c", "F", "Aides", "Les talens.")]
    assert missing_names("Aides de la ville de Lens ?", talents) == ["Lens"]


def test_towns_are_looked_for_in_the_pages_language_only_and_countries_in_every_language() -> None:
    assert unmentioned("Wann hat das Rathaus in Straßburg geöffnet?", SOURCES, "de") == []
    assert unmentioned("Wie hoch ist das Kindergeld in Deutschland?", SOURCES, "de") == ["Deutschland"]
    assert unmentioned("Family allowances in the United Kingdom?", SOURCES, "en") == ["United Kingdom"]
    assert unmentioned("Wéi vill kascht e Pass zu Lëtzebuerg?", SOURCES, "lb") == ["Lëtzebuerg"]
    # a page naming the country under its French name covers the question
    germany = passage("c", "F2", "Travailler en Allemagne", "Les frontaliers en Allemagne ...")
    assert unmentioned("Wie hoch ist das Kindergeld in Deutschland?", [germany], "de") == []


def test_a_page_about_abroad_covers_every_country_and_home_is_never_missing() -> None:
    question = "Mon fils a perdu sa carte d'identité pendant nos vacances en Espagne, on fait quoi ?"
    assert missing_countries(question, SOURCES) == ["Espagne"]
    assert missing_countries(question, [*SOURCES, ABROAD]) == []
    assert unmentioned(question, [ABROAD], "fr") == []
    # "à l'étranger" in a page's text only (a stay abroad, foreigners) does not make it a page about abroad
    stay = passage("c", "F3", "Allocations", "Les séjours à l'étranger ne doivent pas dépasser 3 mois.")
    assert missing_countries("Kindergeld in Deutschland?", [stay]) == ["Deutschland"]
    assert missing_countries("Kindergeld in Frankreich?", [stay]) == []
    assert missing_countries("Kindergeld in Deutschland?", [stay], home=frozenset({"DE"})) == []


def test_home_countries_come_from_the_settings_as_iso_codes() -> None:
    from souverain.app import assistant_options
    from souverain.settings import AssistantSettings, Settings

    assert assistant_options(Settings()).home_countries == FRANCE
    assert unmentioned("Je vis à La Réunion : montant des allocations familiales ?", SOURCES, "fr") == []
    settings = Settings(assistant=AssistantSettings(home_countries=["LU", "FR"]))
    assert assistant_options(settings).home_countries == frozenset({"LU", "FR"})
    for wrong in (["Luxembourg"], ["lu"]):
        with pytest.raises(ValueError, match="home_countries"):
            AssistantSettings(home_countries=wrong)
