"""Names the sources never mention: found in the question, looked up in the sources, and refused before the
model is called (through the assistant, with a fake retriever and a fake model server)."""

from __future__ import annotations

from souverain.assistant.coverage import names, unmentioned
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


def test_a_name_no_source_mentions_is_reported_and_others_are_not() -> None:
    assert unmentioned("Montant des allocations familiales au Luxembourg ?", SOURCES) == ["Luxembourg"]
    assert unmentioned("Les allocations familiales en France, versées par la CAF ?", SOURCES) == []
    # another form of the same word: the name matches on its first letters
    assert unmentioned("À quel âge les jeunes Françaises doivent-elles se faire recenser ?", SOURCES) == []
